"""The JSON API against its own OpenAPI description (schemathesis): no 5xx, every answer as
described. The description is served at GET /api/openapi.json."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpers import submission, with_supporter

EXAMPLES = 30  # per operation, mode and database: the whole suite stays within minutes
# No 5xx, and every status, content type, header and body as described. Not schemathesis'
# "valid data is accepted": the description cannot say which two letters are a country or
# that a name must not be blank, so schema-valid data may rightly get a 422.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def test_the_api_answers_as_described(app: Any) -> None:
    # schemathesis' pytest plugin does not run on this pytest; its strategies do, under
    # hypothesis, calling the app in-process (WSGI) as the plugin would.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        # Wrong data needs something to put it in: a body or a parameter.
        takes_input = bool(len(operation.body) or list(operation.iter_parameters()))
        for mode in list(GenerationMode) if takes_input else [GenerationMode.POSITIVE]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                case.call_and_validate(checks=CHECKS)

            check()


def test_the_answers_generation_rarely_reaches_are_as_described(app: Any, client: Any) -> None:
    """429, 413, a repeat address answered like a new one, a 422 with contact pages."""


    letters = schemathesis.openapi.from_wsgi("/api/openapi.json", app)["/api/letters"]["POST"]

    def post(status: int, **kwargs: Any) -> Any:
        reply = client.post("/api/letters", **kwargs)
        assert reply.status_code == status, reply.json
        letters.validate_response(reply)
        return reply

    first = post(202, json=submission()).json
    assert post(202, json=submission()).json == first  # the same address again
    # Offices with contact pages only.
    contact = post(422, json=submission(body="gov", country="FR")).json["contact_only"]
    assert isinstance(contact, list) and contact, contact
    post(400, data=b"not json", content_type="application/json")
    post(413, data=b"[" + b"1," * 40_000 + b"1]", content_type="application/json")
    app.config["SUBMIT_RATE"] = "1/minute"
    address = {"REMOTE_ADDR": "203.0.113.50"}
    post(202, json=with_supporter(email="first@example.org"), environ_base=address)
    post(429, json=with_supporter(email="second@example.org"), environ_base=address)
