"""Sending one HTTP request to a webhook-owned URL: SSRF check at send time, pinned connect, bounded read."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from hookline.public_url import ResolutionError, UnsafeTargetError, check_url, resolve_public
from hookline_dispatcher.pinned_transport import POOL_KEY_EXTENSION, PinnedTransport, pinned

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "Hookline/0.1"


class SendError(Exception):
    """A request that got no HTTP response; `kind` is the attempt's error code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    headers: httpx.Headers
    body: bytes
    latency_ms: float


class Sender:
    """One pooled client for every delivery (and token request) of the process."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        allow_private_targets: bool,
        max_connections_per_pool: int = 32,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_private_targets = allow_private_targets
        transport = PinnedTransport(
            max_connections=max_connections_per_pool,
            allow_unpinned=allow_private_targets,
            ssl_context=ssl_context,
        )
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        read_limit: int = MAX_RESPONSE_BYTES,
        pool_key: str = "",
    ) -> HttpResponse:
        """POSTs within the total timeout; raises `SendError` when no response came back."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._post(url, content, headers, read_limit, pool_key, started)
        except TimeoutError:
            raise SendError("timeout", f"no response within {self.timeout_seconds:g}s") from None
        except UnsafeTargetError as exc:
            raise SendError("blocked_target", str(exc)) from None
        except ResolutionError as exc:
            raise SendError("dns", str(exc)) from None
        except httpx.TimeoutException:
            raise SendError("timeout", f"no response within {self.timeout_seconds:g}s") from None
        except httpx.HTTPError as exc:
            kind = "tls" if _is_tls_error(exc) else "dns" if _is_name_error(exc) else "connect"
            raise SendError(kind, _describe(exc)) from None

    async def _post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_limit: int,
        pool_key: str,
        started: float,
    ) -> HttpResponse:
        target = check_url(url, allow_private=self.allow_private_targets)
        addresses: list[str] | None = None
        if target.ip is not None:
            addresses = [target.ip]
        elif not self.allow_private_targets:
            addresses = await resolve_public(target.host, target.port)
        request = self.client.build_request(
            "POST", target.url, content=content, headers=dict(headers), extensions={POOL_KEY_EXTENSION: pool_key}
        )
        if addresses is None:
            return await self._exchange(request, read_limit, started)
        with pinned(target.host, target.port, addresses):
            return await self._exchange(request, read_limit, started)

    async def _exchange(self, request: httpx.Request, read_limit: int, started: float) -> HttpResponse:
        response = await self.client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) >= read_limit:
                    break
        finally:
            await response.aclose()
        latency = (time.perf_counter() - started) * 1000
        return HttpResponse(response.status_code, response.headers, bytes(body[:read_limit]), latency)


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        text = str(seen)
        if "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_name_error(exc: BaseException) -> bool:
    """A host name that did not resolve while connecting (only where private targets skip our own resolution)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
