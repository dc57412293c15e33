"""How a stored webhook is shown to callers: never a secret, sealed or not."""

from __future__ import annotations

from msgspec import UNSET

from hookline.webhooks import Webhook
from hookline_api.webhook_schemas import OidcOut, WebhookOut


def webhook_out(webhook: Webhook) -> WebhookOut:
    oidc = webhook.oidc
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=webhook.events,
        description=webhook.description,
        session_id=webhook.session_id,
        include=webhook.include,
        custom_headers=webhook.custom_headers,
        retry_policy=webhook.retry_policy,
        signature_scheme=webhook.signature_scheme,
        oidc=None
        if oidc is None
        else OidcOut(
            auth_method=oidc.auth_method,
            client_id=oidc.client_id,
            token_endpoint=oidc.token_endpoint,
            scope=oidc.scope,
            resource_uri=oidc.resource_uri,
            access_token_ttl_seconds=oidc.access_token_ttl_seconds,
            client_secret_set=oidc.client_secret_sealed is not None,
        ),
        rate_limit_per_second=webhook.rate_limit_per_second,
        active=webhook.active,
        status=webhook.status,
        status_reason=webhook.status_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
        verification_key=webhook.verification_key
        if webhook.signature_scheme == "ed25519" and webhook.verification_key
        else UNSET,
    )
