"""The tree's layers hold (import-linter, run by `make lint`), and every job has one stable name."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rq.utils import import_attribute

import advocacy
from advocacy.delivery import queue
from advocacy.delivery.queue import LEGACY_PATHS, Job

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"),
                           "--no-cache"], cwd=tree, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, check=False)


@pytest.fixture
def copy_of_the_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "advocacy", tmp_path / "advocacy",
                    ignore=shutil.ignore_patterns("__pycache__", "translations", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_lint(copy_of_the_tree: Path) -> None:
    # The officials are below delivery: an official's file may not import the queue.
    append(copy_of_the_tree / "advocacy/officials/files.py", "from advocacy.delivery import queue")
    result = lint_imports(copy_of_the_tree)
    assert result.returncode != 0
    assert "advocacy.officials is not allowed to import advocacy.delivery" in result.stdout


def test_an_import_circle_breaks_the_lint(copy_of_the_tree: Path) -> None:
    # jobs.py uses schedule.py; schedule.py importing jobs.py back is a circle in one layer.
    append(copy_of_the_tree / "advocacy/delivery/schedule.py", "import advocacy.delivery.jobs")
    result = lint_imports(copy_of_the_tree)
    assert result.returncode != 0
    assert "No import circles" in result.stdout and "BROKEN" in result.stdout


@pytest.mark.parametrize("job", list(Job))
def test_every_job_name_is_the_function_rq_will_run(job: Job) -> None:
    """The names are what Redis stores: each must import, as RQ does, to a function."""
    function = import_attribute(str(job))
    assert callable(function)
    assert function.__name__ == str(job).rpartition(".")[2]


@pytest.mark.parametrize("old", sorted(LEGACY_PATHS))
def test_jobs_queued_under_an_old_name_still_run(old: str) -> None:
    assert import_attribute(old) is import_attribute(str(LEGACY_PATHS[old]))


def test_jobs_are_named_in_the_registry_only() -> None:
    """No module but the registry spells a job's path: the rest enqueue through Job."""
    registry = Path(queue.__file__)
    names = [str(job) for job in Job] + list(LEGACY_PATHS)
    for path in Path(advocacy.__file__).parent.rglob("*.py"):
        if path == registry or "migrations" in path.parts:
            continue
        text = path.read_text()
        assert not [n for n in names if f'"{n}"' in text], path
