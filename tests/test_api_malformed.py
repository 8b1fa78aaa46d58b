"""POST /api/letters against what no form sends: JSON nested past the parser's depth and other
malformed bodies answer a clear 4xx, never a 500; and the honeypot, as on the form, catches
bots with an answer like success and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from helpers import stored, submission

DEEP = 30_000  # levels: far past Python's recursion limit, well inside the 64 KiB body limit


@pytest.mark.parametrize("body", [
    pytest.param(b"[" * DEEP + b"]" * DEEP, id="deep-array"),
    pytest.param(b'{"a":' * (DEEP // 5) + b"1" + b"}" * (DEEP // 5), id="deep-object"),
    pytest.param(b'{"body": "un", "supporter": ' + b"[" * DEEP + b"]" * DEEP + b"}",
                 id="deep-in-a-field"),
    pytest.param(b"[" * DEEP, id="deep-and-unclosed"),
    pytest.param(b'{"consent": 1' + b"0" * 5000 + b"}", id="integer-too-long"),
    pytest.param(b'{"body": "un"} trailing', id="trailing-text"),
    pytest.param(b'{"body": "\xff"}', id="invalid-utf8-in-a-string"),
])
def test_malformed_json_is_a_400_not_a_500(app: Any, client: Any, body: bytes) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 as gunicorn would answer it
    reply = client.post("/api/letters", data=body, content_type="application/json")
    assert reply.status_code == 400, reply.data[:300]
    assert "JSON" in reply.json["errors"]["_"]
    assert stored() == (0, 0, 0)
    schemathesis.openapi.from_wsgi("/api/openapi.json", app)["/api/letters"]["POST"] \
        .validate_response(reply)


@pytest.mark.parametrize("value", ["http://spam.example", "x"])
def test_the_api_honeypot_answers_like_success_and_stores_nothing(
    app: Any, client: Any, value: str
) -> None:
    reply = client.post("/api/letters", json={**submission(), "website": value})
    assert reply.status_code == 202, reply.json
    assert reply.json["officials"] == [] and reply.json["next"].startswith("Check your inbox")
    assert stored() == (0, 0, 0)
    schemathesis.openapi.from_wsgi("/api/openapi.json", app)["/api/letters"]["POST"] \
        .validate_response(reply)


def test_an_empty_honeypot_is_a_person(client: Any) -> None:
    """Partners' forms send the hidden field as it is: empty, from a person."""
    reply = client.post("/api/letters", json={**submission(), "website": ""})
    assert reply.status_code == 202 and len(reply.json["officials"]) == 2, reply.json
    assert stored()[0] == 1
