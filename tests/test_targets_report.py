"""docs/targets.md is generated from targets/ and templates/ and says how each office is reached."""

from __future__ import annotations

from pathlib import Path

from advocacy.officials.report import ROOT, main, report

from helpers import target_entry


def test_docs_targets_md_is_not_stale() -> None:
    """Run `python -m advocacy.officials.report` after changing targets/ or templates/."""
    assert (ROOT / "docs" / "targets.md").read_text(encoding="utf-8") == report()
    assert main(["--check"]) == 0


def test_every_shipped_office_offered_to_supporters_is_reachable() -> None:
    assert "- Every offered office reachable: yes" in report()


def test_the_report_counts_channels_shares_sources_and_letters(tmp_path: Path) -> None:
    targets, templates = tmp_path / "targets", tmp_path / "templates"
    targets.mkdir()
    (templates / "un").mkdir(parents=True)
    (templates / "un" / "en.toml").write_text("", encoding="utf-8")
    (targets / "un.toml").write_text("\n".join([
        '[body]\nslug = "un"\nname = "United Nations"\n',
        target_entry("un-letters", 'email = "letters@example.org"',
                     "https://example.org/contact, read 2026-12-01"),
        target_entry("un-post", 'postal_address = "Palais\\nGeneva"', "a directory",
                     '["en", "fr"]'),
        target_entry("un-cases", 'email = "cases@example.org"',
                     "https://example.org/complaints, read 2026-12-01",
                     more="case_intake = true\n"),
    ]), encoding="utf-8")
    text = report(targets, templates)
    assert "- Every offered office reachable: yes (2 of 2)." in text
    assert "- By email: 1 (50%); the goal of 80% is **not met**." in text
    assert "- By contact form: 0 (0%); by post: 1 (50%)." in text
    assert "| United Nations (`un`) | 2 | 1 | 0 | 1 | 1 (50%) |" in text
    assert "| `un-letters` | email | no | yes | 2026-12-01 | en | — |" in text
    assert "| `un-post` | post | no | **no** | **no date** | en | fr |" in text
    assert "names a URL: **no**" in text and "in each language it reads: **no** (1 of 2)" in text
    # The case-intake inbox is no supporter's target: listed apart, not counted.
    assert "- `un-cases` (United Nations): The office un-cases" in text
    stale = tmp_path / "targets.md"
    assert main(["--check", "--output", str(stale)]) == 1
    stale.write_text(report(), encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 0
