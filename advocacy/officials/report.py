"""docs/targets.md: how supporters reach the shipped offices, measured from targets/ and
templates/ (`python -m advocacy.officials.report` writes it; `--check` fails when it is stale,
and so does a test).

It reads the files only, not the database: what ships is what is measured."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from advocacy.officials.channels import CHANNELS, channels
from advocacy.officials.files import OfficialSpec, read_officials_dir

ROOT = Path(__file__).resolve().parents[2]
EMAIL_GOAL = 0.8  # the share of offered offices that should take email
URL = re.compile(r"https?://[^\s),;']+")
DATE_READ = re.compile(r"\bread (\d{4}-\d{2}-\d{2})\b")
CHANNEL_NAMES = {"email": "email", "form": "contact form", "post": "post"}


@dataclass(frozen=True)
class Office:
    """One offered office, as the report measures it."""

    group: str
    spec: OfficialSpec
    letters: list[str]  # the languages it reads that its group has a letter in

    @property
    def channels(self) -> list[str]:
        return channels(self.spec)

    @property
    def source_url(self) -> bool:
        return URL.search(self.spec.source) is not None

    @property
    def date_read(self) -> str:
        found = DATE_READ.findall(self.spec.source)
        return max(found) if found else ""

    @property
    def missing_letters(self) -> list[str]:
        return [lang for lang in self.spec.languages if lang not in self.letters]


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.0f}%)" if whole else "0"


def _yes(value: bool) -> str:
    return "yes" if value else "**no**"


def report(targets: Path = ROOT / "targets", templates: Path = ROOT / "templates") -> str:
    """The text of docs/targets.md for these directories."""
    files = read_officials_dir(targets)
    offices: list[Office] = []
    intake: list[tuple[str, OfficialSpec]] = []
    names: dict[str, str] = {}
    for tf in sorted(files, key=lambda f: (f.body.position, f.body.slug)):
        names[tf.body.slug] = tf.body.name
        letters = {p.stem for p in (templates / tf.body.slug).glob("*.toml")}
        for spec in tf.target:
            if spec.case_intake:
                intake.append((tf.body.slug, spec))
            else:
                offices.append(Office(tf.body.slug, spec,
                                      [lang for lang in spec.languages if lang in letters]))
    total = len(offices)
    count = {c: sum(c in o.channels for o in offices) for c in CHANNELS}
    unreachable = [o for o in offices if not o.channels]
    by_email = count["email"] / total if total else 0.0
    out = [
        "# Targets: how supporters reach each office",
        "",
        "Generated from `targets/` and `templates/` by `python -m advocacy.officials.report`;"
        " do not edit by hand (a test fails when this file is stale).",
        "",
        f"**Goal:** every office offered to supporters reachable by at least one channel, and"
        f" at least {EMAIL_GOAL:.0%} of them by email. An office that takes email gets the"
        " letter from the campaign; one that takes none is reached by the supporter, through"
        " its web contact form (the letter ready to copy) or by post (a printable letter).",
        "",
        f"- Every offered office reachable: {_yes(not unreachable)}"
        f" ({total - len(unreachable)} of {total}).",
        f"- By email: {_share(count['email'], total)}; the goal of {EMAIL_GOAL:.0%} is"
        f" {'met' if by_email >= EMAIL_GOAL else '**not met**'}.",
        f"- By contact form: {_share(count['form'], total)}; by post:"
        f" {_share(count['post'], total)}.",
        f"- Every office's source names a URL: {_yes(all(o.source_url for o in offices))};"
        f" and the date it was read: {_yes(all(o.date_read for o in offices))}.",
        f"- Every office has a letter in each language it reads:"
        f" {_yes(not any(o.missing_letters for o in offices))}"
        f" ({sum(not o.missing_letters for o in offices)} of {total}); in at least one:"
        f" {_yes(all(o.letters for o in offices))}.",
        "",
        "## Offices per group and channel",
        "",
        "An office counts under each channel it has.",
        "",
        "| group | offices | email | contact form | post | share by email |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for slug, name in names.items():
        mine = [o for o in offices if o.group == slug]
        cells = [str(sum(c in o.channels for o in mine)) for c in CHANNELS]
        out.append(f"| {name} (`{slug}`) | {len(mine)} | {' | '.join(cells)} |"
                   f" {_share(sum('email' in o.channels for o in mine), len(mine))} |")
    out.append(f"| all | {total} | {' | '.join(str(count[c]) for c in CHANNELS)} |"
               f" {_share(count['email'], total)} |")
    out += ["", "## Each office", ""]
    for slug, name in names.items():
        out += [f"### {name}", "",
                "| office | channels | verified | source URL | read | letters | no letter in |",
                "|---|---|---|---|---|---|---|"]
        for o in (o for o in offices if o.group == slug):
            ways = ", ".join(CHANNEL_NAMES[c] for c in o.channels) or "**none**"
            out.append(
                f"| `{o.spec.key}` | {ways}"
                f" | {'yes' if o.spec.verified else 'no'} | {_yes(o.source_url)}"
                f" | {o.date_read or '**no date**'} | {' '.join(o.letters) or '**none**'}"
                f" | {' '.join(o.missing_letters) or '—'} |")
        out.append("")
    out += ["## Organizers' submissions (not offered to supporters)", ""]
    if intake:
        out.append("Case-intake inboxes take one documented case submission from the organizers"
                   " or the lawyer; supporters' letters never go there (the page lists them"
                   " as information).")
        out.append("")
        out += [f"- `{spec.key}` ({names[slug]}): {spec.office}" for slug, spec in intake]
    else:
        out.append("None marked (`case_intake = true` in a targets file).")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/targets.md from targets/.")
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "targets.md")
    args = parser.parse_args(argv)
    text = report()
    if args.check:
        if not args.output.exists() or args.output.read_text(encoding="utf-8") != text:
            print(f"{args.output} is stale: run python -m advocacy.officials.report",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
