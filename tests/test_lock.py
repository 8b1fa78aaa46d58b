"""requirements.lock (the production image's versions) covers what pyproject.toml asks for at
run time, at versions inside its ranges, each pinned with hashes; the image installs from it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import requires

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers import ROOT


def locked() -> dict[str, tuple[str, str]]:
    """{name: (version, the entry's text)} from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n#\n", 1)[1])
    pins = {}
    for entry in entries:
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(2), entry)
    return pins


def runtime_requirements() -> list[Requirement]:
    """pyproject's dependencies, and what each extra they name brings in."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for req in list(wanted):
        for extra in req.extras:
            for dependency in requires(req.name) or []:
                sub = Requirement(dependency)
                if sub.marker and sub.marker.evaluate({"extra": extra}) and \
                        not sub.marker.evaluate({"extra": ""}):
                    wanted.append(sub)
    return wanted


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    for req in runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements.lock: run `make lock`"
        version, _entry = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {name}=={version}, outside {req}: run `make lock`")


def test_every_pin_carries_hashes_and_the_lock_names_no_index() -> None:
    pins = locked()
    assert len(pins) >= 30
    for name, (_version, entry) in pins.items():
        assert "--hash=sha256:" in entry, name
    text = (ROOT / "requirements.lock").read_text()
    assert not re.search(r"--(extra-)?index-url|--find-links|--trusted-host|file:/", text)


def test_the_image_installs_from_the_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in dockerfile
    # The project itself: its own `RUN pip install ... .` line adds no dependency the lock lacks.
    own = re.findall(r"^RUN pip install ((?:--[\w-]+ )*)\.$", dockerfile, re.M)
    assert len(own) == 1 and "--no-deps" in own[0].split(), own
