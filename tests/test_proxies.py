"""Behind a reverse proxy (ADVOCACY_PROXIES=1): the per-IP limit and /metrics' loopback rule
see the client that X-Forwarded-For names; without it, that header changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_api import with_supporter

from advocacy import create_app
from advocacy.config import ConfigError, from_environment

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


def test_the_setting_is_a_count_of_hops(tmp_path: Path) -> None:
    assert from_environment(tmp_path, {})["PROXIES"] == 0
    assert from_environment(tmp_path, {"ADVOCACY_PROXIES": "2"})["PROXIES"] == 2
    with pytest.raises(ConfigError, match="ADVOCACY_PROXIES"):
        from_environment(tmp_path, {"ADVOCACY_PROXIES": "yes"})
