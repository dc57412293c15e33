"""A webhook's live signing secrets, opened from their sealed form: newest first, expired ones left out."""

from __future__ import annotations

from datetime import datetime

from hookline.messages import WebhookConfig
from hookline.secret_box import SecretBox, SecretBoxError


class SigningKeyError(Exception):
    """The webhook has no usable signing secret (none live, or none that opens with our master keys)."""


class SigningKeys:
    """Opens each webhook's secrets once per config version; `live()` filters by expiry at each use."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._opened: dict[str, tuple[int, list[tuple[str, datetime | None]]]] = {}

    def live(self, config: WebhookConfig, now: datetime) -> list[str]:
        cached = self._opened.get(config.id)
        if cached is None or cached[0] != config.version:
            try:
                opened = [(self._box.open(k.sealed, context=config.id), k.expires_at) for k in config.signing_keys]
            except SecretBoxError:
                raise SigningKeyError("a signing secret cannot be opened with the master key") from None
            cached = (config.version, opened)
            self._opened[config.id] = cached
        keys = [secret for secret, expires in cached[1] if expires is None or expires > now]
        if not keys:
            raise SigningKeyError("the webhook has no live signing secret")
        return keys
