"""Behind a reverse proxy (ADVOCACY_PROXIES=1): the per-IP limit and /metrics' loopback rule
see the client that X-Forwarded-For names; without it, that header changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from advocacy import create_app
from advocacy.config import ConfigError, from_environment

from helpers import with_supporter

SAME_SETUP = ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "QUEUE_NAME", "SMTP_URL",
              "ADVOCACY_SENDER", "ADVOCACY_PUBLIC_URL", "STATS_CACHE_SECONDS")
PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # a proxy on the same machine


def behind_one_proxy(app: Any) -> Any:
    return create_app({**{k: app.config[k] for k in SAME_SETUP}, "PROXIES": 1,
                       "SUBMIT_RATE": "2/minute"})


def test_without_the_setting_forwarded_for_is_not_believed(client: Any) -> None:
    spoofed = {"X-Forwarded-For": "127.0.0.1"}
    assert client.get("/metrics", headers=spoofed,
                      environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"},
                      environ_base=PROXY).status_code == 200


def test_without_the_setting_the_limit_counts_the_connecting_address(app: Any,
                                                                     client: Any) -> None:
    app.config["SUBMIT_RATE"] = "2/minute"
    one_address = {"REMOTE_ADDR": "203.0.113.60"}
    for i, forwarded in enumerate(("198.51.100.11", "198.51.100.12")):
        reply = client.post("/api/letters", json=with_supporter(email=f"x{i}@example.org"),
                            headers={"X-Forwarded-For": forwarded}, environ_base=one_address)
        assert reply.status_code == 202
    refused = client.post("/api/letters", json=with_supporter(email="x9@example.org"),
                          headers={"X-Forwarded-For": "198.51.100.13"}, environ_base=one_address)
    assert refused.status_code == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_behind_a_proxy_each_client_is_itself(app: Any) -> None:
    client = behind_one_proxy(app).test_client()
    # /metrics through the proxy, for someone outside: not for them.
    outsider = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=outsider, environ_base=PROXY).status_code == 404
    assert client.get("/metrics", environ_base=PROXY).status_code == 200  # the machine itself
    # The limit counts each forwarded address apart, not the proxy's for everyone.
    for i in range(2):
        reply = client.post("/api/letters", json=with_supporter(email=f"a{i}@example.org"),
                            headers=outsider, environ_base=PROXY)
        assert reply.status_code == 202
    refused = client.post("/api/letters", json=with_supporter(email="a9@example.org"),
                          headers=outsider, environ_base=PROXY)
    assert refused.status_code == 429
    other = client.post("/api/letters", json=with_supporter(email="b@example.org"),
                        headers={"X-Forwarded-For": "198.51.100.4"}, environ_base=PROXY)
    assert other.status_code == 202


def letters_from(client: Any, addresses: list[str], proxied: bool = False) -> list[int]:
    """The status of one letter sent from each address, in turn."""
    codes = []
    for address in addresses:
        letter = with_supporter(email=f"{address.replace(':', '-')}@example.org")
        if proxied:
            reply = client.post("/api/letters", json=letter, environ_base=PROXY,
                                headers={"X-Forwarded-For": address})
        else:
            reply = client.post("/api/letters", json=letter, environ_base={"REMOTE_ADDR": address})
        codes.append(reply.status_code)
    return codes


def test_an_ipv6_client_is_its_whole_64(app: Any, client: Any) -> None:
    """A home or a server is given a /64: a fresh address from it is the same client."""
    app.config["SUBMIT_RATE"] = "2/minute"
    one_network = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff",
                   "2001:db8:1:2:abcd::9"]
    assert letters_from(client, one_network) == [202, 202, 429, 429]
    assert letters_from(client, ["2001:db8:1:3::1"]) == [202]  # the next /64: someone else
    # IPv4 stays per address, and an IPv4-mapped IPv6 address is that IPv4 address.
    assert letters_from(client, ["192.0.2.1", "::ffff:192.0.2.1", "192.0.2.2"]) == [202, 202, 202]
    assert letters_from(client, ["::ffff:192.0.2.1"]) == [429]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_ipv6_prefix_is_a_setting_and_holds_behind_a_proxy(app: Any) -> None:
    client = behind_one_proxy(app).test_client()
    assert letters_from(client, ["2001:db8::1", "2001:db8::2", "2001:db8::3"],
                        proxied=True) == [202, 202, 429]
    wider = create_app({**{k: app.config[k] for k in SAME_SETUP}, "SUBMIT_RATE": "2/minute",
                        "IPV6_PREFIX": 48}).test_client()
    assert letters_from(wider, ["2001:db8:5:1::1", "2001:db8:5:2::1", "2001:db8:5:3::1"]) \
        == [202, 202, 429]
    tmp = Path(app.instance_path)
    assert from_environment(tmp, {})["IPV6_PREFIX"] == 64
    assert from_environment(tmp, {"ADVOCACY_IPV6_PREFIX": "56"})["IPV6_PREFIX"] == 56
    for wrong in ("129", "0", "/64"):
        with pytest.raises(ConfigError, match="ADVOCACY_IPV6_PREFIX"):
            from_environment(tmp, {"ADVOCACY_IPV6_PREFIX": wrong})


def test_the_setting_is_a_count_of_hops(tmp_path: Path) -> None:
    assert from_environment(tmp_path, {})["PROXIES"] == 0
    assert from_environment(tmp_path, {"ADVOCACY_PROXIES": "2"})["PROXIES"] == 2
    with pytest.raises(ConfigError, match="ADVOCACY_PROXIES"):
        from_environment(tmp_path, {"ADVOCACY_PROXIES": "yes"})
