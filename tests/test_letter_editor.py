"""/admin/letters: the editor, versions, diffs, rollback, the test email, subject variants."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.campaigns.settings import find_campaign
from advocacy.delivery.queue import enqueue_letters
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters.render import choose_subject
from advocacy.letters.versions import current_template
from advocacy.models import AuditEntry, Body, Letter, LetterTemplate, Organizer

from helpers import PEOPLE, csrf, log_in, seed_queued, work

UN_EN = "/admin/letters/free-azat-miftakhov/un/en"
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def current(body: str = "un", language: str = "en") -> LetterTemplate:
    db.session.expire_all()
    campaign = find_campaign(None)
    body_row = db.session.scalars(select(Body).where(Body.slug == body)).one()
    assert campaign is not None
    template = current_template(campaign, body_row, language)
    assert template is not None
    return template


def versions() -> int:
    return int(db.session.scalar(select(func.count()).select_from(LetterTemplate)) or 0)


def form_of(template: LetterTemplate, **changes: str) -> dict[str, str]:
    """The editor's fields as a browser sends them (CRLF line ends), with some changed."""
    data = {"subject": template.subject, "default_salutation": template.default_salutation,
            "body": template.text.replace("\n", "\r\n"),
            "subject_variants": "\r\n".join(template.subject_variants),
            "suggested_note": template.suggested_note, "base_version": str(template.version),
            "official": "un-wgad", "action": "save",
            **{f"ask-{key}": ask for key, ask in (template.asks or {}).items()}}
    return {**data, **changes}


@pytest.fixture
def editor(app: Any, people: dict[str, Organizer]) -> Any:
    client = app.test_client()
    log_in(client, PEOPLE["editor"])
    client.token = csrf(client, UN_EN)
    return client


def save(client: Any, **changes: str) -> Any:
    return client.post(UN_EN, data={**form_of(current(), **changes), "csrf_token": client.token})


def test_the_list_shows_each_body_and_language_with_its_current_version(
    app: Any, people: dict[str, Organizer]
) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    page = client.get("/admin/letters").data.decode()
    assert "Free Azat Miftakhov" in page and "United Nations" in page
    assert page.count(">Open<span") == 28  # 4 bodies x 7 languages, all from the files
    assert 'href="/admin/letters/free-azat-miftakhov/gov/ru"' in page
    assert 'href="/admin/letters"' in client.get("/admin/").data.decode()  # in the nav


def test_a_viewer_reads_the_letter_but_cannot_change_it(
    app: Any, people: dict[str, Organizer]
) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    page = client.get(UN_EN).data.decode()
    assert "torture allegations, urgent appeal" in page and "<fieldset disabled>" in page
    assert 'value="save"' not in page and "Bring back" not in page
    assert "Azat Miftakhov" in page  # the preview, rendered
    token = csrf(client, UN_EN)
    assert client.post(UN_EN, data={**form_of(current()), "csrf_token": token}
                       ).status_code == 403


def test_saving_makes_a_version_with_its_author_and_unchanged_text_makes_none(
    editor: Any
) -> None:
    before, count = current(), versions()
    reply = save(editor)  # exactly what the page showed, with the browser's CRLF
    assert reply.status_code == 302
    assert "Nothing changed" in editor.get(UN_EN).data.decode()
    assert versions() == count

    reply = save(editor, subject="Urgent: Azat Miftakhov", subject_variants="Second subject\r\n\r\n"
                 "Third subject\r\nUrgent: Azat Miftakhov", suggested_note="I teach maths.")
    assert reply.status_code == 302
    after = current()
    assert after.version == before.version + 1 and versions() == count + 1
    assert (after.origin, after.author) == ("organizer", PEOPLE["editor"])
    assert after.subject_variants == ["Second subject", "Third subject"]  # blank, repeat gone
    assert after.text == before.text and after.suggested_note == "I teach maths."
    assert after.created_at is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "save letter")).one()
    assert entry.organizer_email == PEOPLE["editor"]
    assert entry.subject == "free-azat-miftakhov/un/en" and entry.details == {
        "version": after.version}
    page = editor.get(UN_EN).data.decode()
    assert f"Saved as version {after.version}" in page
    assert f"Version {after.version}</strong> (current), by {PEOPLE['editor']}" in page


def test_each_version_shows_its_changes_and_rollback_brings_an_old_one_back(
    editor: Any
) -> None:
    first = current()
    save(editor, body=first.text.replace("Yours sincerely,", "With respect,"))
    edited = current()
    page = editor.get(UN_EN).data.decode()
    assert "<del>Yours sincerely,</del>" in page  # word by word, side by side
    assert "<ins>With respect,</ins>" in page

    rollback = f"/admin/letters/versions/{first.id}/rollback"
    reply = editor.post(rollback, data={"csrf_token": editor.token})
    assert reply.status_code == 302 and reply.headers["Location"].endswith(UN_EN)
    back = current()
    assert back.version == edited.version + 1 and back.id not in (first.id, edited.id)
    assert (back.subject, back.text, back.default_salutation) == (
        first.subject, first.text, first.default_salutation)
    assert back.author == PEOPLE["editor"] and back.origin == "organizer"
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "roll back letter")).one()
    assert entry.details == {"to_version": first.version, "version": back.version}
    assert f"Version {first.version} is back" in editor.get(UN_EN).data.decode()
    # Bringing back what is already current adds nothing.
    editor.post(rollback, data={"csrf_token": editor.token})
    assert current().id == back.id
    assert "already the current text" in editor.get(UN_EN).data.decode()


@ONE_DATABASE  # refusing is the same on both; saving is tested on both above
@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"body": "{{ salutation }\n"}, "body", "syntax error on line 1"),
    ({"body": "Dear {{ supporter.nom }},"}, "body", "unknown placeholder supporter.nom"),
    ({"subject": "About {{ prisoner }}"}, "subject", "unknown placeholder prisoner"),
    ({"subject_variants": "Fine\r\n{{ 7 * 7 }}"}, "subject_variants", "arithmetic (*)"),
    ({"body": "{% for x in range(99999999) %}x{% endfor %}"}, "body", "a loop"),
    ({"body": "{{ official.office }}" * 900}, "body", "too long"),
    ({"subject": ""}, "subject", "required"),
    # (NUL never gets this far: every form refuses it at the door, see advocacy/guards.py.)
    ({"default_salutation": "Dear\u0007Sir"}, "default_salutation", "Control characters"),
    ({"suggested_note": "x" * 2001}, "suggested_note", "At most 2000"),
])
def test_a_letter_that_does_not_render_is_not_saved_and_the_page_says_why(
    editor: Any, changes: dict[str, str], field: str, reason: str
) -> None:
    count, before = versions(), current()
    reply = save(editor, **changes)
    page = reply.data.decode()
    assert reply.status_code == 422 and "Not saved" in page
    assert reason in re.search(rf'id="{field}-error">([^<]*)<', page).group(1)  # type: ignore[union-attr]
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    # What was typed is still there.
    typed = next(iter(changes.values())).replace("\r\n", "\n").strip()[:40]
    assert str(escape(typed)) in page
    assert versions() == count and current().id == before.id


def escape(text: str) -> str:
    from markupsafe import escape as markup_escape

    return str(markup_escape(text))


def test_the_huge_letter_is_refused_for_its_length(app: Any) -> None:
    from advocacy.letters.render import LetterRenderError, letter_context, render_letter

    context = letter_context(
        official={"office": "O" * 300, "salutations": {}}, personal_note="",
        supporter={"name": "N", "city": "C", "country": "FR"}, campaign_name="C",
        language="en", default_salutation="Hello,")
    with pytest.raises(LetterRenderError, match="too long"):
        render_letter("S", "{{ official.office }}" * 200, context)


def test_a_stale_page_cannot_overwrite_a_colleagues_version(
    app: Any, editor: Any, people: dict[str, Organizer]
) -> None:
    stale = form_of(current(), subject="My subject")
    owner = app.test_client()
    log_in(owner, PEOPLE["owner"])
    owner.post(UN_EN, data={**form_of(current(), subject="Owner's subject"),
                            "csrf_token": csrf(owner, UN_EN)})
    reply = editor.post(UN_EN, data={**stale, "csrf_token": editor.token})
    page = reply.data.decode()
    assert reply.status_code == 409 and f"saved by {PEOPLE['owner']}" in page
    assert 'value="My subject"' in page  # the typed text is kept
    assert current().subject == "Owner's subject"


def test_the_preview_shows_exactly_the_email_for_the_chosen_official(editor: Any) -> None:
    data = {**form_of(current(), subject="For {{ official.office }}",
                      subject_variants="Second {{ campaign.name }}",
                      suggested_note="I teach mathematics."),
            "official": "un-wgad", "csrf_token": editor.token}
    reply = editor.post(UN_EN + "/preview", data=data)
    part = reply.json
    assert reply.status_code == 200 and part["ok"] is True
    html = part["html"]
    assert "Working Group on Arbitrary Detention &lt;hrc-wg-ad@un.org&gt;" in html
    assert "Alex Example via Free Azat Miftakhov &lt;letters@campaign.test&gt;" in html
    assert "For Working Group on Arbitrary Detention" in html
    assert "Second Free Azat Miftakhov" in html
    assert "Dear Members of the Working Group," in html and "I teach mathematics." in html
    assert versions() == 28  # nothing saved
    broken = editor.post(UN_EN + "/preview", data={**data, "body": "{{ lipsum() }}"}).json
    assert broken["ok"] is False and "function or method call" in broken["html"]
    # Without JavaScript: the Preview button posts the form and gets the page back.
    page = editor.post(UN_EN, data={**data, "action": "preview"}).data.decode()
    assert "For Working Group on Arbitrary Detention" in page and versions() == 28


SSTI = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ supporter|attr('__class__') }}",
    "{{ supporter.name|attr('__class__') }}",
    "{{ '%s'|format(supporter.__class__) }}",
    "{{ '%999999999s'|format('x') }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ '{0.__class__}'.format(supporter) }}",
    "{{ range(10**9)|list }}",
    "{{ 'a'*10**9 }}",
    "{% for x in range(99999999) %}x{% endfor %}",
    "{% for a in supporter.name %}{% for b in supporter.name %}x{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{{ lipsum(99999) }}",
    "{{ namespace(a=1) }}",
    "{{ joiner('x') }}",
    "{{ dict(a=1) }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request }}",
    "{{ request.environ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{% set x = supporter.name %}{{ x }}",
    "{% include 'admin/base.html' %}",
    "{% extends 'admin/base.html' %}",
    "{% import 'admin/base.html' as m %}",
    "{{ supporter.update({'name': 'x'}) }}",
    "{{ supporter['__class__'] }}",
    "{{ official.office.__class__ }}",
    "{{ (" * 2000 + "1" + ") }}" * 2000,
]


@ONE_DATABASE
def test_template_injection_is_refused_with_a_reason_and_nothing_saved(editor: Any) -> None:
    count = versions()
    for payload in SSTI:  # one app for all of them: each is a request, not a database
        reply = save(editor, body=f"{{{{ salutation }}}}\n\n{payload}\n")
        assert reply.status_code == 422, payload
        reason = re.search(r'id="body-error">([^<]*)<', reply.data.decode())
        assert reason and "Does not render" in reason.group(1), payload
        # The live preview says the same, and renders nothing of it.
        part = editor.post(UN_EN + "/preview", data={**form_of(current(), body=payload),
                                                     "csrf_token": editor.token}).json
        assert part["ok"] is False and "class '" not in part["html"], payload
    assert versions() == count


@ONE_DATABASE
def test_what_the_supporter_types_stays_inert(editor: Any) -> None:
    """The placeholders carry data, never template code."""
    from advocacy.letters.render import letter_context, render_letter

    source = current().text
    context = letter_context(
        official={"office": "{{ config }}", "salutations": {}},
        supporter={"name": "{{ ''.__class__ }}", "city": "{% for x in range(9) %}",
                   "country": "FR"},
        personal_note="{{ cycler.__init__.__globals__ }}", campaign_name="C", language="en",
        default_salutation="{{ request }}")
    body = render_letter("S", source, context).body
    assert "{{ ''.__class__ }}" in body and "{{ cycler.__init__.__globals__ }}" in body
    assert "{{ request }}" in body and "<class" not in body


def test_markup_typed_in_the_letter_is_escaped_in_the_admin_and_plain_in_the_email(
    app: Any, editor: Any, sink: Sink
) -> None:
    script = "<script>alert('x')</script>"
    reply = save(editor, subject=f"Appeal {script}", suggested_note=f"Note {script}",
                 body=current().text.replace("Yours sincerely,", f"<b>Yours</b> {script}"))
    assert reply.status_code == 302
    for page in (editor.get(UN_EN).data.decode(), editor.get("/admin/letters").data.decode(),
                 editor.post(UN_EN + "/preview", data={**form_of(current()),
                                                       "csrf_token": editor.token}).json["html"]):
        assert "<script>alert" not in page and "<b>Yours" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in editor.get(UN_EN).data.decode()

    editor.post(UN_EN + "/test", data={"csrf_token": editor.token, "official": "un-wgad"})
    work(app)
    [mail] = [m.message() for m in sink.received]
    assert mail.get_content_type() == "text/plain"
    assert mail["Subject"] == f"[TEST] Appeal {script}"
    text = mail.get_content()
    assert f"<b>Yours</b> {script}" in text and f"Note {script}" in text


def test_send_me_a_test_goes_to_the_organizer_alone_through_the_queue(
    app: Any, editor: Any, sink: Sink
) -> None:
    save(editor, subject_variants="Another subject for {{ official.office }}")
    version = current()
    reply = editor.post(UN_EN + "/test", data={"csrf_token": editor.token,
                                                "official": "un-sr-torture"})
    assert reply.status_code == 302
    assert "is on its way to editor@campaign.test" in editor.get(UN_EN).data.decode()
    assert sink.received == []  # nothing in the request: the worker sends it
    work(app)
    [received] = sink.received
    assert received.rcpt_tos == [PEOPLE["editor"]]
    mail = received.message()
    assert mail["To"] == PEOPLE["editor"]
    assert mail["Subject"] == "[TEST] Azat Miftakhov (Russia): torture allegations, urgent appeal"
    text = mail.get_content()
    assert "urgent-action@ohchr.org" in text and "sent to you only" in text
    assert "Another subject for Special Rapporteur on torture" in text
    assert "Dear Madam Special Rapporteur," in text and "Alex Example" in text
    assert "ohchr.org" not in "".join(m.rcpt_tos[0] for m in sink.received)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "send test letter")).one()
    assert entry.details == {"version": version.version, "official": "un-sr-torture",
                             "to": PEOPLE["editor"]}
    # An official of another body is refused, and nothing is queued.
    editor.post(UN_EN + "/test", data={"csrf_token": editor.token,
                                        "official": "coe-commissioner-human-rights"})
    assert "Choose one of this body&#39;s officials" in editor.get(UN_EN).data.decode()
    work(app)
    assert len(sink.received) == 1


def test_each_letter_takes_one_subject_by_its_id_and_keeps_it(
    app: Any, editor: Any, sink: Sink
) -> None:
    from advocacy.letters.compose import compose, load

    subjects = ["Subject A for {{ supporter.name }}", "Subject B", "Subject C"]
    save(editor, subject=subjects[0], subject_variants="\r\n".join(subjects[1:]))
    ids = seed_queued(12)
    enqueue_letters(ids)
    work(app)
    got = {int(m.message()["Message-ID"].split("-")[1].split("@")[0]): m.message()["Subject"]
           for m in sink.received}
    assert sorted(got) == sorted(ids)
    for letter_id, subject in got.items():
        chosen = choose_subject(subjects[0], subjects[1:], str(letter_id))
        assert subject == chosen.replace("{{ supporter.name }}", subject.split(" for ")[-1])
    assert len({s[:9] for s in got.values()}) == 3  # all three are used
    # Composing again (a retry) gives the same subject.
    for row in load(ids[:4]):
        again = compose(row).data.decode()
        assert f"Subject: {got[row.id]}" in again


def test_a_digest_takes_one_subject_by_its_key(
    app: Any, editor: Any, sink: Sink, fake_now: Any
) -> None:
    from advocacy.delivery.reconcile import reconcile
    from advocacy.organizers.controls import set_digest, set_limits

    save(editor, subject="Subject A", subject_variants="Subject B\r\nSubject C")
    fake_now.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday, 10:00 in Geneva
    set_limits(None, {"per_official_day": "1/day", "window": None})
    set_digest("un-sr-torture", True)
    enqueue_letters(seed_queued(3))
    work(app)
    keys = set(db.session.scalars(select(Letter.digest_key).where(
        Letter.digest_key.is_not(None))))
    assert len(keys) == 1
    fake_now.set(datetime(2026, 11, 24, 19, 0, 1, tzinfo=UTC))
    reconcile()
    work(app)
    [digest] = [m.message() for m in sink.received if "today)" in m.message()["Subject"]]
    expected = choose_subject("Subject A", ["Subject B", "Subject C"], keys.pop())
    assert digest["Subject"] == f"{expected} (2 supporters today)"


def test_choose_subject_is_stable_and_spreads() -> None:
    options = ["A", ["B", "C", "  "]]
    picks = Counter(choose_subject(options[0], options[1], str(i)) for i in range(3000))  # type: ignore[arg-type]
    assert set(picks) == {"A", "B", "C"} and min(picks.values()) > 900
    assert choose_subject("A", ["B", "C"], "42") == choose_subject("A", ["B", "C"], "42")
    assert choose_subject("A", [], "42") == "A"
    # Consecutive ids (one supporter's letters to two officials) do not fall into step.
    pairs = {(choose_subject("A", ["B"], str(i)), choose_subject("A", ["B"], str(i + 1)))
             for i in range(0, 40, 2)}
    assert len(pairs) > 2


def test_the_organizers_ideas_are_offered_under_the_paragraph_never_filled_in(
    client: Any, editor: Any
) -> None:
    save(editor, suggested_note="As a teacher of mathematics, I ask you to act.\r\n\r\n"
                                "I live in [your town] and follow his case.")
    page = client.get("/?lang=en").data.decode()
    # The paragraph is the supporter's: it starts empty, the ideas are listed under it.
    assert re.search(r'<textarea id="personal_note"[^>]*>\s*</textarea>', page)
    ideas = re.search(r'<div id="suggestions">(.*?)</div>', page, re.S)
    assert ideas and "Ideas for your paragraph" in ideas.group(1)
    assert ideas.group(1).count('data-idea="') == 2
    assert 'data-idea="As a teacher of mathematics, I ask you to act."' in ideas.group(1)
    # Another letter has its own ideas (the shipped French ones), none of them filled in.
    french = client.get("/?lang=fr").data.decode()
    assert re.search(r'<textarea id="personal_note"[^>]*>\s*</textarea>', french)
    assert "As a teacher" not in french and 'data-idea="' in french
    part = client.post("/preview", data={"body": "un", "language": "en"}).json
    assert "As a teacher of mathematics" in part["suggestions"]
    assert "As a teacher" not in client.post("/preview", data={"body": "coe", "language": "en"}
                                             ).json["suggestions"]


def test_an_offices_ask_is_edited_versioned_and_rolled_back_like_the_letter(
    editor: Any
) -> None:
    before = current()
    assert dict(before.asks or {})["un-sr-torture"].startswith("I respectfully ask you to send")
    reply = save(editor, **{"ask-un-sr-torture": "Please send an urgent appeal today.",
                            "ask_new_key": "un-sr-russia", "ask_new": ""})
    assert reply.status_code == 302, reply.data.decode()[:3000]
    after = current()
    assert after.version == before.version + 1
    assert after.asks["un-sr-torture"] == "Please send an urgent appeal today."
    assert after.text == before.text and after.asks["default"] == before.asks["default"]
    page = editor.get(UN_EN + "?official=un-sr-torture").data.decode()
    assert "Please send an urgent appeal today." in page  # in its box and in the preview
    assert "Ask for un-sr-torture:" in page  # the version's diff names the office
    # An emptied ask is no ask: that office gets its kind's ("un-sr") or the default again.
    save(editor, **{"ask-un-sr-torture": ""})
    assert "un-sr-torture" not in current().asks
    wrong = save(editor, ask_new_key="Not A Key!", ask_new="x")
    assert wrong.status_code == 422 and "Not an office" in wrong.data.decode()
    rolled = editor.post(f"/admin/letters/versions/{before.id}/rollback",
                         data={"csrf_token": editor.token})
    assert rolled.status_code == 302
    assert current().asks == before.asks
