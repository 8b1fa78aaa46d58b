"""/admin/targets: the officials, searched, added, edited, verified, deactivated, imported."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy import clock
from advocacy.campaigns.bootstrap import load_data
from advocacy.extensions import db
from advocacy.models import AuditEntry, HoldReason, Letter, LetterStatus, Official
from advocacy.officials.rows import COLUMNS, row_of_official
from advocacy.organizers import official_import
from advocacy.organizers.official_import import MAX_BYTES, MAX_COLUMNS

from helpers import (
    PEOPLE,
    ROOT,
    csrf,
    log_in,
    seed_queued,
    shipped_officials,
    verified_as_a_file_may,
)

pytestmark = pytest.mark.usefixtures("people")  # the accounts of test_admin
HOSTILE = "<script>alert(1)</script>"


def official(key: str) -> Official:
    db.session.expire_all()  # what the requests committed, not what this session remembers
    return db.session.scalars(select(Official).where(Official.key == key)).one()


def signed_in(app: Any, role: str) -> tuple[Any, str]:
    """A client logged in with this role, and its CSRF token."""
    client = app.test_client()
    assert log_in(client, PEOPLE[role]).status_code == 302
    return client, csrf(client, "/admin/targets")


def page_of(reply: Any) -> str:
    return str(reply.data.decode())


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def form_for(official: Official, **changes: str) -> dict[str, str]:
    """The edit form as it is filled in for this official, with some fields changed."""
    return {**row_of_official(official), **changes}


GOOD_NEW = {
    "key": "gov-pt-state-secretary", "body": "gov",
    "office": "Secretary of State for Foreign Affairs",
    "holder": "", "country": "PT", "languages": "pt", "timezone": "Europe/Lisbon",
    "email": "", "contact_page": "https://www.portugal.gov.pt/en/gc24/contacts",
    "postal_address": "Largo do Rilvas\r\n1399-030 Lisboa", "source": "portugal.gov.pt",
    "salutation_en": "Dear Minister,", "salutation_fr": "Monsieur le Ministre,",
    "salutation_de": "Sehr geehrter Herr Minister,", "salutation_ru": "Уважаемый министр!",
    "salutation_es": "Señor Ministro:", "office_fr": "Ministre des Affaires étrangères",
}


# --- the list -----------------------------------------------------------------------------

def keys_listed(client: Any, query: str = "") -> list[str]:
    reply = client.get(f"/admin/targets{query}")
    assert reply.status_code == 200
    return re.findall(r'<tr data-key="([^"]+)"', page_of(reply))


def test_the_list_searches_filters_and_pages(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    verified_as_a_file_may("un-sr-torture", "un-wgad")
    client, _token = signed_in(app, "viewer")
    monkeypatch.setattr("advocacy.admin.officials.PER_PAGE", 1000)  # all on one page first
    everyone = keys_listed(client)
    total = shipped_officials()
    assert len(everyone) == db.session.scalar(select(func.count()).select_from(Official)) == total
    page = page_of(client.get("/admin/targets"))
    assert "no email" in page and "Add an official" not in page  # viewers read
    assert "yes, from the targets file" in page  # the two marked above
    assert keys_listed(client, "?q=TORTURE") == ["coe-cpt", "un-sr-torture"]  # office, any case
    assert keys_listed(client, "?q=hrc-wg-ad@") == ["un-wgad"]  # email
    assert keys_listed(client, "?q=coe-pace-pres") == ["coe-pace-president"]
    assert keys_listed(client, "?q=100%25") == []  # % is a character, not a wildcard
    assert set(keys_listed(client, "?body=gov&country=fr")) == {
        "gov-fr-foreign-minister", "gov-fr-human-rights-ambassador"}
    assert set(keys_listed(client, "?body=un")) == {
        "un-sr-torture", "un-wgad", "un-high-commissioner-human-rights", "un-sr-russia",
        "un-sr-freedom-expression", "un-sr-human-rights-defenders"}
    assert set(keys_listed(client, "?state=verified")) == {"un-sr-torture", "un-wgad"}
    assert set(keys_listed(client, "?state=unverified")) == {
        o.key for o in db.session.scalars(select(Official)) if o.email and not o.verified}
    assert "gov-fi-foreign-minister" in keys_listed(client, "?state=unverified")
    the_official = official("gov-de-foreign-minister")
    the_official.holder = "Erika Mustermann"
    db.session.commit()
    assert keys_listed(client, "?q=mustermann&body=gov") == ["gov-de-foreign-minister"]
    assert keys_listed(client, "?q=mustermann&body=un") == []

    monkeypatch.setattr("advocacy.admin.officials.PER_PAGE", 10)
    first, third = keys_listed(client), keys_listed(client, "?page=3")
    assert len(first) == 10 and len(third) == min(10, total - 20)
    assert not set(first) & set(third)
    page = page_of(client.get("/admin/targets?body=gov&page=1"))
    pages = -(-shipped_officials("gov") // 10)
    assert f"page 1 of {pages}" in page and "/admin/targets?page=2&amp;body=gov" in page
    assert client.get("/admin/targets/new").status_code == 403


# --- add and edit -------------------------------------------------------------------------

BAD_FIELDS = [
    ("key", "Bad Key", "lowercase letters, digits and hyphens"),
    ("country", "France", "two capital letters"),
    ("timezone", "Mars/Olympus", "unknown IANA time zone 'Mars/Olympus'"),
    ("email", "minister@", "missing after the @ sign"),
    ("contact_page", "http://insecure.example.org", "https://"),
    ("languages", "", "at least one language"),
    ("languages", "Portuguese", "not ISO 639-1 codes"),
    ("source", "", "at least 3 characters"),
    ("office", "", "at least 3 characters"),
    ("salutation_fr", "", "missing for fr"),
    ("body", "nato", "Choose a group"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_a_bad_field_is_named_beside_it_and_what_was_typed_stays(
    app: Any, field: str, value: str, message: str
) -> None:
    client, token = signed_in(app, "editor")
    typed = {**GOOD_NEW, "csrf_token": token, "holder": "Typed by hand", field: value}
    reply = client.post("/admin/targets/new", data=typed)
    page = page_of(reply)
    assert reply.status_code == 422
    error_id = "salutation" if field.startswith("salutation") else field
    error = re.search(rf'<p class="error" id="{error_id}-error">([^<]*)</p>', page)
    assert error and message.lower() in html.unescape(error.group(1)).lower(), page
    assert 'value="Typed by hand"' in page and "Nothing was saved" in page
    if field in ("country", "timezone"):  # chosen from a list, which keeps what was sent
        assert re.search(rf'<select id="{field}" name="{field}" aria-invalid="true"', page)
        kept = value.upper() if field == "country" else value
        assert f'<option value="{kept}" selected>' in page
    elif field == "languages":  # ticked, or typed as codes
        assert '<fieldset id="languages-field" aria-invalid="true"' in page
        if value:
            assert f'value="{value.lower()}" checked' in page
    elif field not in ("body", "salutation_fr"):
        assert f'id="{field}" name="{field}" type' in page
        assert 'aria-invalid="true"' in page
    assert db.session.scalar(select(Official).where(Official.key == GOOD_NEW["key"])) is None


def test_adding_an_official(app: Any) -> None:
    client, token = signed_in(app, "editor")
    reply = client.post("/admin/targets/new", data={**GOOD_NEW, "csrf_token": token})
    assert reply.status_code == 302
    added = official("gov-pt-state-secretary")
    assert (added.country, added.languages, added.verified, added.file_hash) == (
        "PT", ["pt"], False, None)
    assert added.postal_address == "Largo do Rilvas\n1399-030 Lisboa"  # the form's CRLF
    assert added.office_names == {"fr": "Ministre des Affaires étrangères"}
    assert added.salutations["ru"] == "Уважаемый министр!"
    [entry] = audit("add official")
    assert entry.subject == "gov-pt-state-secretary" and entry.organizer_email == PEOPLE["editor"]
    # Then the rules that need the database or the body.
    again = client.post("/admin/targets/new", data={**GOOD_NEW, "csrf_token": token})
    assert "Another official has this key" in page_of(again)
    no_country = client.post("/admin/targets/new", data={
        **GOOD_NEW, "key": "gov-xx", "country": "", "csrf_token": token})
    assert re.search(r'id="country-error">required: this group is chosen by country',
                     page_of(no_country))
    unreachable = client.post("/admin/targets/new", data={
        **GOOD_NEW, "key": "un-xx", "body": "un", "contact_page": "", "postal_address": "",
        "csrf_token": token})
    assert "needs at least one of email, contact_page, postal_address" in page_of(unreachable)


def test_changing_a_verified_address_unverifies_it_and_says_so(app: Any) -> None:
    verified_as_a_file_may("un-sr-torture", "un-wgad")
    client, token = signed_in(app, "editor")
    wgad = official("un-wgad")
    edit = page_of(client.get(f"/admin/targets/{wgad.id}/edit"))
    assert "un-verifies it" in edit
    opened = re.search(r'name="opened" value="([0-9a-f]+)"', edit)
    assert opened
    # The holder changes: the address stays verified.
    reply = client.post(f"/admin/targets/{wgad.id}/edit", data={
        **form_for(wgad, holder="Chair-Rapporteur"), "csrf_token": token,
        "opened": opened.group(1)}, follow_redirects=True)
    assert "Saved un-wgad" in page_of(reply)
    assert official("un-wgad").verified is True

    torture = official("un-sr-torture")
    torture.bounced_at, torture.bounce_reason = clock.now(), "550 no such user"  # the old address
    db.session.commit()
    edit = page_of(client.get(f"/admin/targets/{torture.id}/edit"))
    opened = re.search(r'name="opened" value="([0-9a-f]+)"', edit)
    assert opened
    reply = client.post(f"/admin/targets/{torture.id}/edit", data={
        **form_for(torture, email="New.Address@OHCHR.org"), "csrf_token": token,
        "opened": opened.group(1)}, follow_redirects=True)
    page = page_of(reply)
    assert "no longer verified" in page and "verify it again" in page
    assert 'id="verification" class="error">Not verified' in page
    changed = official("un-sr-torture")
    assert (changed.email, changed.verified, changed.verified_by, changed.verified_at) == (
        "New.Address@ohchr.org", False, None, None)
    assert changed.bounced_at is None  # the refusal was for the old address
    [entry] = [e for e in audit("edit official") if e.subject == "un-sr-torture"]
    assert entry.details["email"] == ["urgent-action@ohchr.org", "New.Address@ohchr.org"]
    assert entry.details["unverified"] is True


def test_an_edit_over_a_newer_one_is_refused_and_keeps_what_was_typed(app: Any) -> None:
    client, token = signed_in(app, "editor")
    the_official = official("coe-pace-president")
    opened = re.search(r'name="opened" value="([0-9a-f]+)"',
                       page_of(client.get(f"/admin/targets/{the_official.id}/edit")))
    assert opened
    the_official.holder = "Saved by someone else"
    db.session.commit()
    reply = client.post(f"/admin/targets/{the_official.id}/edit", data={
        **form_for(the_official, holder="Mine"), "csrf_token": token, "opened": opened.group(1)})
    assert reply.status_code == 422
    assert "Someone else saved this official" in page_of(reply)
    assert 'value="Mine"' in page_of(reply)
    assert official("coe-pace-president").holder == "Saved by someone else"


def test_edits_are_kept_until_the_files_entry_changes(app: Any, tmp_path: Path) -> None:
    client, token = signed_in(app, "editor")
    the_official = official("coe-secretary-general")
    fingerprint = re.search(r'name="opened" value="([0-9a-f]+)"',
                            page_of(client.get(f"/admin/targets/{the_official.id}/edit")))
    assert fingerprint
    client.post(f"/admin/targets/{the_official.id}/edit", data={
        **form_for(the_official, holder="A. Organizer's Edit"), "csrf_token": token,
        "opened": fingerprint.group(1)})
    assert official("coe-secretary-general").file_hash == the_official.file_hash
    load_data(ROOT / "targets", ROOT / "templates")  # `advocacy init` again, files unchanged
    assert official("coe-secretary-general").holder == "A. Organizer's Edit"

    files = tmp_path / "targets"
    shutil.copytree(ROOT / "targets", files)
    coe = (files / "coe.toml").read_text(encoding="utf-8")
    entry = coe.index('key = "coe-secretary-general"')
    changed = re.sub(r'holder = "[^"]*"', 'holder = "From the file"', coe[entry:], count=1)
    coe = coe[:entry] + changed
    (files / "coe.toml").write_text(coe, encoding="utf-8")
    load_data(files, ROOT / "templates")
    assert official("coe-secretary-general").holder == "From the file"  # a changed entry wins


# --- verification -------------------------------------------------------------------------

def test_verifying_records_who_and_when_and_releases_what_waited(app: Any) -> None:
    client, token = signed_in(app, "editor")
    [letter_id] = seed_queued(1, "gov", "FI")  # Finland's ministry takes e-mail
    letter = db.session.get_one(Letter, letter_id)
    letter.status, letter.hold_reason = LetterStatus.HELD, HoldReason.UNVERIFIED
    db.session.commit()
    the_official = official("gov-fi-foreign-minister")
    assert the_official.verified is False
    before = clock.now()
    reply = client.post(f"/admin/targets/{the_official.id}/verified",
                        data={"csrf_token": token, "verified": "yes"}, follow_redirects=True)
    assert "kirjaamo.um@gov.fi is verified, by you, now. Released: 1 letter" in page_of(reply)
    the_official = official("gov-fi-foreign-minister")
    assert the_official.verified and the_official.verified_by == PEOPLE["editor"]
    assert the_official.verified_at
    assert before <= the_official.verified_at <= clock.now() + timedelta(seconds=1)
    assert db.session.get_one(Letter, letter_id).status == LetterStatus.QUEUED
    listed = page_of(client.get("/admin/targets?q=kirjaamo.um@gov.fi"))
    assert f"yes, by {PEOPLE['editor']}, {the_official.verified_at:%Y-%m-%d %H:%M} UTC" in listed
    [entry] = audit("verify official")
    assert entry.details == {"email": "kirjaamo.um@gov.fi", "source": the_official.source,
                             "released": 1, "address_set_by": ""}  # from the targets file

    reply = client.post(f"/admin/targets/{the_official.id}/verified",
                        data={"csrf_token": token, "verified": "no"}, follow_redirects=True)
    assert "no longer verified" in page_of(reply)
    the_official = official("gov-fi-foreign-minister")
    assert (the_official.verified, the_official.verified_by,
            the_official.verified_at) == (False, None, None)
    assert len(audit("unverify official")) == 1

    no_email = official("coe-secretary-general")
    reply = client.post(f"/admin/targets/{no_email.id}/verified",
                        data={"csrf_token": token, "verified": "yes"}, follow_redirects=True)
    assert "this official has none" in page_of(reply)
    assert official("coe-secretary-general").verified is False


def edit_address(client: Any, token: str, key: str, email: str) -> None:
    the_official = official(key)
    opened = re.search(r'name="opened" value="([0-9a-f]+)"',
                       page_of(client.get(f"/admin/targets/{the_official.id}/edit")))
    assert opened
    assert client.post(f"/admin/targets/{the_official.id}/edit", data={
        **form_for(the_official, email=email), "csrf_token": token,
        "opened": opened.group(1)}).status_code == 302


def test_whoever_set_an_address_cannot_also_verify_it(app: Any) -> None:
    """Four eyes: one slip, or one stolen account, must not send letters to a wrong address."""
    editor, token = signed_in(app, "editor")
    edit_address(editor, token, "un-sr-torture", "new.address@ohchr.org")
    the_official = official("un-sr-torture")
    page = page_of(editor.get(f"/admin/targets/{the_official.id}"))
    assert "You set this address, so someone else verifies it" in page
    assert "verify it</button>" not in page
    reply = editor.post(f"/admin/targets/{the_official.id}/verified",
                        data={"csrf_token": token, "verified": "yes"}, follow_redirects=True)
    assert "another editor or an owner checks it against its source" in page_of(reply)
    assert official("un-sr-torture").verified is False
    assert audit("verify official") == []

    owner, owner_token = signed_in(app, "owner")
    assert "verify it</button>" in page_of(owner.get(f"/admin/targets/{the_official.id}"))
    reply = owner.post(f"/admin/targets/{the_official.id}/verified",
                       data={"csrf_token": owner_token, "verified": "yes"},
                       follow_redirects=True)
    assert "is verified, by you, now" in page_of(reply)
    assert official("un-sr-torture").verified_by == PEOPLE["owner"]
    [entry] = audit("verify official")
    assert entry.organizer_email == PEOPLE["owner"]
    assert entry.details["address_set_by"] == PEOPLE["editor"]

    # The owner changes it in turn: now the editor may verify it, the owner may not.
    edit_address(owner, owner_token, "un-sr-torture", "third.address@ohchr.org")
    assert owner.post(f"/admin/targets/{the_official.id}/verified", data={
        "csrf_token": owner_token, "verified": "yes"}).status_code == 302
    assert official("un-sr-torture").verified is False
    editor.post(f"/admin/targets/{the_official.id}/verified",
                data={"csrf_token": token, "verified": "yes"})
    assert official("un-sr-torture").verified_by == PEOPLE["editor"]


def test_an_address_imported_is_verified_by_someone_else_than_the_importer(app: Any) -> None:
    editor, token = signed_in(app, "editor")
    torture = official("un-sr-torture")
    row = {**row_of_official(torture), "email": "imported@ohchr.org"}
    preview = upload(editor, token, csv_of([row]), "officials.csv")
    assert editor.post("/admin/targets/import/apply", data={
        "csrf_token": token, "token": apply_token(page_of(preview))}).status_code == 302
    assert official("un-sr-torture").email == "imported@ohchr.org"
    editor.post(f"/admin/targets/{torture.id}/verified",
                data={"csrf_token": token, "verified": "yes"})
    assert official("un-sr-torture").verified is False
    owner, owner_token = signed_in(app, "owner")
    owner.post(f"/admin/targets/{torture.id}/verified",
               data={"csrf_token": owner_token, "verified": "yes"})
    assert official("un-sr-torture").verified_by == PEOPLE["owner"]


# --- deactivation -------------------------------------------------------------------------

def letters_in_every_state(official_key: str) -> dict[str, int]:
    """One letter to the official in each state (and queued letters to another official)."""
    ids = seed_queued(len(LetterStatus), "un")
    the_official = official(official_key)
    mine = [db.session.get_one(Letter, i) for i in ids
            if db.session.get_one(Letter, i).target_id == the_official.id]
    for letter, status in zip(mine, LetterStatus, strict=True):
        letter.status = status
        if status == LetterStatus.HELD:
            letter.hold_reason, letter.not_before = HoldReason.WINDOW, clock.now()
    db.session.commit()
    return {status: letter.id for letter, status in zip(mine, LetterStatus, strict=True)}


def test_deactivating_cancels_exactly_the_letters_not_yet_sent(app: Any) -> None:
    client, token = signed_in(app, "editor")
    by_state = letters_in_every_state("un-wgad")
    the_official = official("un-wgad")
    page = page_of(client.get(f"/admin/targets/{the_official.id}"))
    assert "Deactivate and cancel 3 letters" in page
    assert "/admin/moderation?official=un-wgad" in page  # its held and needs-review letters
    reply = client.post(f"/admin/targets/{the_official.id}/active", data={
        "csrf_token": token, "active": "no", "reason": "office  closed"}, follow_redirects=True)
    page = page_of(reply)
    assert "un-wgad is inactive. Cancelled: 3 letters not yet sent to it." in page
    assert "Left alone: 1 letter being sent at that moment" in page
    db.session.expire_all()
    after = {state: db.session.get_one(Letter, i) for state, i in by_state.items()}
    for state in ("unconfirmed", "queued", "held"):
        assert after[state].status == LetterStatus.CANCELLED, state
        assert after[state].moderation_note == (
            f"cancelled: {PEOPLE['editor']} deactivated the official (office closed)")
        assert after[state].hold_reason is None
    for state in ("sending", "sent", "failed", "needs_review", "cancelled"):
        assert after[state].status == state and after[state].moderation_note is None
    others = db.session.scalars(select(Letter.status).where(
        Letter.target_id == official("un-sr-torture").id)).all()
    assert set(others) == {LetterStatus.QUEUED}
    [entry] = audit("deactivate official")
    assert entry.details == {"cancelled": 3, "left_sending": 1, "reason": "office closed"}
    assert official("un-wgad").active is False

    reply = client.post(f"/admin/targets/{the_official.id}/active",
                        data={"csrf_token": token, "active": "yes"}, follow_redirects=True)
    assert "Letters cancelled before stay cancelled (4)" in page_of(reply)
    db.session.expire_all()
    assert db.session.get_one(Letter, by_state["queued"]).status == LetterStatus.CANCELLED
    assert official("un-wgad").active is True and len(audit("reactivate official")) == 1


# --- import -------------------------------------------------------------------------------

def csv_of(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client: Any, token: str, content: bytes, name: str) -> Any:
    return client.post("/admin/targets/import", data={
        "csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def apply_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def snapshot() -> list[dict[str, str]]:
    db.session.expire_all()
    return [row_of_official(t) | {"verified": str(t.verified)}
            for t in db.session.scalars(select(Official).order_by(Official.key))]


def test_a_csv_import_previews_then_applies_exactly_that(app: Any) -> None:
    verified_as_a_file_may("un-sr-torture", "un-wgad")
    client, token = signed_in(app, "editor")
    torture, wgad = official("un-sr-torture"), official("un-wgad")
    new = {**GOOD_NEW, "postal_address": "Largo do Rilvas\n1399-030 Lisboa"}
    rows = [row_of_official(wgad),  # unchanged and verified: stays verified
            {**row_of_official(torture), "holder": "Alice Edwards"},  # changed: unverified
            new]
    before = snapshot()
    reply = upload(client, token, csv_of(rows, ";"), "officials.csv")
    page = page_of(reply)
    assert reply.status_code == 200
    assert "1 to add, 1 to change, 1 unchanged, 0 problems" in page
    assert re.search(r"<td>holder</td><td class=\"old\">Alice Jill Edwards</td>"
                     r"<td class=\"new\">Alice Edwards</td>", page)
    assert "Verified now: changed by the import, it must be verified again" in page
    assert snapshot() == before  # a preview saves nothing

    reply = client.post("/admin/targets/import/apply", data={
        "csrf_token": token, "token": apply_token(page)}, follow_redirects=True)
    assert "Imported officials.csv: 1 added, 1 changed, 1 unchanged" in page_of(reply)
    twice = client.post("/admin/targets/import/apply", data={
        "csrf_token": token, "token": apply_token(page)})
    assert twice.status_code == 409 and "was it applied already?" in page_of(twice)
    torture, wgad = official("un-sr-torture"), official("un-wgad")
    assert torture.holder == "Alice Edwards" and torture.verified is False
    assert wgad.verified is True
    added = official("gov-pt-state-secretary")
    assert added.verified is False and added.file_hash is None and added.body.slug == "gov"
    [entry] = audit("import officials")
    assert entry.subject == "officials.csv" and entry.organizer_email == PEOPLE["editor"]
    assert entry.details == {"added": ["gov-pt-state-secretary"],
                             "changed": {"un-sr-torture": ["holder"]}, "unchanged": 1}


def test_a_targets_file_imports_and_never_verifies(app: Any) -> None:
    verified_as_a_file_may("un-sr-torture", "un-wgad")
    client, token = signed_in(app, "editor")
    # The shipped UN file with one more office, marked verified in the file, and one change.
    text = (ROOT / "targets" / "un.toml").read_text(encoding="utf-8")
    wgad = text.rindex("[[target]]", 0, text.index('key = "un-wgad"'))
    copy = text[wgad:text.index("[[target]]", wgad + 1)].replace(
        'key = "un-wgad"', 'key = "un-wgad-copy"').replace("verified = false", "verified = true")
    assert "verified = true" in copy
    text = text.replace('timezone = "Europe/Zurich"', 'timezone = "Europe/Paris"', 1) + copy
    reply = upload(client, token, text.encode(), "un-update.toml")
    page = page_of(reply)
    assert reply.status_code == 200, page
    assert "1 to add, 1 to change, 5 unchanged" in page
    assert re.search(r"<td>timezone</td><td class=\"old\">Europe/Zurich</td>"
                     r"<td class=\"new\">Europe/Paris</td>", page)
    reply = client.post("/admin/targets/import/apply", data={
        "csrf_token": token, "token": apply_token(page)}, follow_redirects=True)
    assert "1 added, 1 changed, 5 unchanged" in page_of(reply)
    added = official("un-wgad-copy")
    assert added.email == "hrc-wg-ad@un.org" and added.verified is False
    changed = official("un-sr-torture")
    assert changed.timezone == "Europe/Paris" and changed.verified is False
    assert official("un-wgad").verified is True  # unchanged: keeps its verification


def test_a_broken_file_lists_every_problem_and_saves_nothing(app: Any) -> None:
    client, token = signed_in(app, "editor")
    rows = [
        GOOD_NEW,
        {**GOOD_NEW, "key": "gov-x1", "timezone": "Mars/Olympus"},
        {**GOOD_NEW, "key": "gov-x2", "salutation_de": ""},
        {**GOOD_NEW, "key": "gov-pt-state-secretary"},
        {**GOOD_NEW, "key": "nato-x", "body": "nato"},
        {**GOOD_NEW, "key": "gov-x3", "country": ""},
    ]
    before = snapshot()
    reply = upload(client, token, csv_of(rows), "broken.csv")
    page = page_of(reply)
    assert reply.status_code == 422 and 'id="apply"' not in page
    problems = re.findall(r"<tr><td>(row \d+)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>"
                          r"<td[^>]*>([^<]*)</td></tr>", page)  # (labelled cells: cards)
    assert problems == [
        ("row 3", "gov-x1", "timezone", "unknown IANA time zone &#39;Mars/Olympus&#39;"),
        ("row 4", "gov-x2", "salutation", "missing for de"),
        ("row 5", "gov-pt-state-secretary", "key", "already in row 2"),
        ("row 6", "nato-x", "body", "must be one of coe, eu, gov, un"),
        ("row 7", "gov-x3", "country", "required: this group is chosen by country"),
    ]
    # A broken preview offers no button; even its signed upload, sent back, saves nothing.
    text = csv_of(rows).decode()
    signed = official_import.token_for(official_import.plan("broken.csv", text), text)
    reply = client.post("/admin/targets/import/apply", data={"csrf_token": token,
                                                             "token": signed})
    assert reply.status_code == 422 and "Nothing was saved" in page_of(reply)

    header = b"key,body,office,phone\ngov-x,gov,Office,123\n"
    page = page_of(upload(client, token, header, "columns.csv"))
    assert ('<td>row 1</td><td data-label="Key"></td><td data-label="Field">phone</td>'
            '<td data-label="Reason">unknown column</td>') in page
    assert ('<td>row 1</td><td data-label="Key"></td><td data-label="Field">timezone</td>'
            '<td data-label="Reason">missing column</td>') in page
    page = page_of(upload(client, token, b"[[target]\nkey = 1", "broken.toml"))
    assert "not valid TOML" in page
    page = page_of(upload(client, token, "key;body\né".encode("latin-1"), "latin.csv"))
    assert "not UTF-8" in page
    page = page_of(upload(client, token, b"key", "officials.xlsx"))
    assert "Upload a .csv file or a .toml file" in page
    too_big = upload(client, token, b"#" * (MAX_BYTES + 1), "big.toml")
    assert too_big.status_code == 422 and "larger than 256 KB" in page_of(too_big)
    far_too_big = client.post("/admin/targets/import", data=b"-" * (3 * MAX_BYTES),
                              content_type="multipart/form-data; boundary=x")
    assert far_too_big.status_code == 413 and "256 KB" in page_of(far_too_big)
    assert snapshot() == before


def test_a_header_wider_than_the_cap_is_refused_and_says_the_cap(app: Any) -> None:
    client, token = signed_in(app, "editor")
    extra = [f"extra{i}" for i in range(MAX_COLUMNS - len(COLUMNS))]
    at_the_cap = ",".join([*COLUMNS, *extra]).encode() + b"\n"
    reply = upload(client, token, at_the_cap, "wide.csv")  # read, its columns each named
    assert reply.status_code == 422
    assert page_of(reply).count("unknown column") == len(extra)
    for width in (MAX_COLUMNS + 1, 16_000):  # 16,000 columns took seconds to be refused
        header = ",".join([*COLUMNS, *(f"x{i}" for i in range(width - len(COLUMNS)))])
        reply = upload(client, token, header.encode() + b"\n", "wide.csv")
        page = page_of(reply)
        assert reply.status_code == 422
        assert f"The first row has {width} columns; an import has at most {MAX_COLUMNS}" in page
        assert "unknown column" not in page  # one message, not a line per column


def test_the_header_check_grows_with_the_header_not_its_square() -> None:
    """Counted, not timed: every comparison between two column names is seen."""
    compared = 0

    class Name(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:
            nonlocal compared
            compared += 1
            return str.__eq__(self, other)

    width = 3000  # beyond the cap: the check alone, as if the cap were raised
    header = [Name(f"column-{i}") for i in range(width)] + [Name("key"), Name("key")]
    problems = official_import.header_problems(header)
    assert sum(p.reason == "unknown column" for p in problems) == width
    assert [p.field for p in problems if p.reason == "the column appears twice"] == ["key"]
    # Linear: a few comparisons per name (hash collisions, the names it must look for), where
    # comparing each name with every other would make width² = 9,000,000.
    assert compared <= 2 * (width + len(COLUMNS)), compared


@pytest.mark.parametrize("nested", ["a = " + "[" * 100_000, "a = " + "{b=" * 50_000,
                                    "[[target]]\nkey = " + "[" * 100_000 + "]" * 100_000])
def test_toml_nested_beyond_the_parser_is_a_problem_not_a_crash(app: Any, nested: str) -> None:
    client, token = signed_in(app, "editor")
    assert len(nested.encode()) <= MAX_BYTES
    reply = upload(client, token, nested.encode(), "deep.toml")
    assert reply.status_code == 422
    assert "nested too deeply" in page_of(reply)


def test_applying_refuses_a_preview_the_database_has_moved_past(app: Any) -> None:
    client, token = signed_in(app, "editor")
    torture = official("un-sr-torture")
    content = csv_of([{**row_of_official(torture), "holder": "From the import"}])
    page = page_of(upload(client, token, content, "one.csv"))
    signed = apply_token(page)
    torture.holder = "Edited meanwhile"
    db.session.commit()
    before = snapshot()
    reply = client.post("/admin/targets/import/apply", data={"csrf_token": token,
                                                             "token": signed})
    page = page_of(reply)
    assert reply.status_code == 409 and "changed since the preview" in page
    assert "Edited meanwhile" in page and snapshot() == before
    # The new preview's own button applies what it shows.
    client.post("/admin/targets/import/apply", data={"csrf_token": token,
                                                     "token": apply_token(page)})
    assert official("un-sr-torture").holder == "From the import"
    forged = client.post("/admin/targets/import/apply", data={
        "csrf_token": token, "token": signed[:-4] + "AAAA"})
    assert forged.status_code == 422 and "cannot be read" in page_of(forged)


# --- escaping -----------------------------------------------------------------------------

def test_html_in_any_field_is_text_on_every_admin_page(app: Any) -> None:
    client, token = signed_in(app, "owner")
    hostile = {name: f"{HOSTILE} {name}" for name in COLUMNS
               if name not in ("key", "body", "holder_gender", "country", "languages",
                               "timezone", "email", "contact_page")}
    fields = {**GOOD_NEW, **hostile, "csrf_token": token}
    assert client.post("/admin/targets/new", data=fields).status_code == 302
    added = official("gov-pt-state-secretary")
    assert added.office == f"{HOSTILE} office"
    bad_key = client.post("/admin/targets/new", data={**fields, "key": HOSTILE,
                                                      "timezone": HOSTILE})
    the_official = official("un-wgad")
    preview = upload(client, token, csv_of([{**row_of_official(the_official), **hostile},
                                            {**GOOD_NEW, "key": HOSTILE}]), f"{HOSTILE}.csv")
    pages = {
        "list": client.get("/admin/targets"),
        "search": client.get(f"/admin/targets?q={HOSTILE}&country={HOSTILE}"),
        "official": client.get(f"/admin/targets/{added.id}"),
        "edit": client.get(f"/admin/targets/{added.id}/edit"),
        "bad key": bad_key,
        "preview": preview,
        "audit": client.get("/admin/audit"),
    }
    for name, reply in pages.items():
        page = page_of(reply)
        assert "<script>alert(1)" not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
