"""Helpers the tests share: data to submit, the steps of a supporter's and an organizer's
journey, and ways to look at the database and the queue. Fixtures are in conftest.py; this
module is imported by test modules (none imports another test module).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP, compat32
from email.utils import unquote
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select, update

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Campaign, Letter, LetterStatus, Official, Submission
from advocacy.officials.files import read_officials_dir
from advocacy.reporting import dashboard
from advocacy.reporting.dashboard import Filters

ROOT = Path(__file__).resolve().parent.parent


# --- the database, the queue, the workers -------------------------------------------------

def csrf_token(page: bytes) -> str:
    """The CSRF token in a page's form."""
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1).decode()


def work(app: Any) -> None:
    """Run the queue dry in this process, as `advocacy worker --burst` would."""
    from rq import SimpleWorker

    from advocacy.connections import get_redis
    from advocacy.delivery.queue import get_queue

    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis()).work(burst=True, with_scheduler=True)


def stored() -> tuple[int, int, int]:
    """How many supporters, submissions and letters the database holds."""
    from sqlalchemy import select

    from advocacy.models import Letter, Submission, Supporter

    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Supporter, Submission, Letter)
    )


def seed_queued(supporters: int, body: str = "un", country: str = "") -> list[int]:
    """Confirmed letters from this many supporters to every emailed official of a body."""
    from sqlalchemy import select

    from advocacy import clock
    from advocacy.campaigns.settings import find_campaign
    from advocacy.crypto import lookup_hash
    from advocacy.letters.versions import current_template
    from advocacy.models import Body, Letter, LetterStatus, Submission, Supporter
    from advocacy.officials.choose import choose_officials

    campaign = find_campaign(None)
    body_row = db.session.scalars(select(Body).where(Body.slug == body)).one()
    assert campaign is not None
    template = current_template(campaign, body_row, "en")
    assert template is not None
    # Every active office of the group with an address, the UN's case-intake inboxes too:
    # the delivery engine's tests need two offices that take email, and in tests every
    # letter goes to the sink; supporters are never offered those (choose_officials).
    officials = [t for t in db.session.scalars(
        select(Official).where(Official.body_id == body_row.id, Official.active.is_(True),
                               Official.email.is_not(None)).order_by(Official.id))
                 if not country or t.country == country] if body == "un" else [
        t for t in choose_officials(body_row, country) if t.email]
    now = clock.now()
    letters = []
    for i in range(supporters):
        address = f"supporter{i}-{uuid.uuid4().hex[:6]}@example.org"
        supporter = Supporter(email=address, email_hash=lookup_hash(address))
        submission = Submission(
            campaign_id=campaign.id, supporter=supporter, body_id=body_row.id,
            target_country=country, name=f"Supporter {i}", city="Lyon", country="FR",
            language="en", personal_note=f"Note number {i}.", consent_at=now, confirmed_at=now,
        )
        letters += [Letter(campaign_id=campaign.id, submission=submission, supporter=supporter,
                           target_id=t.id, template_id=template.id, status=LetterStatus.QUEUED,
                           queued_at=now) for t in officials]
    db.session.add_all(letters)
    db.session.commit()
    return [letter.id for letter in letters]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (inside the app's context)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _claims_a_mark(statement: str) -> bool:
    return " ".join(statement.split()).upper().startswith(
        ("UPDATE ROLLUP_MARK", "INSERT INTO ROLLUP_MARK"))


def start_and_see_it_wait_on_its_claim(other: threading.Thread, blocked: float = 0.5) -> None:
    """Start `other` (a run with an app context of its own), see it send its claim of a mark
    (the UPDATE of rollup_mark, or the INSERT of the first one), and see that statement still
    unanswered `blocked` seconds later: it waits on the claim this thread holds."""
    from sqlalchemy import event

    claimed = threading.Event()
    log: list[tuple[str, str]] = []  # ("sent" | "done", statement), the other thread's

    def sent(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == other.ident:
            log.append(("sent", statement))
            if _claims_a_mark(statement):
                claimed.set()

    def done(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == other.ident:
            log.append(("done", statement))

    event.listen(db.engine, "before_cursor_execute", sent)
    event.listen(db.engine, "after_cursor_execute", done)
    try:
        other.start()
        assert claimed.wait(30), f"the other run sent no claim of a mark in 30 s: {log}"
        other.join(blocked)
        last = log[-1]
        assert other.is_alive() and last[0] == "sent" and _claims_a_mark(last[1]), (
            f"the other run did not wait on its claim: {log}")
    finally:
        event.remove(db.engine, "before_cursor_execute", sent)
        event.remove(db.engine, "after_cursor_execute", done)


def worker_env(app: Any, sink_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a worker process that works for this test's app."""
    return {**os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"], "ADVOCACY_QUEUE": app.config["QUEUE_NAME"],
            "SMTP_URL": sink_url, "ADVOCACY_SENDER": app.config["ADVOCACY_SENDER"],
            "ADVOCACY_SECRET_KEY": app.config["SECRET_KEY"],
            "ADVOCACY_DATA_KEYS": ",".join(app.config["DATA_KEYS"]),
            "ADVOCACY_LOOKUP_KEY": app.config["LOOKUP_KEY"],
            "ADVOCACY_INSTANCE_PATH": str(tmp_path / "worker-instance")}


# --- organizers and the admin -------------------------------------------------------------

PASSWORD = "correct horse battery"


PEOPLE = {role: f"{role}@campaign.test" for role in ("viewer", "editor", "owner")}


def make_partner_account(email: str, ref: str, name: str = "") -> Any:
    """A partner (made if new) and a partner account for it, with PASSWORD."""
    from advocacy.models import Partner, Role
    from advocacy.organizers.accounts import set_organizer

    partner = db.session.scalar(select(Partner).where(Partner.ref == ref))
    if partner is None:
        partner = Partner(name=name or f"Partner {ref}", ref=ref)
        db.session.add(partner)
        db.session.commit()
    account = set_organizer(email, PASSWORD, Role.PARTNER)
    account.partner_id = partner.id
    db.session.commit()
    return partner


def csrf(client: Any, path: str = "/admin/login") -> str:
    return csrf_token(client.get(path).data)


def log_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": csrf(client)})


def admin_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, url, required role) of every admin route, with sample path arguments."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "required_role"), f"{rule.endpoint}: neither @requires nor @public"
        url = re.sub(r"<int:\w+>", "1", re.sub(r"<(?:string:)?\w+>", "x", rule.rule))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url, view.required_role))
    assert len(routes) > 10
    return routes


# --- what supporters send -----------------------------------------------------------------

def with_supporter(**changes: Any) -> dict[str, Any]:
    return submission(supporter={**SUPPORTER, **changes})


# --- the browser --------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, never a downloaded one
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no chromium: .ci/run installs Debian's package"
)


ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# --- the dashboard's counts ---------------------------------------------------------------

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


def send(ids: list[int], at: datetime, country: str = "FR") -> None:
    """Mark letters sent at a time, their supporters from a country."""
    db.session.execute(update(Letter).where(Letter.id.in_(ids))
                       .values(status=LetterStatus.SENT, sent_at=at))
    db.session.execute(update(Submission).where(Submission.id.in_(
        select(Letter.submission_id).where(Letter.id.in_(ids)))).values(country=country))
    db.session.commit()


def counted(view: str, filters: Filters) -> dict[Any, int]:
    """The same view counted in Python over the sent letters: what the rollup must agree with."""
    rows = db.session.execute(
        select(Letter.sent_at, Letter.target_id, Letter.campaign_id, Official.body_id,
               Submission.country, Submission.language, Submission.ref)
        .join(Official, Letter.target_id == Official.id)
        .join(Submission, Letter.submission_id == Submission.id)
        .where(Letter.status == LetterStatus.SENT))
    counts: dict[Any, int] = {}
    for at, official, campaign, body, country, language, ref in rows:
        day = at.astimezone(UTC).date()
        if ((filters.campaign_id is not None and campaign != filters.campaign_id)
                or (filters.body_id is not None and body != filters.body_id)
                or (filters.country and country != filters.country)
                or (filters.start and day < filters.start)
                or (filters.end and day > filters.end)):
            continue
        key = {"day": day, "hour": (day, f"{at.astimezone(UTC).hour:02}"), "body": body,
               "target": official, "country": country, "language": language,
               "ref": ref or ""}[view]
        counts[key] = counts.get(key, 0) + 1
    return counts


def every_filter() -> list[Filters]:
    """No filter, each filter alone, and all of them at once."""
    campaign = db.session.scalar(select(Campaign.id).where(Campaign.is_default))
    un = db.session.scalar(select(Body.id).where(Body.slug == "un"))
    coe = db.session.scalar(select(Body.id).where(Body.slug == "coe"))
    two_days_ago = (NOW - timedelta(days=2)).date()
    return [Filters(), Filters(country="FR"), Filters(start=two_days_ago),
            Filters(end=two_days_ago), Filters(campaign_id=campaign), Filters(body_id=coe),
            Filters(campaign, two_days_ago, NOW.date(), un, "DE")]


def give_the_coe_an_inbox() -> None:
    """The shipped files give no Council of Europe office an e-mail address (coe.int
    publishes none: targets/coe.toml); tests that need an emailed CoE office give the
    Commissioner a test address here."""
    db.session.execute(update(Official).where(Official.key == "coe-commissioner-human-rights")
                       .values(email="commissioner@example.org"))
    db.session.commit()


def elsewhere() -> tuple[list[int], list[int]]:
    """Letters only the body and campaign filters tell apart: (2 to the CoE's one emailed
    office in the default campaign, 2 to the UN's offices moved to a second campaign)."""
    give_the_coe_an_inbox()
    other = Campaign(slug="other", name="Another campaign", bodies=[])
    db.session.add(other)
    db.session.commit()
    coe = seed_queued(2, "coe")
    moved = seed_queued(1, "un")
    db.session.execute(update(Letter).where(Letter.id.in_(moved)).values(campaign_id=other.id))
    db.session.commit()
    return coe, moved


def agree_under_every_filter() -> None:
    """The dashboard's counts equal a plain count under every filter, and each filter but
    none narrows the count: a filter ignored would be seen."""
    everything = counted("day", Filters())
    for filters in every_filter():
        if filters != Filters():
            assert counted("day", filters) != everything, filters
        for view in dashboard.VIEWS:
            assert dashboard.sent_by(view, filters) == counted(view, filters), (view, filters)


# --- a supporter's letter, confirmed ------------------------------------------------------

SUPPORTER = {"name": "Marie Dubois", "email": "Marie.Dubois@Example.org", "city": "Lyon",
             "country": "FR"}


def submission(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign": "free-azat-miftakhov", "body": "un", "language": "en",
        "supporter": dict(SUPPORTER), "personal_note": "I teach mathematics in Lyon.",
        "consent": True, "ref": "solidarite-freeazat",
    }
    data.update(changes)
    return data


def submit_and_confirm(app: Any, client: Any, sink: Sink,
                       data: dict[str, Any] | None = None) -> None:
    """A supporter writes (to the UN unless `data` says), gets the confirmation, confirms."""
    assert client.post("/api/letters", json=data or submission()).status_code == 202
    work(app)
    assert client.post(confirmation_link(sink)).status_code == 200


def confirmation_link(sink: Sink) -> str:
    [mail] = [m for m in sink.received if "confirm" in m.message()["Subject"].lower()]
    body = mail.message().get_content()
    match = re.search(r"https?://[^/\s]+(/confirm/\S+)", body)
    assert match, body
    return match.group(1)


GOOD = {"body": "un", "language": "en", "name": "Jonas Weber", "email": "jonas@example.org",
        "city": "Leipzig", "supporter_country": "DE", "consent": "yes",
        "personal_note": "Ich unterrichte Mathematik.", "action": "send"}


def post(client: Any, **changes: str) -> Any:
    form = {**GOOD, "csrf_token": csrf_token(client.get("/").data), **changes}
    return client.post("/", data=form)


def verified_as_a_file_may(*keys: str) -> None:
    """Mark shipped officials verified, as a targets file may: the shipped files verify no
    address (targets-sources.md), so a test that needs verified ones says which."""
    for official in db.session.scalars(select(Official).where(Official.key.in_(keys))):
        official.verified = True
    db.session.commit()


def shipped_officials(body: str = "") -> int:
    """How many offices the shipped targets files hold (in one group, if named)."""
    return sum(len(tf.target) for tf in read_officials_dir(ROOT / "targets")
               if body in ("", tf.body.slug))


# --- officials' replies, signed (DKIM) with keys of the tests' own ------------------------

OFFICIAL = "urgent-action@ohchr.org"  # in targets/un.toml


SELECTOR = b"sel2026"


def _key() -> tuple[bytes, bytes]:
    """A fresh RSA key: its PEM (for dkimpy's signer) and its DNS TXT record (for the stub)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


OFFICE_KEY, OFFICE_TXT = _key()


OTHER_KEY, OTHER_TXT = _key()


class StubDNS:
    """dkimpy's `dnsfunc`: the test keys' TXT records, and a note of every name asked for."""

    def __init__(self, records: dict[str, bytes]) -> None:
        self.records = records
        self.asked: list[str] = []

    def __call__(self, name: bytes | str, timeout: int = 5) -> bytes | None:
        shown = name.decode() if isinstance(name, bytes) else name
        self.asked.append(shown)
        return self.records.get(shown.lower())


def dns() -> StubDNS:
    return StubDNS({"sel2026._domainkey.ohchr.org.": OFFICE_TXT,
                    "sel2026._domainkey.mail.ohchr.org.": OFFICE_TXT,
                    "sel2026._domainkey.attacker.example.": OTHER_TXT})


def answer(sender: str = "Office <office@ohchr.org>", to: str = "reply+1-x@campaign.test",
           text: str = "We have received your letter and will raise the case.") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "Re: your letter"
    msg.set_content(text)
    return msg.as_bytes(policy=SMTP)


def signed(raw: bytes, domain: str = "ohchr.org", key: bytes = OFFICE_KEY,
           length: bool = False) -> bytes:
    return dkim.sign(raw, SELECTOR, domain.encode(), key, length=length) + raw


# --- pages in the browser -----------------------------------------------------------------

SHOTS = ROOT / "test-output" / "screenshots"


def fill_and_send(where: Any, name: str, email: str, city: str, country: str) -> None:
    """Fill in the letter form (a page, or a frame's locator) and press Send."""
    where.locator("#name").fill(name)
    where.locator("#email").fill(email)
    where.locator("#city").fill(city)
    where.locator("#supporter_country").select_option(country)
    where.locator("#consent").check()
    where.locator("button[value=send]").click()


VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# Contrast of every visible text against its background, as WCAG computes it (AA: 4.5).
CONTRAST = """() => {
  const lum = (rgb) => { const c = rgb.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const background = (el) => { for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") return bg; }
    return "rgb(255, 255, 255)"; };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.offsetParent) continue;
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName} ${el.textContent.trim().slice(0, 40)} ${ratio}`);
  }
  return low;
}"""


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's WCAG 2 A and AA rules, run inside the page (axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
    results = Axe().run(page, options={**options, "resultTypes": ["violations"]})
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]]


def organizer_page(browser: Any, live: str, email: str, password: str, **options: Any) -> Any:
    """A desktop page logged in to the admin as this organizer."""
    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="en", **options)
    page.goto(f"{live}/admin/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    return page


def shots_for(request: pytest.FixtureRequest, name: str) -> Path:
    folder = SHOTS / f"{name}-{request.node.callspec.params.get('database_url', '')}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def mailbox_as_read(raw: bytes, header: str) -> tuple[str, str]:
    """(display name, address) of a header's one mailbox, decoded as mail readers decode it.

    RFC 2047 (6.2) says the white space between two adjacent encoded words is not shown;
    Python's structured-header parser (policy.default) keeps it, so a long office name it
    reads back has a space in the middle of a word that no mail reader shows. The legacy
    decoder (email.header.decode_header) follows the RFC.
    """
    value = message_from_bytes(raw, policy=compat32)[header]
    name, _, address = str(value).rpartition("<")
    name = name.strip()
    if name.startswith('"'):
        return unquote(name), address.rstrip(">").strip()
    return str(make_header(decode_header(name))), address.rstrip(">").strip()
# --- the campaign page as organizers finish it (issue 18) ---------------------------------

def picture_the_campaign(app: Any) -> None:
    """The campaign's page as organizers finish it: an image and a goal, in every language."""
    from PIL import Image, ImageDraw

    from advocacy.campaigns.pages import PageDraft, current_page, store_image, version_row
    from advocacy.campaigns.settings import find_campaign

    picture = Image.new("RGB", (1200, 630), (32, 60, 90))
    ImageDraw.Draw(picture).ellipse((450, 120, 750, 520), fill=(200, 170, 140))
    data = io.BytesIO()
    picture.save(data, "JPEG", quality=80)
    with app.app_context():
        campaign = find_campaign(None)
        assert campaign is not None
        name = store_image(data.getvalue())
        for language in ("en", "fr", "de", "ru", "es"):
            page = current_page(campaign, language)
            assert page is not None
            draft = replace(PageDraft.of(page), image=name, goal="10000",
                            image_alt="Azat Miftakhov")
            db.session.add(version_row(campaign, language, draft, page.version + 1,
                                       "organizer", "tests@example.org"))
        db.session.commit()
# --- offices that take no email (issue 17, channels) -------------------------------------

FORM_PAGE = "https://example.org/write-to-us"
ADDRESS = "Some Office\n  Rue Wiertz 60\n\n1047 Brussels\nBelgium\n"


def no_email_group() -> tuple[Official, Official]:
    """The EU group without email: its first office by contact form, the others by post."""
    officials = list(db.session.scalars(
        select(Official).join(Official.body).where(Official.body.has(slug="eu"))
        .order_by(Official.id)))
    for official in officials:
        official.email, official.contact_page, official.postal_address = None, None, ADDRESS
    officials[0].contact_page, officials[0].postal_address = FORM_PAGE, None
    db.session.commit()
    return officials[0], officials[1]


SALUTATIONS = """[target.salutation]
en = "Dear Sir,"
fr = "Monsieur,"
de = "Sehr geehrte Damen und Herren,"
ru = "Уважаемые дамы и господа!"
es = "Señor:"
"""


def target_entry(key: str, contact: str, source: str, languages: str = '["en"]',
                 more: str = "", office: str = "") -> str:
    """One [[target]] of a targets file, for a test's own file."""
    return (f'[[target]]\nkey = "{key}"\noffice = "{office or "The office " + key}"\n'
            f'languages = {languages}\ntimezone = "Europe/Zurich"\n{contact}\n'
            f'source = "{source}"\n{more}' + SALUTATIONS)


# --- a relay that wants TLS and a login (the `relay` fixture in conftest.py) ---------------

RELAY_USER, RELAY_PASSWORD = "campaign", "s3cret pass/word"


def relay_authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                        auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(), auth_data.password.decode()) == (RELAY_USER, RELAY_PASSWORD)
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class TlsRelay:
    """An aiosmtpd relay on 127.0.0.1: STARTTLS or implicit TLS (`scheme`), then a login."""

    def __init__(self, handler: Any, port: int, scheme: str) -> None:
        self.handler, self.port, self.scheme = handler, port, scheme

    def url(self, password: str = RELAY_PASSWORD, starttls: bool = True) -> str:
        from urllib.parse import quote

        auth = f"{RELAY_USER}:{quote(password, safe='')}@"
        if self.scheme == "smtps":
            return f"smtps://{auth}127.0.0.1:{self.port}"
        return f"smtp://{auth}127.0.0.1:{self.port}" + ("?starttls=1" if starttls else "")


def write_only_to(page: Any, group: str) -> None:
    """Tick one group alone (every group starts ticked) and open the letter to it."""
    for box in page.locator("input[name=bodies]").all():
        box.set_checked(box.get_attribute("value") == group)
    page.click("#whole-letter summary")
    page.select_option("#body", group)
