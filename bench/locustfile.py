"""Supporters for bench/load.py, run by locust (headless, started by that script).

Each simulated user is one browser or one partner site:
- a browser (three in four) opens the campaign page (GET /), reads it a moment, and sends
  the form (POST /) with the CSRF token of that page and the session cookie it set;
- a partner's page posts JSON (POST /api/letters), as the embeddable widget's own form does.
Every submission uses a new address, so none is refused as already written.

Each locust process writes what it saw to $LOAD_RESULTS.<pid>.json when the run ends: the
answers by kind and status, the ids of the letters the API accepted, and the addresses the
form accepted (bench/load.py finds those in the database by their lookup hash).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from typing import Any

from locust import FastHttpUser, between, events, task

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SENT = "Check your inbox"  # the page after a letter is taken; a page with errors differs
seen: Counter[str] = Counter()
api_addresses: list[str] = []
form_addresses: list[str] = []


def supporter(kind: str) -> dict[str, str]:
    return {"name": "Load Reader", "email": f"load-{kind}-{uuid.uuid4().hex}@example.org",
            "city": "Lyon", "country": "FR"}


class Browser(FastHttpUser):
    weight = 3
    wait_time = between(0.5, 2.0)

    @task
    def write_from_the_page(self) -> None:
        with self.client.get("/", name="page", catch_response=True) as page:
            seen[f"page {page.status_code}"] += 1
            match = TOKEN.search(page.text or "") if page.status_code == 200 else None
            if match is None:
                page.failure(f"status {page.status_code}")
                return
        self.wait()  # reading the page
        who = supporter("form")
        form = {"csrf_token": match.group(1), "body": "gov", "country": "FI", "language": "en",
                "name": who["name"], "email": who["email"], "city": who["city"],
                "supporter_country": who["country"], "consent": "yes", "action": "send",
                "personal_note": "I follow this case and ask you to act."}
        with self.client.post("/", data=form, name="form", catch_response=True) as sent:
            seen[f"form {sent.status_code}"] += 1
            if sent.status_code == 200 and SENT in (sent.text or ""):
                form_addresses.append(who["email"])
            else:
                sent.failure(f"status {sent.status_code}")


class PartnerSite(FastHttpUser):
    weight = 1
    wait_time = between(0.5, 2.0)

    @task
    def post_json(self) -> None:
        letter = {"body": "gov", "country": "FI", "language": "en", "consent": True,
                  "supporter": supporter("api"),
                  "personal_note": "Please act for him.", "ref": "load-bench"}
        with self.client.post("/api/letters", json=letter, name="api",
                              catch_response=True) as reply:
            seen[f"api {reply.status_code}"] += 1
            if reply.status_code == 202:  # the answer names no letter: found by the address
                api_addresses.append(letter["supporter"]["email"])
            else:
                reply.failure(f"status {reply.status_code}")


@events.quitting.add_listener
def write_results(**_: Any) -> None:
    path = f"{os.environ['LOAD_RESULTS']}.{os.getpid()}.json"
    with open(path, "w") as fh:
        json.dump({"seen": seen, "api_addresses": api_addresses,
                   "form_addresses": form_addresses}, fh)
