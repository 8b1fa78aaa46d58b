"""The server bench/intake.py measures: `advocacy:create_app()` as gunicorn serves it, plus two
endpoints that exist only here, never in the product.

- GET /bench/hello: the hello world the intake goal is set against, answered by the same app,
  through the same middleware (guards, security headers, CORS, the slow-client timeout).
- POST /bench/checked: everything POST /api/letters does before it touches the database or the
  queue: the same per-IP limit counted in Redis (with its headers), the JSON read and checked
  field by field, the address hashed and the four personal fields encrypted, a 202 in JSON.
  No way of storing the submission can make POST /api/letters faster than this, so its rate
  is the ceiling of the intake ratio.

    gunicorn 'bench.intake_app:create()'   (from the repository's root)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from advocacy import create_app
from advocacy.crypto import lookup_hash, seal
from advocacy.extensions import csrf, request_limiter, submit_rate
from advocacy.intake.validation import check_submission


def hello() -> str:
    return "Hello, world!"


def checked() -> tuple[dict[str, Any], int]:
    data = request.get_json(silent=True)
    submission, errors = check_submission(data)
    if submission is None:
        return {"errors": errors}, 422
    lookup_hash(submission.email)
    sealed = [seal(text) for text in (submission.name, submission.email, submission.city,
                                      submission.personal_note)]
    return {"letters": [], "sealed": len(sealed)}, 202


def create() -> Flask:
    app = create_app()
    app.add_url_rule("/bench/hello", "bench_hello", hello)
    limited = request_limiter.shared_limit(submit_rate, scope="submissions")(checked)
    app.add_url_rule("/bench/checked", "bench_checked", csrf.exempt(limited), methods=["POST"])
    return app
