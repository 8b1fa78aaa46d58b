"""The whole stack as processes on loopback, for the benches and the slow tests.

A Redis server and a PostgreSQL cluster of the caller's own (never the machine's shared
ones: they are stopped and wiped at will), a throwaway database on a given server, the
project's SMTP sink, gunicorn and `python worker.py` processes. Each listens on a free port.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advocacy.delivery.sink import free_port

# The checkout: worker.py and the processes' working directory (this is test and bench
# support, run from a checkout, never from an installed wheel).
ROOT = Path(__file__).resolve().parent.parent.parent

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def wait_for(ready: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll until `ready()` holds (exceptions count as not yet), or fail saying what."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(Exception):
            if ready():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {seconds:.0f} s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[Any] | None, timeout: float = 20) -> None:
    """Terminate a process we started, and kill it if it does not go."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for {pid}")


# --- Redis ---------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own on a free port, in memory only: a restart comes back empty."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        from redis import Redis

        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: bool(Redis(port=self.port, socket_connect_timeout=0.2).ping()), 10,
                 "redis-server")
        return self

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def restart(self, down_seconds: float = 0) -> None:
        """Stop, then start again on the same port with nothing in it."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that has initdb and pg_ctl, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb + pg_ctl) in a folder, on a free port.

    As root, the cluster belongs to the `postgres` user (PostgreSQL refuses to run as root),
    in a folder of its own under the system's temporary directory (the caller's may be closed
    to other users). Durability is off (fsync): the cluster is thrown away.

    With `crash_faithful`, a crash (`stop("immediate")`, its processes killed) loses what
    a real server's crash loses: commits are waited for as the default says (fsync stays
    off: the operating system keeps what was written), and a commit that was not waited for
    (synchronous_commit off) stays in memory for the WAL writer's longest delay, 10 s.
    """

    def __init__(self, crash_faithful: bool = False) -> None:
        self.crash_faithful = crash_faithful
        binaries = postgres_bin()
        if binaries is None:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb")
        self.bin, self.port = binaries, free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="advocacy-pg-"))
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        """The database `create` makes."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/advocacy"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, check: bool = True) -> None:
        subprocess.run(argv, check=check, capture_output=True, preexec_fn=self._as_owner,
                       cwd=self.directory)

    @staticmethod
    def _as_owner() -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.setgid(owner.pw_gid)
            os.setuid(owner.pw_uid)

    def create(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "advocacy")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
                   " -c fsync=off -c full_page_writes=off -c max_connections=200")
        options += (" -c synchronous_commit=on -c wal_writer_delay=10000"
                    if self.crash_faithful else " -c synchronous_commit=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.directory / "server.log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """fast: connections are cut, as when the server is restarted under the app;
        immediate: its processes quit at once, as in a crash (recovery runs at the start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str = "advocacy_bench") -> Iterator[str]:
    """A new database on the server `admin_url` reaches, dropped afterwards; yields its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the app's own processes ---------------------------------------------------------------


def app_env(tmp: Path, database_url: str, redis_url: str, smtp_url: str,
            **extra: str) -> dict[str, str]:
    """The environment of every process of one installation (web, workers, init)."""
    from cryptography.fernet import Fernet

    return {**os.environ, "ADVOCACY_INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SMTP_URL": smtp_url,
            "ADVOCACY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
            "ADVOCACY_SENDER": "letters@bench.test", "ADVOCACY_SECRET_KEY": "bench",
            "ADVOCACY_DATA_KEYS": Fernet.generate_key().decode(),
            "ADVOCACY_LOOKUP_KEY": "bench-lookup",
            # As the production image sets it (Dockerfile): glibc's malloc arenas per thread.
            "MALLOC_ARENA_MAX": "2", **extra}


def init(env: dict[str, str], limits: str | None = None) -> None:
    """`advocacy init`, then the default campaign's limits (JSON over the defaults)."""
    subprocess.run([sys.executable, "-m", "advocacy", "init"], env=env, check=True,
                   capture_output=True, cwd=ROOT)
    if limits:
        subprocess.run([sys.executable, "-m", "advocacy", "limits", "--set", limits], env=env,
                       check=True, capture_output=True, cwd=ROOT)


def sink(port: int, outbox: Path | None, env: dict[str, str],
         faults: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """The project's sink (`advocacy sink`), keeping each message as an .eml file in
    `outbox` (or counting only); `faults`: more options, e.g. ("--hang-up-at-end", "0.1")."""
    keep = ["--outbox", str(outbox)] if outbox else []
    proc = subprocess.Popen([sys.executable, "-m", "advocacy", "sink", "--port", str(port),
                             *keep, *faults], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _answers_smtp(port), 20, "the sink")
    return proc


def _answers_smtp(port: int) -> bool:
    import smtplib

    with smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp:
        return smtp.noop()[0] == 250


def gunicorn_argv(port: int) -> list[str]:
    """gunicorn with the package's settings (advocacy/gunicorn_conf.py)."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:advocacy.gunicorn_conf",
            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "advocacy:create_app()"]


def web(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """gunicorn serving the app on loopback, once it answers /healthz."""
    proc = subprocess.Popen(gunicorn_argv(port), env=env, cwd=ROOT)
    wait_for(lambda: status_of(port, "GET", "/healthz") in (200, 503), 60, "gunicorn")
    return proc


def web_processes(server: subprocess.Popen[bytes]) -> list[int]:
    """The pids of gunicorn's worker processes (the arbiter's children)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def status_of(port: int, method: str, path: str, timeout: float = 5) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        reply = conn.getresponse()
        reply.read()
        return reply.status
    finally:
        conn.close()


def worker_argv(overrides: dict[str, Any] | None = None) -> list[str]:
    """`python worker.py` (as docker-compose runs it), or `advocacy worker` through
    `flask --app` with config values set.

    Flask builds the app from the literal arguments of the factory call, so a test can
    shorten the workers' periods (reconcile, retries) without a variable in the app for it.
    """
    if not overrides:
        return [sys.executable, str(ROOT / "worker.py")]
    return [sys.executable, "-m", "flask", "--app", f"advocacy:create_app({overrides!r})",
            "worker"]


class Workers:
    """Delivery worker processes, started and SIGKILLed at will.

    Each worker runs in a process group of its own with the RQ scheduler it forks, so a kill
    takes both, as the crash of its machine or container would (a scheduler left behind would
    run on after the bench).
    """

    def __init__(self, env: dict[str, str], overrides: dict[str, Any] | None = None,
                 log: Path | None = None) -> None:
        self.env, self.argv, self.log = env, worker_argv(overrides), log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            out = self.log.open("ab") if self.log else subprocess.DEVNULL
            self.procs.append(subprocess.Popen(self.argv, env=self.env, cwd=ROOT,
                                               stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    @property
    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def kill_one(self) -> int:
        """SIGKILL one live worker and its scheduler, chosen at random; returns its pid."""
        victim = random.choice(self.alive)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        return victim.pid

    def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
            with contextlib.suppress(ProcessLookupError):  # whatever of the group is left
                os.killpg(p.pid, signal.SIGKILL)


# --- a whole installation ------------------------------------------------------------------

# Delivery limits out of the way: the benches measure the software, not the limits (the
# near-duplicate digest too: the simulated supporters' letters to one office are all alike).
NO_LIMITS: dict[str, str | None] = {"relay": None, "per_domain": None,
                                    "per_official_hour": None, "per_official_day": None,
                                    "window": None, "similar_after": None}


def database_option(parser: Any) -> None:
    parser.add_argument("--database-url", default=None,
                        help="default: a throwaway database on 127.0.0.1:5432")


def load_average() -> list[str]:
    """The machine's load average (1, 5, 15 minutes), said before measuring."""
    return Path("/proc/loadavg").read_text().split()[:3]


def database(url: str | None, prefix: str) -> contextlib.AbstractContextManager[str]:
    """The database a bench was given, or a throwaway one on the local server."""
    return contextlib.nullcontext(url) if url else throwaway_database(LOCAL_POSTGRES, prefix)


@dataclass
class Site:
    """One installation on loopback: its folder, environment, sink, web server and workers."""

    folder: Path
    env: dict[str, str]
    port: int
    outbox: Path | None
    sink: subprocess.Popen[bytes]
    workers: Workers
    web: subprocess.Popen[bytes] | None = None

    def app(self) -> Any:
        """The app in this process, on the same database and Redis (for checks and seeds)."""
        os.environ.update(self.env)
        from advocacy import create_app

        return create_app()

    def restart_sink(self, faults: tuple[str, ...] = ()) -> None:
        self.sink = sink(int(self.env["SMTP_URL"].rsplit(":", 1)[1]), self.outbox, self.env,
                         faults)

    def stop(self) -> None:
        self.workers.stop()
        stop(self.web)
        stop(self.sink)


def start_site(tmp: Path, database_url: str, redis_url: str, workers: int = 2,
               web_server: bool = True, keep_mail: bool = True) -> Site:
    """`advocacy init` (every limit out of reach, the per-IP one too: every simulated user
    comes from 127.0.0.1), the sink, gunicorn and the workers."""
    port, smtp_port = free_port(), free_port()
    env = app_env(tmp, database_url, redis_url, f"smtp://127.0.0.1:{smtp_port}",
                  ADVOCACY_SUBMIT_RATE="1000000/second",
                  ADVOCACY_PUBLIC_URL=f"http://127.0.0.1:{port}")
    init(env, json.dumps(NO_LIMITS))
    outbox = tmp / "outbox" if keep_mail else None
    site = Site(tmp, env, port, outbox, sink(smtp_port, outbox, env),
                Workers(env, log=tmp / "workers.log"))
    try:
        if web_server:
            site.web = web(port, env)
        site.workers.start(workers)
    except BaseException:
        site.stop()
        raise
    return site


@contextlib.contextmanager
def installation(name: str, database_url: str | None, workers: int = 2,
                 web_server: bool = True, keep_mail: bool = True) -> Iterator[Site]:
    """A bench's whole installation in a new temporary folder: a redis-server of its own, the
    database it was given (or a throwaway one on the local server, dropped afterwards) and
    start_site's processes, stopped afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=f"advocacy-{name}-"))
    with RedisServer(tmp / "redis") as redis, database(database_url, f"advocacy_{name}") as url:
        site = start_site(tmp, url, redis.url, workers, web_server, keep_mail)
        try:
            yield site
        finally:
            site.stop()
