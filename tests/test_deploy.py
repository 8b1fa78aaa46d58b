"""docker-compose.yml, the Dockerfile and the README agree with what the app reads."""

from __future__ import annotations

import re
import shlex
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from advocacy.config import ENVIRONMENT_VARIABLES, from_environment

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "ADVOCACY_MODE", "ADVOCACY_SECRET_KEY",
            "ADVOCACY_SENDER", "ADVOCACY_DATA_KEYS", "ADVOCACY_LOOKUP_KEY"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def substitute(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?message} with nothing set in the environment."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: f"example-{m.group(1).lower()}", value)


def command(service: dict[str, Any]) -> list[str]:
    cmd = service["command"]
    return cmd if isinstance(cmd, list) else shlex.split(cmd)


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= {"web", "worker", "redis", "postgres", "mailcatcher"}


def test_redis_keeps_an_append_only_file(compose: dict[str, Any]) -> None:
    redis_cmd = command(compose["services"]["redis"])
    assert redis_cmd[0] == "redis-server"
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in compose["services"]["redis"]["volumes"])


def test_commands_are_the_apps_own(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = command(services["web"])
    assert web[0] == "gunicorn" and web[-1] == "advocacy:create_app()"
    # gunicorn with the package's settings (threads, timeouts), in compose and in the image.
    assert web[1:3] == ["-c", "python:advocacy.gunicorn_conf"]
    assert '"gunicorn", "-c", "python:advocacy.gunicorn_conf"' in (ROOT / "Dockerfile").read_text()
    assert command(services["worker"]) == ["python", "worker.py"]
    assert "run_worker(create_app()" in (ROOT / "worker.py").read_text()
    assert command(services["init"]) == ["advocacy", "init"]


def published_ports(compose: dict[str, Any]) -> list[tuple[str, str]]:
    """(service, port mapping) for every port a service publishes on the host."""
    found = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            found.append((name, port if isinstance(port, str) else str(port.get("host_ip", ""))
                          + ":" + str(port.get("published", ""))))
    return found


def test_every_published_port_is_on_loopback(compose: dict[str, Any]) -> None:
    """Reachable from this machine only: the web behind the host's reverse proxy, the mail
    catcher (every confirmation link) through an SSH tunnel. "8025:8025" would be every
    interface."""
    ports = published_ports(compose)
    assert ("web", "127.0.0.1:8000:8000") in ports
    assert ("mailcatcher", "127.0.0.1:8025:8025") in ports
    for service, port in ports:
        assert port.startswith("127.0.0.1:"), (service, port)
    # Services only other containers need publish nothing at all.
    assert not {"redis", "postgres", "worker", "init"} & {service for service, _ in ports}


def test_the_mail_catcher_asks_for_a_password_from_the_env_file(compose: dict[str, Any]) -> None:
    environment = compose["services"]["mailcatcher"].get("environment", {})
    auth = environment.get("MP_UI_AUTH", "")
    # user:password, the password from .env and compose refusing to start without it.
    assert re.search(r":\$\{MAILPIT_PASSWORD:\?[^}]+\}$", auth), auth
    assert re.fullmatch(r"[\w.-]+:example-mailpit_password", substitute(auth)), substitute(auth)


@pytest.mark.parametrize("name", ["web", "worker", "init"])
def test_environment_matches_what_the_app_reads(
    compose: dict[str, Any], name: str, tmp_path: Path
) -> None:
    env = {k: substitute(str(v)) for k, v in compose["services"][name]["environment"].items()}
    assert set(env) <= set(ENVIRONMENT_VARIABLES), set(env) - set(ENVIRONMENT_VARIABLES)
    assert set(env) >= REQUIRED
    env["ADVOCACY_DATA_KEYS"] = Fernet.generate_key().decode()  # as `.env` would hold one
    cfg = from_environment(tmp_path, env)  # the app accepts it as it stands
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://advocacy:")
    assert "@postgres:5432/" in cfg["SQLALCHEMY_DATABASE_URI"]
    assert cfg["REDIS_URL"] == "redis://redis:6379/0"
    assert cfg["SMTP_URL"] == "smtp://mailcatcher:1025" and cfg["ADVOCACY_MODE"] == "test"
    for host in ("postgres", "redis", "mailcatcher"):
        assert host in compose["services"]


def test_dockerfile_copies_what_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_readme_documents_every_variable_and_both_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ENVIRONMENT_VARIABLES:
        assert f"`{name}`" in readme, name
    assert "make run" in readme and "make test" in readme


def test_installed_package_carries_migrations_and_pages(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    [wheel] = tmp_path.glob("advocacy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "advocacy/migrations/env.py" in names
    assert "advocacy/migrations/versions/0001_initial.py" in names
    assert "advocacy/templates/public/index.html" in names
    assert "advocacy/static/site.css" in names
    assert "advocacy/translations/ru/LC_MESSAGES/messages.mo" in names


def test_web_and_worker_processes_load_no_migration_or_smtp_server_code(
        tmp_path: Path, redis_url: str, queue_name: str) -> None:
    """Alembic (about 12 MB) is for `advocacy init` and `advocacy db`; aiosmtpd for the sink
    and the reply relay."""
    import subprocess
    import sys

    loaded = ("print('loaded:', sorted(m for m in ('alembic', 'flask_migrate', 'aiosmtpd',"
              " 'dkim', 'publicsuffixlist', 'authres')"
              " if m in sys.modules))")
    probes = {
        # gunicorn's and worker.py's way: the factory alone.
        "create_app": f"from advocacy import create_app; create_app(); {loaded}",
        # The command line, as `advocacy worker` runs: the app is made while the command is
        # looked up. --burst on an empty queue returns at once; main() then exits.
        "advocacy worker": f"import atexit; atexit.register(lambda: {loaded});"
                           " sys.argv = ['advocacy', 'worker', '--burst'];"
                           " from advocacy.cli import main; main()",
    }
    env = {"PATH": "/usr/bin:/bin", "ADVOCACY_INSTANCE_PATH": str(tmp_path),
           "REDIS_URL": redis_url, "ADVOCACY_QUEUE": queue_name}
    for name, probe in probes.items():
        done = subprocess.run([sys.executable, "-c", f"import sys; {probe}"], env=env,
                              capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
        assert re.findall(r"^loaded: (.*)$", done.stdout, re.M) == ["[]"], (name, done.stdout)
