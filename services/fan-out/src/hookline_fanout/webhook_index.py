"""The in-memory index of webhooks per organization, fed by `hookline.endpoints`.

Lookups cost O(dots in the type) whatever the number of webhooks: exact types are a dict per organization,
`prefix.*` patterns a dict keyed by the prefix (each prefix of the event type is tried), `*` a plain list.
Only webhooks that receive (active and enabled) are indexed; the highest `version` seen per webhook wins.
"""

from __future__ import annotations

from collections import defaultdict

from hookline.matching import webhook_matches
from hookline.messages import EventEnvelope, WebhookConfig

WILDCARD = "*"


class _OrgIndex:
    __slots__ = ("exact", "prefixes", "wildcard")

    def __init__(self) -> None:
        self.exact: defaultdict[str, dict[str, WebhookConfig]] = defaultdict(dict)
        self.prefixes: defaultdict[str, dict[str, WebhookConfig]] = defaultdict(dict)
        self.wildcard: dict[str, WebhookConfig] = {}

    def buckets(self, pattern: str) -> tuple[defaultdict[str, dict[str, WebhookConfig]] | None, str]:
        if pattern == WILDCARD:
            return None, ""
        if pattern.endswith(".*"):
            return self.prefixes, pattern[:-1]  # "member.*" is stored under "member."
        return self.exact, pattern

    def add(self, config: WebhookConfig) -> None:
        for pattern in config.events:
            table, key = self.buckets(pattern)
            if table is None:
                self.wildcard[config.id] = config
            else:
                table[key][config.id] = config

    def remove(self, config: WebhookConfig) -> None:
        for pattern in config.events:
            table, key = self.buckets(pattern)
            if table is None:
                self.wildcard.pop(config.id, None)
                continue
            bucket = table.get(key)
            if bucket is not None:
                bucket.pop(config.id, None)
                if not bucket:
                    del table[key]

    def empty(self) -> bool:
        return not (self.exact or self.prefixes or self.wildcard)


class WebhookIndex:
    def __init__(self) -> None:
        self._orgs: dict[str, _OrgIndex] = {}
        # Every webhook seen, receiving or not, so that an older copy never replaces a newer one.
        self._configs: dict[str, WebhookConfig] = {}

    def __len__(self) -> int:
        return sum(1 for c in self._configs.values() if c.receives)

    def get(self, webhook_id: str) -> WebhookConfig | None:
        return self._configs.get(webhook_id)

    def apply(self, webhook_id: str, config: WebhookConfig | None) -> bool:
        """Applies one message of `hookline.endpoints` (None = tombstone); False when it was stale."""
        current = self._configs.get(webhook_id)
        if config is not None and current is not None and config.version < current.version:
            return False
        if current is not None:
            self._unindex(current)
        if config is None:
            self._configs.pop(webhook_id, None)
            return True
        self._configs[webhook_id] = config
        if config.receives:
            self._orgs.setdefault(config.organization_id, _OrgIndex()).add(config)
        return True

    def _unindex(self, config: WebhookConfig) -> None:
        org = self._orgs.get(config.organization_id)
        if org is None:
            return
        org.remove(config)
        if org.empty():
            del self._orgs[config.organization_id]

    def matching(self, event: EventEnvelope) -> list[WebhookConfig]:
        """The webhooks the event goes to, each once, ordered by webhook id."""
        org = self._orgs.get(event.organization_id)
        if org is None:
            return []
        found: dict[str, WebhookConfig] = dict(org.wildcard)
        exact = org.exact.get(event.type)
        if exact:
            found.update(exact)
        if org.prefixes:
            # "a.b.c" may match "a.*" and "a.b.*" (stored as "a." and "a.b.").
            end = event.type.find(".")
            while end != -1:
                bucket = org.prefixes.get(event.type[: end + 1])
                if bucket:
                    found.update(bucket)
                end = event.type.find(".", end + 1)
        return [found[k] for k in sorted(found) if webhook_matches(found[k], event)]
