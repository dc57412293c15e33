"""The public-URL check that keeps webhook deliveries away from internal networks (SSRF guard)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH: Final = 2048
DEFAULT_PORTS: Final[dict[str, int]] = {"https": 443, "http": 80}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Ordered: the first matching network names the reason. Anything left over that Python does not call global is
# refused as "reserved" by the catch-all in check_ip, so these lists only need to be complete for good reasons.
_IPV4_BLOCKED: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("169.254.0.0/16"), "link_local"),
    (_V4("100.64.0.0/10"), "cgnat"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments
    (_V4("192.0.2.0/24"), "reserved"),  # TEST-NET-1
    (_V4("198.51.100.0/24"), "reserved"),  # TEST-NET-2
    (_V4("203.0.113.0/24"), "reserved"),  # TEST-NET-3
    (_V4("198.18.0.0/15"), "reserved"),  # benchmarking
    (_V4("192.88.99.0/24"), "reserved"),  # deprecated 6to4 relay anycast
    (_V4("240.0.0.0/4"), "reserved"),  # includes 255.255.255.255
)

_IPV6_BLOCKED: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("fe80::/10"), "link_local"),
    (_V6("fec0::/10"), "private"),  # deprecated site-local
    (_V6("fc00::/7"), "private"),  # unique local
    (_V6("ff00::/8"), "multicast"),
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001:db8::/32"), "reserved"),  # documentation
    (_V6("3fff::/20"), "reserved"),  # documentation (RFC 9637)
    (_V6("2001:2::/48"), "reserved"),  # benchmarking
    (_V6("64:ff9b:1::/48"), "reserved"),  # local-use NAT64
)

_IPV4_COMPATIBLE: Final = _V6("::/96")
_IPV4_TRANSLATED: Final = _V6("::ffff:0:0:0/96")
_NAT64: Final = _V6("64:ff9b::/96")
_GLOBAL_UNICAST: Final = _V6("2000::/3")

_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_PART = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UnsafeTargetError(ValueError):
    """A webhook URL or address that Hookline will not deliver to; `reason` is a short machine-readable code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ResolutionError(Exception):
    """A host name that does not resolve (yet): not unsafe, but nothing to connect to either."""

    reason: Final = "dns"


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    """A syntactically safe webhook URL, split into what the dispatcher needs to connect and send."""

    scheme: str
    host: str
    port: int
    path_and_query: str
    ip: str | None

    @property
    def netloc(self) -> str:
        """The `Host` header value: brackets around an IPv6 host, the port only when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path_and_query}"


def check_url(url: str, *, allow_private: bool = False) -> ParsedTarget:
    """Validate a webhook URL's syntax and any literal address in it; raise `UnsafeTargetError` if it is refused.

    Host names are not resolved here (see `resolve_public`), except that `localhost` and `*.localhost` are refused
    outright because they always mean loopback. Literal IPv4 hosts are read the lenient way browsers and
    `inet_aton` read them (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`), so no spelling slips past the check.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTargetError(f"the URL is longer than {MAX_URL_LENGTH} characters", reason="too_long")
    # Whitespace, control characters and backslashes are parsed differently by different URL parsers.
    if _FORBIDDEN_URL_CHARS.search(url):
        raise UnsafeTargetError("the URL contains whitespace, control characters or a backslash", reason="invalid")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeTargetError("the URL cannot be parsed", reason="invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeTargetError("the URL must use https://", reason="scheme")
    if scheme == "http" and not allow_private:
        raise UnsafeTargetError("the URL must use https://", reason="scheme")
    if "@" in parts.netloc:
        raise UnsafeTargetError("the URL must not carry a user name or password", reason="userinfo")
    raw_host, port = _split_netloc(parts.netloc, default_port=DEFAULT_PORTS[scheme])
    host, ip = _normalise_host(raw_host)
    if ip is not None:
        check_ip(ip, allow_private=allow_private)
    elif not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeTargetError("localhost is a loopback name", reason="loopback")
    path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ParsedTarget(
        scheme=scheme,
        host=host,
        port=port,
        path_and_query=path_and_query,
        ip=None if ip is None else str(ip),
    )


def check_ip(ip: IPAddress, *, allow_private: bool = False) -> None:
    """Raise `UnsafeTargetError` unless `ip` is a public unicast address (anything goes with `allow_private`)."""
    if allow_private:
        return
    if isinstance(ip, ipaddress.IPv4Address):
        _check_ipv4(ip)
    else:
        _check_ipv6(ip)


async def resolve_public(host: str, port: int, *, allow_private: bool = False) -> list[str]:
    """Resolve `host` and check every address; return them, de-duplicated, for the caller to connect to.

    Every address must pass, not just one: the caller may connect to any of them, and a name that mixes public and
    private answers is exactly what a rebinding attack looks like. Raises `UnsafeTargetError` if one is refused and
    `ResolutionError` if the name does not resolve. Callers bound the time with `asyncio.timeout`.
    """
    literal = parse_ip_literal(host)
    if literal is not None:
        check_ip(literal, allow_private=allow_private)
        return [str(literal)]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as error:
        raise ResolutionError(f"cannot resolve {host!r}: {error}") from None
    addresses: list[str] = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]))
        check_ip(address, allow_private=allow_private)
        text = str(address)
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise ResolutionError(f"{host!r} has no IPv4 or IPv6 address")
    return addresses


def is_literal_ip(host: str) -> bool:
    """Whether `host` is an IP address in any spelling `parse_ip_literal` understands."""
    return parse_ip_literal(host) is not None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address `host` spells, or None for a name: IPv6 with or without brackets, IPv4 in inet_aton forms."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return _parse_lenient_ipv4(host)


def _check_ipv4(ip: ipaddress.IPv4Address) -> None:
    for network, reason in _IPV4_BLOCKED:
        if ip in network:
            raise UnsafeTargetError(f"{ip} is not a public address ({reason})", reason=reason)
    if not ip.is_global:
        raise UnsafeTargetError(f"{ip} is not a public address", reason="reserved")


def _check_ipv6(ip: ipaddress.IPv6Address) -> None:
    # A zone id only makes sense on a link-local address; drop it so network membership tests see the address.
    ip = ipaddress.IPv6Address(ip.packed)
    if ip.ipv4_mapped is not None:
        # The embedded address names the real danger; a mapped public one is still refused, because how a
        # dual-stack socket treats it varies by platform and a public target never needs the mapped form.
        _check_ipv4(ip.ipv4_mapped)
        raise UnsafeTargetError(f"{ip} is an IPv4-mapped IPv6 address", reason="ipv4_mapped")
    for network, reason in _IPV6_BLOCKED:
        if ip in network:
            raise UnsafeTargetError(f"{ip} is not a public address ({reason})", reason=reason)
    if ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        _check_ipv4(_embedded_ipv4(ip))
        raise UnsafeTargetError(f"{ip} embeds an IPv4 address in a deprecated form", reason="reserved")
    if ip in _NAT64:
        # A NAT64 gateway reaches the embedded IPv4 address, so that is the one that must be public.
        _check_ipv4(_embedded_ipv4(ip))
        return
    if ip.sixtofour is not None:
        _check_ipv4(ip.sixtofour)
    if ip.teredo is not None:
        server, client = ip.teredo
        _check_ipv4(server)
        _check_ipv4(client)
    if ip not in _GLOBAL_UNICAST or not ip.is_global:
        raise UnsafeTargetError(f"{ip} is not a public address", reason="reserved")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(ip.packed[-4:])


def _split_netloc(netloc: str, *, default_port: int) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            raise UnsafeTargetError("unterminated IPv6 address in the URL", reason="invalid")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise UnsafeTargetError("unexpected characters after the IPv6 address", reason="invalid")
        port_text = rest[1:]
    else:
        host, _, port_text = netloc.partition(":")
    if not host or host == "[]":
        raise UnsafeTargetError("the URL has no host", reason="invalid")
    if not port_text:
        return host, default_port
    if not (port_text.isascii() and port_text.isdecimal()) or not 0 < int(port_text) < 65536:
        raise UnsafeTargetError("the URL's port is not a number from 1 to 65535", reason="invalid")
    return host, int(port_text)


def _normalise_host(raw_host: str) -> tuple[str, IPAddress | None]:
    if raw_host.startswith("["):
        literal = parse_ip_literal(raw_host)
        if literal is None:
            raise UnsafeTargetError("the bracketed host is not an IPv6 address", reason="invalid")
        # The zone id is kept out of the host: it is meaningless to the receiver and never public anyway.
        return str(ipaddress.IPv6Address(literal.packed)), literal
    if "%" in raw_host:
        # Percent-encoded hosts are decoded by some clients and not others; refuse rather than guess.
        raise UnsafeTargetError("the host must not be percent-encoded", reason="invalid")
    try:
        # IDNA first: it folds look-alikes such as full-width digits and dots into ASCII, which may spell an IP.
        host = raw_host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise UnsafeTargetError("the host is not a valid domain name", reason="invalid") from None
    literal = _parse_lenient_ipv4(host)
    if literal is not None:
        return str(literal), literal
    labels = host.split(".")
    if _NUMERIC_PART.match(labels[-1]):
        # A host ending in a number is an IPv4 address to browsers, so a malformed one is invalid, not a name.
        raise UnsafeTargetError("the host is a malformed IPv4 address", reason="invalid")
    if not host or not all(_HOST_LABEL.match(label) for label in labels):
        raise UnsafeTargetError("the host is not a valid domain name", reason="invalid")
    return host, None


def _parse_lenient_ipv4(host: str) -> ipaddress.IPv4Address | None:
    # The WHATWG URL / inet_aton reading: 1-4 dot-separated parts in decimal, octal (leading 0) or hex (0x); the
    # last part fills all the remaining bytes.
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _parse_ipv4_number(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_number(part: str) -> int | None:
    if not part or not _NUMERIC_PART.match(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:], 16) if len(part) > 2 else 0
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8) if all(c in "01234567" for c in part[1:]) else None
    return int(part)
