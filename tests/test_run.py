"""`advocacy run` as a newcomer uses it: one command, embedded Redis, sink, web and worker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from advocacy.sink import free_port

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def request(
    url: str, data: dict[str, object] | None = None, method: str = "GET"
) -> tuple[int, bytes]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method,  # noqa: S310 (loopback)
                                 headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:  # noqa: S310
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def outbox(instance: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((instance / "outbox").glob("*.eml"))]


def test_run_starts_everything_and_a_letter_reaches_the_sink(tmp_path: Path) -> None:
    instance, port = tmp_path / "instance", free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "SMTP_URL", "ADVOCACY_MODE")}
    env.update(ADVOCACY_INSTANCE_PATH=str(instance), PORT=str(port))
    log = (tmp_path / "run.log").open("w+b")
    proc = subprocess.Popen([sys.executable, "-m", "advocacy", "run"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def printed() -> str:
            return (tmp_path / "run.log").read_text(errors="replace")

        wait_for(lambda: f"running at {base}/" in printed(), 90, "the address")
        assert re.search(r"organizer login: organizer@localhost / \S{12,}", printed())
        assert (instance / "redis").is_dir()  # the embedded Redis, no server needed

        status, page = request(base + "/")
        assert status == 200 and b"Azat Miftakhov" in page
        status, reply = request(base + "/api/letters", method="POST", data={
            "body": "un", "language": "fr", "consent": True,
            "supporter": {"name": "Léa Martin", "email": "lea@example.org", "city": "Paris",
                          "country": "FR"},
        })
        assert status == 202, reply

        [raw] = wait_for(lambda: outbox(instance), 30, "the confirmation email")  # type: ignore[misc]
        confirmation = message_from_bytes(raw, policy=policy.default)
        text = confirmation.get_body().get_content()  # type: ignore[attr-defined]
        link = re.search(rf"{re.escape(base)}/confirm/\S+", text)
        assert link, text
        status, _ = request(link.group(0), method="POST", data={})
        assert status == 200

        wait_for(lambda: len(outbox(instance)) == 3, 30, "two letters in the sink")
        mails = [message_from_bytes(m, policy=policy.default) for m in outbox(instance)]
        letters = [m for m in mails if "lea@example.org" not in str(m["To"])]
        assert sorted(str(m["To"].addresses[0].addr_spec) for m in letters) == [
            "hrc-wg-ad@un.org", "urgent-action@ohchr.org"]
        assert all("Léa Martin via" in str(m["From"]) for m in letters)
        status, stats = request(base + "/api/stats")
        assert json.loads(stats)["letters"]["sent"] == 2
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    # Ctrl-C stopped all of it: no worker, no Redis left behind in this session.
    time.sleep(0.5)
    leftovers = subprocess.run(["ps", "-o", "pid=,args=", "--sid", str(proc.pid)],
                               capture_output=True, text=True).stdout.strip()
    assert leftovers == "", leftovers
