"""Each office's channels (email, its web contact form, post), shown before anything is typed;
offices that take no email reached by the supporter by hand, counted apart; case-intake inboxes
never a supporter's target (issue 17)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Official, OwnMail
from advocacy.officials.channels import address_lines, by_hand, channels
from advocacy.officials.choose import choose_officials
from advocacy.officials.files import load_officials, read_officials_dir
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.own_mail import by_hand_counts, own_mail_counts

from helpers import (
    ADDRESS,
    FORM_PAGE,
    PEOPLE,
    log_in,
    no_email_group,
    post,
    stored,
    target_entry,
)

WRITER = {"body": "eu", "language": "en", "name": "Jonas Weber", "city": "Leipzig",
          "supporter_country": "DE", "personal_note": "Ich unterrichte Mathematik.",
          "campaign": "free-azat-miftakhov"}


def test_an_office_has_each_channel_it_has_and_is_reached_by_hand_only_without_email() -> None:
    class Office:
        def __init__(self, email: str | None, page: str | None, post: str | None) -> None:
            self.email, self.contact_page, self.postal_address = email, page, post

    assert channels(Office("a@b.org", FORM_PAGE, ADDRESS)) == ["email", "form", "post"]
    assert by_hand(Office("a@b.org", FORM_PAGE, ADDRESS)) == []
    assert channels(Office(None, None, ADDRESS)) == by_hand(Office(None, None, ADDRESS)) == ["post"]
    assert by_hand(Office(None, FORM_PAGE, " \n")) == ["form"]  # a blank address is none
    assert address_lines(ADDRESS) == ["Some Office", "Rue Wiertz 60", "1047 Brussels", "Belgium"]


def test_the_page_shows_each_offices_channels_before_anything_is_typed(client: Any) -> None:
    form_office, post_office = no_email_group()
    text = client.get("/?body=eu").data.decode()
    items = text.split('<ul class="officials">')[1].split("</ul>")[0]
    assert f'data-key="{form_office.key}"' in items and f'data-key="{post_office.key}"' in items
    form_item = items.split(f'data-key="{form_office.key}"')[1].split("</li>")[0]
    post_item = items.split(f'data-key="{post_office.key}"')[1].split("</li>")[0]
    assert "via its contact form" in form_item and "by post" not in form_item
    assert "by post" in post_item and "by email" not in post_item
    # A group without email: no "Send my letters" that could only fail, but the ways it takes.
    assert 'id="send-none"' in text and 'value="send"' not in text
    assert f'value="form:{form_office.key}"' in text and f'value="post:{post_office.key}"' in text
    # A group with email keeps its button and lists its email offices so.
    assert "<h2 id=\"own-title\">Send it yourself</h2>" in text
    un = client.get("/?body=un").data.decode()  # its two inboxes take email in tests
    assert 'value="send"' in un and "by email" in un and 'id="send-none"' not in un
    assert "Or send it yourself" in un


def test_the_live_preview_follows_the_group_with_its_channels_and_send_button(
    client: Any
) -> None:
    form_office, _post = no_email_group()
    part = client.post("/preview", data=WRITER).json
    assert "via its contact form" in part["officials"] and 'id="send-none"' in part["send"]
    assert f'value="form:{form_office.key}"' in part["own_mail"]
    assert 'value="send"' in client.post("/preview", data={**WRITER, "body": "un"}).json["send"]


def test_send_it_yourself_lists_the_offices_of_every_group_ticked(client: Any) -> None:
    """The preview shows one group's letter; the offices to reach by hand are those of every
    group ticked, and each button opens the letter of that office's own group."""
    form_office, post_office = no_email_group()
    coe = db.session.scalars(select(Official).where(Official.body.has(slug="coe"),
                                                    Official.active.is_(True))).first()
    assert coe is not None and not coe.email and by_hand(coe)
    ticked = {**WRITER, "groups_form": "1", "body": "un"}
    page = client.post("/", data={**ticked, "action": "preview", "bodies": ["un", "eu", "coe"]})
    own = page.data.decode().split('id="own-mail"')[1].split("</section>")[0]
    for office in (form_office, post_office, coe):
        assert f':{office.key}"' in own, office.key
    assert "European Union" in own and "Council of Europe" in own  # named by group
    part = client.post("/preview", data={**ticked, "bodies": ["un", "coe"]}).json["own_mail"]
    assert f':{coe.key}"' in part and f':{form_office.key}"' not in part  # only those ticked
    # The CoE office's letter though the preview shows the UN's: the body follows the office.
    letter = client.post("/by-hand", data={**ticked, "by_hand": f"post:{coe.key}"})
    assert letter.status_code == 200
    assert "Ich unterrichte Mathematik." in html.unescape(letter.data.decode())


def test_a_form_office_gets_the_letter_to_copy_and_counts_when_sent(client: Any) -> None:
    form_office, _post = no_email_group()
    page = client.post("/by-hand", data={**WRITER, "by_hand": f"form:{form_office.key}"})
    assert page.status_code == 200
    text = html.unescape(page.data.decode())
    assert "Ich unterrichte Mathematik." in text and "Jonas Weber" in text and "Leipzig" in text
    assert f'href="{FORM_PAGE}" target="_blank" rel="noopener noreferrer"' in text
    assert db.session.scalar(select(OwnMail.id)) is None  # opening is not sending
    sent = client.post("/by-hand/sent", data={"campaign": WRITER["campaign"], "channel": "form",
                                              "key": form_office.key, "language": "en",
                                              "ref": "amnesty-lyon"})
    assert sent.status_code == 200 and "counted" in sent.data.decode()
    rows = [tuple(r) for r in db.session.execute(
        select(OwnMail.channel, OwnMail.target_id, OwnMail.language, OwnMail.ref))]
    assert rows == [("form", form_office.id, "en", "amnesty-lyon")]  # nothing typed is kept
    assert by_hand_counts(Filters()) == {"form": 1, "post": 0}
    assert sum(own_mail_counts(Filters()).values()) == 0  # counted apart from own mail
    assert client.get("/api/stats").json["by_hand"] == {"form": 1, "post": 0}
    assert stored() == (0, 0, 0)


def test_a_post_office_gets_a_printable_letter_with_address_and_date(
    client: Any, fake_now: Any
) -> None:
    fake_now.set(datetime(2026, 12, 4, 10, tzinfo=UTC))
    _form, post_office = no_email_group()
    page = client.post("/by-hand?lang=fr", data={**WRITER, "by_hand": f"post:{post_office.key}"})
    text = html.unescape(page.data.decode())
    block = text.split('<address class="recipient">')[1].split("</address>")[0]
    assert block == "Some Office<br>Rue Wiertz 60<br>1047 Brussels<br>Belgium<br>"
    assert "4 décembre 2026" in text  # the page's language
    assert "Ich unterrichte Mathematik." in text and "Leipzig" in text
    assert client.post("/by-hand/sent", data={"campaign": WRITER["campaign"], "channel": "post",
                                              "key": post_office.key}).status_code == 200
    assert by_hand_counts(Filters()) == {"form": 0, "post": 1}


def test_the_letter_by_hand_says_what_is_not_filled_in_yet(client: Any) -> None:
    _form, post_office = no_email_group()
    whole = client.post("/by-hand", data={**WRITER, "by_hand": f"post:{post_office.key}"})
    assert 'id="gaps"' not in whole.data.decode()
    page = client.post("/by-hand", data={**WRITER, "city": "", "supporter_country": "",
                                         "by_hand": f"post:{post_office.key}"})
    gaps = html.unescape(page.data.decode()).split('id="gaps"')[1].split("</div>")[0]
    assert "[your city], [your country]" in gaps and "[your name]" not in gaps


def test_by_hand_is_only_for_the_channels_an_office_without_email_takes(client: Any) -> None:
    form_office, post_office = no_email_group()
    for choice in (f"post:{form_office.key}", f"form:{post_office.key}", "form:un-sr-torture",
                   f"copy:{form_office.key}", "form:nobody"):
        assert client.post("/by-hand", data={**WRITER, "by_hand": choice}).status_code == 400
        channel, _sep, key = choice.partition(":")
        assert client.post("/by-hand/sent", data={"campaign": WRITER["campaign"],
                                                  "channel": channel,
                                                  "key": key}).status_code == 400
    assert db.session.scalar(select(OwnMail.id)) is None


def test_a_group_without_email_is_refused_with_the_ways_it_takes(client: Any) -> None:
    no_email_group()
    reply = post(client, body="eu", email="jonas@example.org")
    assert reply.status_code == 422
    assert "through their contact pages or by post" in html.unescape(reply.data.decode())


CASE_INTAKE = "\n".join([
    '[body]\nslug = "un"\nname = "United Nations"\n',
    target_entry("un-letters", 'email = "letters@example.org"', "https://example.org/contact",
                 office="An office for letters"),
    target_entry("un-case-intake", 'email = "cases@example.org"',
                 "https://example.org/complaints", more="case_intake = true\n",
                 office="A case-intake inbox"),
])


def test_a_case_intake_inbox_is_loaded_but_never_a_supporters_target(
    app: Any, client: Any, tmp_path: Path, people: Any
) -> None:
    (tmp_path / "un.toml").write_text(CASE_INTAKE, encoding="utf-8")
    [tf] = read_officials_dir(tmp_path)
    assert [t.case_intake for t in tf.target] == [False, True]  # false unless said
    load_officials([tf])
    db.session.commit()
    intake = db.session.scalar(select(Official).where(Official.key == "un-case-intake"))
    assert intake is not None and intake.case_intake
    assert intake.id not in [t.id for t in choose_officials(intake.body)]
    text = html.unescape(client.get("/?body=un").data.decode())
    offices = text.split('<ul class="officials">')[1].split("</ul>")[0]
    assert "An office for letters" in offices and "A case-intake inbox" not in offices
    note = text.split('id="submissions-title"')[1].split("</section>")[0]
    assert "A case-intake inbox" in note and "<form" not in note
    assert 'value="copy:un-case-intake"' not in text
    assert client.post("/own-mail", data={**WRITER, "body": "un",
                                          "own_mail": "copy:un-case-intake"}).status_code == 400
    log_in(client, PEOPLE["viewer"])
    admin = client.get(f"/admin/targets/{intake.id}").data.decode()
    assert 'id="case-intake"' in admin
