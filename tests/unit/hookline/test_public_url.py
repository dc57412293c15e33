"""The SSRF guard: which webhook URLs and addresses are refused, and why."""

from __future__ import annotations

import ipaddress

import pytest

from hookline.public_url import (
    ParsedTarget,
    ResolutionError,
    UnsafeTargetError,
    check_ip,
    check_url,
    is_literal_ip,
    parse_ip_literal,
    resolve_public,
)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://2130706433/", "loopback"),
        ("https://0x7f.1/", "loopback"),
        ("https://0177.0.0.1/", "loopback"),
        ("https://127.1/", "loopback"),
        ("https://0x7f000001/", "loopback"),
        ("https://127.0.0.1./", "loopback"),
        ("https://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[::127.0.0.1]/", "loopback"),
        ("https://[64:ff9b::7f00:1]/", "loopback"),
        ("https://[2002:7f00:1::1]/", "loopback"),
        ("https://localhost/", "loopback"),
        ("https://api.localhost/", "loopback"),
        ("https://169.254.169.254/", "link_local"),
        ("https://[fe80::1%25eth0]/", "link_local"),
        ("https://100.64.0.1/", "cgnat"),
        ("https://10.0.0.1", "private"),
        ("https://172.16.5.4/", "private"),
        ("https://192.168.1.1:8443/x", "private"),
        ("https://[fc00::1]/", "private"),
        ("https://[fd12:3456::1]/", "private"),
        ("https://[fec0::1]/", "private"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://0/", "unspecified"),
        ("https://0.1.2.3/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://255.255.255.255/", "reserved"),
        ("https://240.0.0.1/", "reserved"),
        ("https://198.18.0.1/", "reserved"),
        ("https://192.0.2.1/", "reserved"),
        ("https://203.0.113.9/", "reserved"),
        ("https://[2001:db8::1]/", "reserved"),
        ("https://[::8.8.8.8]/", "reserved"),
        ("https://[::ffff:8.8.8.8]/", "ipv4_mapped"),
        ("http://example.com", "scheme"),
        ("ftp://example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("https://user:pass@example.com/", "userinfo"),
        ("https://example.com@127.0.0.1/", "userinfo"),
        ("https://" + "a" * 2048 + ".com/", "too_long"),
        ("https:///path", "invalid"),
        ("https://exa mple.com/", "invalid"),
        ("https://example.com\\@127.0.0.1/", "invalid"),
        ("https://%31%32%37.0.0.1/", "invalid"),
        ("https://08.0.0.1/", "invalid"),
        ("https://1.2.3.4.5/", "invalid"),
        ("https://256.0.0.1/", "invalid"),
        ("https://example.com:0/", "invalid"),
        ("https://example.com:65536/", "invalid"),
        ("https://example.com:https/", "invalid"),
        ("https://a..b/", "invalid"),
        ("https://-bad.com/", "invalid"),
    ],
)
def test_an_unsafe_or_malformed_url_is_refused_with_its_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTargetError) as refused:
        check_url(url)
    assert refused.value.reason == reason


def test_a_public_https_url_is_split_into_its_target() -> None:
    assert check_url("https://Example.COM/hook?a=1&b=2#fragment") == ParsedTarget(
        scheme="https", host="example.com", port=443, path_and_query="/hook?a=1&b=2", ip=None
    )


def test_a_public_literal_address_is_accepted_and_recorded() -> None:
    target = check_url("https://93.184.216.34/x")
    assert target.ip == "93.184.216.34"
    assert target.host == "93.184.216.34"
    assert target.path_and_query == "/x"


def test_a_public_ipv6_literal_is_accepted() -> None:
    target = check_url("https://[2606:4700:4700::1111]:8443/")
    assert target.ip == "2606:4700:4700::1111"
    assert target.netloc == "[2606:4700:4700::1111]:8443"


def test_a_nat64_address_of_a_public_ipv4_is_accepted() -> None:
    assert check_url("https://[64:ff9b::808:808]/").ip == "64:ff9b::808:808"


def test_a_url_without_a_path_targets_the_root() -> None:
    target = check_url("https://example.com")
    assert target.path_and_query == "/"
    assert target.url == "https://example.com/"


def test_an_international_domain_name_is_normalised_to_ascii() -> None:
    assert check_url("https://bücher.example/").host == "xn--bcher-kva.example"


def test_a_url_of_exactly_2048_characters_is_accepted() -> None:
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert len(url) == 2048
    check_url(url)


def test_allowing_private_targets_accepts_loopback_over_plain_http() -> None:
    target = check_url("http://127.0.0.1:9000/hook", allow_private=True)
    assert (target.scheme, target.host, target.port, target.ip) == ("http", "127.0.0.1", 9000, "127.0.0.1")
    assert target.netloc == "127.0.0.1:9000"
    assert check_url("http://localhost/", allow_private=True).port == 80


def test_allowing_private_targets_still_refuses_malformed_urls() -> None:
    with pytest.raises(UnsafeTargetError) as refused:
        check_url("https://user@localhost/", allow_private=True)
    assert refused.value.reason == "userinfo"


def test_allowing_private_targets_allows_every_address() -> None:
    for text in ("127.0.0.1", "10.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254"):
        check_ip(ipaddress.ip_address(text), allow_private=True)


def test_the_refusal_is_a_value_error_so_validation_layers_catch_it() -> None:
    with pytest.raises(ValueError, match="not a public address"):
        check_url("https://10.0.0.1/")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("10.1.65535", "10.1.255.255"),
        ("93.184.216.34", "93.184.216.34"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_odd_ip_spellings_are_read_as_the_address_they_mean(host: str, address: str) -> None:
    assert parse_ip_literal(host) == ipaddress.ip_address(address)
    assert is_literal_ip(host)


@pytest.mark.parametrize("host", ["example.com", "0x7f.example", "1.2.3.4.5", "08.0.0.1", "[1.2.3.4]", "[nope]", ""])
def test_names_and_malformed_numbers_are_not_ip_literals(host: str) -> None:
    assert parse_ip_literal(host) is None
    assert not is_literal_ip(host)


async def test_localhost_resolves_to_a_refused_loopback_address() -> None:
    with pytest.raises(UnsafeTargetError) as refused:
        await resolve_public("localhost", 443)
    assert refused.value.reason == "loopback"


async def test_localhost_resolves_when_private_targets_are_allowed() -> None:
    addresses = await resolve_public("localhost", 443, allow_private=True)
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)


async def test_a_literal_address_is_checked_without_resolving() -> None:
    assert await resolve_public("93.184.216.34", 443) == ["93.184.216.34"]
    with pytest.raises(UnsafeTargetError):
        await resolve_public("0x7f.1", 443)


async def test_a_name_that_does_not_resolve_raises_a_resolution_error() -> None:
    with pytest.raises(ResolutionError) as failed:
        await resolve_public("no-such-host.invalid", 443)
    assert failed.value.reason == "dns"
    assert not isinstance(failed.value, UnsafeTargetError)
