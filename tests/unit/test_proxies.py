"""Behind a proxy every visitor arrives from the proxy's address: the address we count per visitor is the one a
configured proxy forwarded, and forwarded headers from anyone else are ignored (they would reset the limits)."""
import pytest

from bot.proxies import client_address, via_proxy
from bot.settings import Settings, SettingsError
from tests.unit.sanic_request import sanic_request

PROXY = "127.0.0.1"  # nginx on the same host


def address(settings: Settings, peer: str = PROXY, **headers) -> str:
    return client_address(sanic_request("/socket.io/", peer=peer, headers=headers), settings)


def test_without_a_configured_proxy_forwarded_headers_are_ignored():
    plain = Settings()
    assert address(plain, peer="198.51.100.4", **{"X-Forwarded-For": "203.0.113.1"}) == "198.51.100.4"
    assert address(plain, **{"X-Real-IP": "203.0.113.1", "Forwarded": "for=203.0.113.1;secret=x"}) == PROXY
    assert client_address(None, plain) == "unknown"


def test_behind_nginx_each_visitor_has_their_own_address():
    behind = Settings(proxies_count=1)
    assert address(behind, **{"X-Forwarded-For": "203.0.113.1"}) == "203.0.113.1"
    assert address(behind, **{"X-Forwarded-For": "203.0.113.2"}) == "203.0.113.2"
    # a visitor's own X-Forwarded-For comes first; nginx appends the address it saw, the one we take
    assert address(behind, **{"X-Forwarded-For": "10.0.0.1, 203.0.113.2"}) == "203.0.113.2"
    assert address(behind) == PROXY  # straight to the bot, no header: the peer
    assert address(Settings(proxies_count=2), **{"X-Forwarded-For": "6.6.6.6, 203.0.113.3, 10.1.1.1"}) == "203.0.113.3"


def test_a_real_ip_header_or_a_forwarded_secret_names_the_visitor():
    assert address(Settings(real_ip_header="X-Real-IP"), **{"X-Real-IP": "203.0.113.5"}) == "203.0.113.5"
    secret = Settings(forwarded_secret="proxy-secret")
    assert address(secret, **{"Forwarded": 'for="[2001:db8::7]";secret=proxy-secret'}) == "2001:db8::/64"
    assert address(secret, **{"Forwarded": "for=203.0.113.6;secret=guessed"}) == PROXY  # not our proxy's
    assert address(Settings(proxies_count=1), **{"X-Forwarded-For": "not an address\r\nX: y"}) == PROXY


def test_any_sign_of_a_proxy_is_noticed():
    plain = Settings()
    assert not via_proxy(sanic_request("/"), plain)
    assert via_proxy(sanic_request("/", peer="192.0.2.1"), plain)
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert via_proxy(sanic_request("/", headers={header: "203.0.113.1"}), plain)
    assert via_proxy(sanic_request("/", headers={"CF-Connecting-IP": "203.0.113.1"}), Settings(real_ip_header="CF-Connecting-IP"))


def test_proxy_settings_are_read_and_checked():
    s = Settings.from_env({"PROXIES_COUNT": "1", "REAL_IP_HEADER": "X-Real-IP", "FORWARDED_SECRET": "0123"})
    assert (s.proxies_count, s.real_ip_header, s.forwarded_secret) == (1, "X-Real-IP", "0123")
    assert Settings.from_env(s.to_env()) .proxies_count == 1
    with pytest.raises(SettingsError, match="PROXIES_COUNT"):
        Settings.from_env({"PROXIES_COUNT": "-1"})


def test_an_ipv6_visitor_is_counted_by_their_network_not_each_address_they_pick_from_it():
    behind = Settings(proxies_count=1)
    one = address(behind, **{"X-Forwarded-For": "2001:db8:1:2::17"})
    assert one == address(behind, **{"X-Forwarded-For": "2001:db8:1:2:ffff:1:2:3"}) == "2001:db8:1:2::/64"
    assert address(behind, **{"X-Forwarded-For": "2001:db8:1:3::17"}) != one
    assert address(behind, **{"X-Forwarded-For": "::ffff:203.0.113.8"}) == "203.0.113.8"
