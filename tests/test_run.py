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

from advocacy.delivery.sink import Sink, free_port

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


def start_run(tmp_path: Path, **env_vars: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "SMTP_URL", "ADVOCACY_MODE")}
    env.update(ADVOCACY_INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port), **env_vars)
    # The send window follows the real clock: open it wide, as an organizer could.
    for args in (["init"], ["limits", "--set", '{"window": null}']):
        subprocess.run([sys.executable, "-m", "advocacy", *args], env=env, check=True,
                       capture_output=True)
    log = (tmp_path / "run.log").open("w+b")
    proc = subprocess.Popen([sys.executable, "-m", "advocacy", "run"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def stop_run(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def write_letter(base: str, email: str) -> None:
    status, reply = request(base + "/api/letters", method="POST", data={
        "body": "gov", "country": "FI", "language": "en", "consent": True,
        "supporter": {"name": "Léa Martin", "email": email, "city": "Paris", "country": "FR"},
    })
    assert status == 202, reply


def confirm_from(raw: bytes, base: str) -> str:
    """Confirm through the email's link; returns the link."""
    text = message_from_bytes(raw, policy=policy.default).get_body().get_content()  # type: ignore[attr-defined]
    link = re.search(rf"{re.escape(base)}/confirm/\S+", text)
    assert link, text
    status, _ = request(link.group(0), method="POST", data={})
    assert status == 200
    return link.group(0)


def test_run_uses_the_services_it_is_given(
    tmp_path: Path, redis_url: str, own_postgres_url: str, sink: Sink
) -> None:
    proc, base = start_run(tmp_path, REDIS_URL=redis_url, DATABASE_URL=own_postgres_url,
                           SMTP_URL=sink.url)
    try:
        wait_for(lambda: f"running at {base}/" in (tmp_path / "run.log").read_text(), 90,
                 "the address")
        write_letter(base, "lea@example.org")
        wait_for(lambda: sink.received, 30, "the confirmation in the given sink")
        link = confirm_from(sink.received[0].data, base)
        wait_for(lambda: len(sink.received) == 2, 30, "the letter in the given sink")
    finally:
        stop_run(proc)
    # The development server prints each request, but not the link's token.
    printed = (tmp_path / "run.log").read_text(errors="replace")
    token = link.split("/confirm/", 1)[1].split("?")[0]
    assert "POST /confirm/[redacted]" in printed and token not in printed
    assert not (tmp_path / "instance" / "redis").exists()  # no embedded Redis was started
    assert not (tmp_path / "instance" / "outbox").exists()
    assert not (tmp_path / "instance" / "advocacy.db").exists()  # PostgreSQL held the data


def test_run_starts_everything_and_a_letter_reaches_the_sink(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    proc, base = start_run(tmp_path)
    try:
        def printed() -> str:
            return (tmp_path / "run.log").read_text(errors="replace")

        wait_for(lambda: f"running at {base}/" in printed(), 90, "the address")
        assert re.search(r"organizer login: organizer@localhost / \S{12,}", printed())
        # The embedded Redis: no server needed. Its pid file tells whether it stops with us.
        settings = json.loads((instance / "redis" / "advocacy.rdb.settings").read_text())
        redis_pid = int(Path(settings["pidfile"]).read_text())

        status, page = request(base + "/")
        assert status == 200 and b"Azat Miftakhov" in page
        write_letter(base, "lea@example.org")
        [raw] = wait_for(lambda: outbox(instance), 30, "the confirmation email")  # type: ignore[misc]
        confirm_from(raw, base)

        wait_for(lambda: len(outbox(instance)) == 2, 30, "the letter in the sink")
        mails = [message_from_bytes(m, policy=policy.default) for m in outbox(instance)]
        letters = [m for m in mails if "lea@example.org" not in str(m["To"])]
        # Finland's ministry: an office that takes email in the shipped files.
        assert [str(m["To"].addresses[0].addr_spec) for m in letters] == ["kirjaamo.um@gov.fi"]
        assert all("Léa Martin via" in str(m["From"]) for m in letters)
        status, stats = request(base + "/api/stats")
        assert json.loads(stats)["letters"]["sent"] == 1
    finally:
        stop_run(proc)
    # Ctrl-C stopped all of it: no worker left in the session, and the Redis (which
    # daemonises into a session of its own) is gone too.
    time.sleep(0.5)
    leftovers = subprocess.run(["ps", "-o", "pid=,args=", "--sid", str(proc.pid)],
                               capture_output=True, text=True).stdout.strip()
    assert leftovers == "", leftovers
    wait_for(lambda: not Path(f"/proc/{redis_pid}").exists(), 15, "the embedded Redis to stop")
