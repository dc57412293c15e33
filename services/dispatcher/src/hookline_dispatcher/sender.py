"""Sending one HTTP request to a webhook-owned URL: SSRF check at send time, pinned connect, bounded read."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

import httpx

from hookline.public_url import (
    ParsedTarget,
    ResolutionError,
    UnsafeTargetError,
    check_url,
    resolve_public,
)
from hookline_dispatcher.connection_pools import ConnectionPools
from hookline_dispatcher.http1_connection import ProtocolError

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "Hookline/0.1"
# Framing is ours to write: a caller's header never replaces these.
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_UNSAFE_HEADER_CHARS = ("\r", "\n", "\0")


class SendError(Exception):
    """A request that got no HTTP response; `kind` is the attempt's error code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    # Lowercase names.
    headers: Mapping[str, str]
    body: bytes
    latency_ms: float


class Sender:
    """Every delivery (and token request) of the process, over keep-alive connections pooled per webhook."""

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
        self.pools = ConnectionPools(
            max_connections=max_connections_per_pool,
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        )

    async def aclose(self) -> None:
        await self.pools.aclose()

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
        except ssl.SSLError as exc:
            raise SendError("tls", str(exc)[:300] or type(exc).__name__) from None
        except (OSError, ProtocolError) as exc:
            # A name that fails to resolve while connecting (where private targets skip our own resolution).
            kind = "tls" if _is_tls_error(exc) else "dns" if isinstance(exc, socket.gaierror) else "connect"
            raise SendError(kind, str(exc)[:300] or type(exc).__name__) from None

    async def _post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        read_limit: int,
        pool_key: str,
        started: float,
    ) -> HttpResponse:
        target = _checked(url, self.allow_private_targets)
        if target.ip is not None:
            addresses = [target.ip]
        elif not self.allow_private_targets:
            addresses = await resolve_public(target.host, target.port)
        else:
            addresses = [target.host]
        head = request_head(target, headers, len(content))
        response = await self.pools.request(
            (pool_key, target.scheme, target.host, target.port), addresses, head, content, read_limit
        )
        latency = (time.perf_counter() - started) * 1000
        return HttpResponse(response.status_code, response.headers, bytes(response.body[:read_limit]), latency)


@lru_cache(maxsize=4096)
def _checked(url: str, allow_private: bool) -> ParsedTarget:
    """The URL's syntax and literal-address check: the same answer every time for one URL, so remembered.

    Host names are resolved and checked again at every send (`resolve_public`), never remembered here.
    """
    return check_url(url, allow_private=allow_private)


def request_head(target: ParsedTarget, headers: Mapping[str, str], length: int) -> bytes:
    """The request line and headers of a POST; the caller's headers override ours, name for name."""
    lines = [
        f"POST {_path(target.path_and_query)} HTTP/1.1",
        f"Host: {target.netloc}",
        f"Content-Length: {length}",
    ]
    given = {name.lower() for name in headers}
    if "user-agent" not in given:
        lines.append(f"User-Agent: {USER_AGENT}")
    for name, value in headers.items():
        if name.lower() in _FRAMING_HEADERS:
            continue
        if any(c in name or c in value for c in _UNSAFE_HEADER_CHARS) or ":" in name:
            raise ProtocolError(f"header {name!r} cannot be sent")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise ProtocolError("a header holds characters HTTP/1.1 cannot carry") from None


@lru_cache(maxsize=4096)
def _path(path_and_query: str) -> str:
    # Non-ASCII characters travel percent-encoded, as every HTTP client sends them.
    return path_and_query if path_and_query.isascii() else quote(path_and_query, safe="!#$%&'()*+,/:;=?@[]~")


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
