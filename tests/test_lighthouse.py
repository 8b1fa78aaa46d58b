"""Lighthouse (12.2.3, pinned in tests/lighthouse/package-lock.json; `make test` runs
`npm ci` there) on the campaign page as a phone sees it, with Debian's Chromium:
performance, accessibility and best practices at least 95, SEO 100 (issue 18). Slow: one
Chromium per language."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers import CHROMIUM, ONE_DATABASE, ROOT, picture_the_campaign

FOLDER = ROOT / "tests" / "lighthouse"
LIGHTHOUSE = FOLDER / "node_modules" / ".bin" / "lighthouse"
FLOORS = {"performance": 95, "accessibility": 95, "best-practices": 95, "seo": 100}

pytestmark = [
    pytest.mark.slow,
    ONE_DATABASE,
    pytest.mark.skipif(
        not LIGHTHOUSE.exists() or not Path(CHROMIUM).exists(),
        reason="no Lighthouse: `make test` runs `npm ci` in tests/lighthouse when npm is here;"
        " and chromium (.ci/run installs it)",
    ),
]


def lighthouse_scores(url: str, out: Path) -> dict[str, int]:
    """Lighthouse's category scores (0-100) for `url`, on its default phone (throttled)."""
    flags = (
        "--headless=new --no-sandbox --disable-gpu --no-first-run "
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    )
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={flags}",
            "--only-categories=" + ",".join(FLOORS),
        ],
        check=True,
        timeout=300,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    report = json.loads(out.read_text())
    audits = report["audits"]
    print(
        {
            k: audits[k]["displayValue"]
            for k in (
                "first-contentful-paint",
                "largest-contentful-paint",
                "total-blocking-time",
                "cumulative-layout-shift",
                "speed-index",
            )
        }
    )
    return {name: round(100 * (c["score"] or 0)) for name, c in report["categories"].items()}


@pytest.mark.parametrize("lang", ["en", "ru", "fr"])
def test_the_campaign_page_scores_well_on_a_phone(
    app: Any, live: str, tmp_path: Path, lang: str, record_property: Any
) -> None:
    picture_the_campaign(app)  # with its image (the largest paint) and goal bar
    scores = lighthouse_scores(f"{live}/?lang={lang}", tmp_path / "report.json")
    record_property("lighthouse", scores)
    print(lang, scores)
    assert {k: v for k, v in scores.items() if v < FLOORS[k]} == {}, scores
