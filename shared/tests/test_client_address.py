"""The caller's address: the socket peer, or the right-most untrusted X-Forwarded-For hop."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from pydantic import ValidationError

from shared_kit.deps import forwarded_client
from shared_kit.settings import ServiceSettings

INGRESS = [ip_network("10.244.0.0/16"), ip_network("2001:db8::/32")]
PROXY = "10.244.3.7"


class TestWithoutTrustedProxies:
    def test_the_socket_peer_counts_whatever_the_header_says(self) -> None:
        assert forwarded_client("203.0.113.9", ["198.51.100.1"], []) == "203.0.113.9"

    def test_an_untrusted_peer_cannot_name_another_address(self) -> None:
        assert forwarded_client("203.0.113.9", ["198.51.100.1"], INGRESS) == "203.0.113.9"


class TestBehindTrustedProxies:
    def test_the_address_the_proxy_appended_counts(self) -> None:
        # The client sent its own X-Forwarded-For; the ingress appended the real address.
        forwarded = ["1.2.3.4, 5.6.7.8", "198.51.100.1"]
        assert forwarded_client(PROXY, forwarded, INGRESS) == "198.51.100.1"

    def test_a_chain_of_trusted_proxies_is_walked(self) -> None:
        forwarded = ["1.2.3.4, 198.51.100.1, 10.244.9.9"]
        assert forwarded_client(PROXY, forwarded, INGRESS) == "198.51.100.1"

    @pytest.mark.parametrize(
        ("hop", "client"),
        [
            ("198.51.100.1:4321", "198.51.100.1"),
            ("[2001:db9::5]:443", "2001:db9::5"),
            (" 2001:db9::5 ", "2001:db9::5"),
        ],
    )
    def test_ports_and_ipv6_are_understood(self, hop: str, client: str) -> None:
        assert forwarded_client(PROXY, [hop], INGRESS) == client

    def test_without_a_header_the_proxy_is_the_caller(self) -> None:
        assert forwarded_client(PROXY, [], INGRESS) == PROXY

    def test_garbage_stops_the_walk_at_the_nearest_trusted_hop(self) -> None:
        forwarded = ["198.51.100.1, unknown, 10.244.9.9"]
        assert forwarded_client(PROXY, forwarded, INGRESS) == "10.244.9.9"


class TestSetting:
    def test_addresses_and_networks_separated_by_commas_or_spaces(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SERVICE_TRUSTED_PROXIES", "10.244.0.0/16, 192.0.2.1 2001:db8::/32")
        networks = ServiceSettings().trusted_proxies
        assert [str(n) for n in networks] == ["10.244.0.0/16", "192.0.2.1/32", "2001:db8::/32"]

    def test_none_by_default(self) -> None:
        assert ServiceSettings().trusted_proxies == []

    @pytest.mark.parametrize("value", ["*", "10.244.0.1/16", "ingress"])
    def test_anything_but_addresses_is_refused(self, value: str) -> None:
        with pytest.raises(ValidationError, match="trusted_proxies"):
            ServiceSettings(trusted_proxies=value)
