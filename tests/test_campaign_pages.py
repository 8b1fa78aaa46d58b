"""Campaign pages as data: /c/<slug>, the home page, status notices, content per language
(versions, fallback, Markdown, image), and the default campaign's page loaded from files."""

from __future__ import annotations

import io
import re
import shutil
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from advocacy import clock
from advocacy.campaigns.bootstrap import load_data
from advocacy.campaigns.pages import IMAGE_FOLDER, IMAGE_WIDTH, story_html
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignPage, CampaignStatus, Submission

from helpers import GOOD, PEOPLE, ROOT, csrf, csrf_token, log_in, submission

pytestmark = pytest.mark.usefixtures("people")

SLUG = "free-azat-miftakhov"
# Words of the shipped story in each language (campaigns/free-azat-miftakhov/<lang>.md).
STORY = {"en": ("Free Azat Miftakhov", "penal colony IK-18 in Kharp"),
         "fr": ("Libérez Azat Miftakhov", "IK-18 de Kharp"),
         "de": ("Freiheit für Azat Miftakhov", "Strafkolonie IK-18 in Charp"),
         "ru": ("Свободу Азату Мифтахову", "ИК-18 в посёлке Харп"),
         "es": ("Libertad para Azat Miftakhov", "IK-18 de Jarp")}


def signed_in(app: Any, role: str = "owner") -> Any:
    client = app.test_client()
    log_in(client, PEOPLE[role])
    return client


def page_form(**changes: str) -> dict[str, str]:
    return {"title": "Free Narges Mohammadi", "summary": "Write for Narges.",
            "story": "She is held in **Evin**.", "image": "", "image_alt": "",
            "news_date": "", "news": "", "goal": "", "share_text": "", "action": "save",
            **changes}


def save(client: Any, slug: str, language: str = "en", **changes: Any) -> Any:
    url = f"/admin/campaigns/{slug}/page/{language}"
    current = db.session.scalar(select(func.max(CampaignPage.version)).where(
        CampaignPage.campaign_id == campaign(slug).id, CampaignPage.language == language))
    data = {"base_version": str(current or ""), **page_form(**changes),
            "csrf_token": csrf(client, url)}  # base_version in `changes` wins
    return client.post(url, data=data, content_type="multipart/form-data")


def campaign(slug: str) -> Campaign:
    db.session.expire_all()
    return db.session.scalars(select(Campaign).where(Campaign.slug == slug)).one()


def new_campaign(app: Any, slug: str = "free-narges", status: str = CampaignStatus.OPEN,
                 page: bool = True) -> Campaign:
    """A second campaign, by the admin, with the default one's letters (copied) and a page."""
    owner = signed_in(app)
    owner.post(f"/admin/campaigns/{SLUG}/copy", data={
        "slug": slug, "name": "Free Narges", "csrf_token": csrf(owner, "/admin/campaigns")})
    if page:
        assert save(owner, slug).status_code == 302
    row = campaign(slug)
    row.status = status
    db.session.commit()
    return row


# --- the default campaign, from its files -----------------------------------------------------

@pytest.mark.parametrize("lang", list(STORY))
def test_the_default_page_renders_from_data_in_every_language(client: Any, lang: str) -> None:
    title, words = STORY[lang]
    for url in (f"/?lang={lang}", f"/c/{SLUG}?lang={lang}"):
        page = client.get(url).data.decode()
        assert f"<title>{title}</title>" in page and f">{title}</h1>" in page, url
        assert words in page and 'id="fallback-notice"' not in page, url
        assert 'id="letter-form"' in page and 'class="news"' in page


def test_no_story_is_left_in_the_templates() -> None:
    found = [f"{path.relative_to(ROOT)}: {word}"
             for path in (ROOT / "advocacy" / "templates").rglob("*")
             if path.is_file()
             for word in ("Miftakhov", "Kharp", "IK-18", "Харп", "Мифтахов", "Azat")
             if word in path.read_text(encoding="utf-8")]
    assert found == []


def test_init_loads_page_files_once_and_a_changed_file_as_a_new_version(
    app: Any, tmp_path: Path
) -> None:
    files = tmp_path / "campaigns"
    shutil.copytree(ROOT / "campaigns", files)
    before = db.session.scalar(select(func.count()).select_from(CampaignPage))
    assert before == 7  # the test database was filled from campaigns/ already (7 languages)
    again = load_data(ROOT / "targets", ROOT / "templates", campaigns_dir=files)
    assert again["pages"] == {"added": 0, "unchanged": 7}
    owner = signed_in(app)
    assert save(owner, SLUG, "fr", title="Titre des organisateurs").status_code == 302
    load_data(ROOT / "targets", ROOT / "templates", campaigns_dir=files)
    assert campaign_title(SLUG, "fr") == "Titre des organisateurs"  # an unchanged file waits
    path = files / SLUG / "en.md"
    path.write_text(path.read_text().replace("Free Azat Miftakhov", "Free Azat now"))
    assert load_data(ROOT / "targets", ROOT / "templates",
                     campaigns_dir=files)["pages"]["added"] == 1
    assert campaign_title(SLUG, "en") == "Free Azat now"
    broken = files / SLUG / "es.md"
    broken.write_text("no front matter")
    with pytest.raises(ValueError, match="es.md: begins with a TOML block"):
        load_data(ROOT / "targets", ROOT / "templates", campaigns_dir=files)


def campaign_title(slug: str, language: str) -> str:
    return str(db.session.scalar(
        select(CampaignPage.title).join(Campaign, Campaign.id == CampaignPage.campaign_id)
        .where(Campaign.slug == slug, CampaignPage.language == language)
        .order_by(CampaignPage.version.desc()).limit(1)))


# --- addresses -------------------------------------------------------------------------------

def test_each_campaign_has_its_page_widget_badge_embed_and_privacy(app: Any, client: Any) -> None:
    new_campaign(app)
    for url in ("/c/free-narges", "/c/free-narges/widget", "/c/free-narges/privacy"):
        reply = client.get(url)
        assert reply.status_code == 200 and "Free Narges" in reply.data.decode(), url
    embed = client.get("/c/free-narges/embed").data.decode()
    assert "/c/free-narges/widget?ref=your-organisation" in embed
    assert '"campaign": "free-narges"' in embed
    assert client.get("/c/free-narges/badge.svg").mimetype == "image/svg+xml"
    for url in ("/c/nobody-here", "/c/nobody-here/widget", "/c/nobody-here/badge.svg"):
        missing = client.get(url)
        assert missing.status_code == 404 and "Page not found" in missing.data.decode(), url
    # The addresses partners already embed still serve the home campaign.
    for url in ("/widget", "/embed", "/privacy", "/badge.svg"):
        assert client.get(url).status_code == 200, url


def test_the_home_page_is_the_campaign_an_owner_chooses_or_a_list(app: Any, client: Any) -> None:
    new_campaign(app)
    owner = signed_in(app)
    url = "/admin/campaigns/free-narges"
    owner.post(f"{url}/home", data={"home": "yes", "csrf_token": csrf(owner, url)})
    assert ">Free Narges Mohammadi</h1>" in client.get("/").data.decode()
    assert [c.slug for c in db.session.scalars(
        select(Campaign).where(Campaign.is_default.is_(True)))] == ["free-narges"]
    reply = client.post("/api/letters", json=submission(campaign=None))
    assert reply.status_code == 202  # the API without a campaign: the home one
    assert db.session.scalar(select(Submission.campaign_id)) == campaign("free-narges").id
    owner.post(f"{url}/home", data={"home": "no", "csrf_token": csrf(owner, url)})
    listing = client.get("/").data.decode()
    assert "Free Narges Mohammadi" in listing and "Free Azat Miftakhov" in listing
    assert 'href="/c/free-narges?lang=en"' in listing
    assert client.get("/widget").status_code == 404
    editor = signed_in(app, "editor")
    refused = editor.post(f"{url}/home", data={"home": "yes", "csrf_token": csrf(editor, url)})
    assert refused.status_code == 403


def test_the_preview_and_own_mail_act_on_the_pages_campaign(app: Any, client: Any) -> None:
    new_campaign(app)
    owner = signed_in(app)
    letter = "/admin/letters/free-narges/un/en"
    page = owner.get(letter).data.decode()
    subject = re.search(r'id="subject" name="subject" maxlength="300" value="([^"]*)"', page)
    assert subject
    owner.post(letter, data={
        "subject": subject.group(1), "default_salutation": "Dear Sir or Madam,",
        "body": "{{ salutation }}\n\nFree Narges Mohammadi.\n\n{{ personal_note }}\n",
        "base_version": "1", "action": "save", "csrf_token": csrf(owner, letter)})
    form = {"body": "un", "language": "en", "campaign": "free-narges"}
    assert "Free Narges Mohammadi." in client.post("/preview", data=form).json["before"]
    assert "Free Narges" not in client.post("/preview", data={
        **form, "campaign": ""}).json["before"]
    assert client.post("/preview", data={**form, "campaign": "nobody"}).status_code == 404
    own = client.post("/own-mail", data={**form, "own_mail": "copy:un-sr-torture"},
                      headers={"Accept": "application/json"})
    assert own.status_code == 200 and "Free Narges Mohammadi." in own.json["body"]


# --- taking letters or not --------------------------------------------------------------------

def test_paused_not_yet_open_closed_and_reopened(app: Any, client: Any) -> None:
    row = new_campaign(app, status=CampaignStatus.PAUSED)
    url = "/c/free-narges"

    def refused(words: str) -> None:
        page = client.get(url).data.decode()
        assert 'id="campaign-state"' in page and words in page
        assert 'id="letter-form"' not in page
        form = {**GOOD, "csrf_token": csrf_token(client.get("/").data)}
        assert client.post(url, data=form).status_code == 409
        assert client.post(f"{url}/widget", data=GOOD).status_code == 409
        api = client.post("/api/letters", json=submission(campaign="free-narges"))
        assert api.status_code == 409 and words in api.json["errors"]["campaign"]
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0

    refused("This campaign is paused")
    row = campaign("free-narges")
    row.status, row.opens_at = CampaignStatus.OPEN, clock.now() + timedelta(days=2)
    db.session.commit()
    refused("This campaign opens on")
    row = campaign("free-narges")
    row.opens_at, row.closes_at = None, clock.now() - timedelta(hours=1)
    db.session.commit()
    refused("This campaign is closed")
    assert "Thank you to everyone who wrote." in client.get(url).data.decode()
    assert "Letters delivered so far:" in client.get(url).data.decode()  # the results
    row = campaign("free-narges")
    row.closes_at = None
    db.session.commit()
    page = client.get(url).data.decode()
    assert 'id="campaign-state"' not in page and 'id="letter-form"' in page
    reply = client.post("/api/letters", json=submission(campaign="free-narges"))
    assert reply.status_code == 202


def test_the_refusal_speaks_the_supporters_language(app: Any, client: Any) -> None:
    new_campaign(app, status=CampaignStatus.PAUSED)
    page = client.get("/c/free-narges?lang=fr").data.decode()
    assert "Cette campagne est en pause" in page


# --- content ---------------------------------------------------------------------------------

def test_a_language_without_content_falls_back_to_english_visibly(
    app: Any, client: Any
) -> None:
    new_campaign(app)
    page = client.get("/c/free-narges?lang=fr").data.decode()
    assert 'id="fallback-notice"' in page, page
    assert ("Cette page n'est pas encore disponible en français ; elle est affichée en"
            " anglais.") in page
    assert '<div class="campaign-page" lang="en">' in page and "Free Narges Mohammadi" in page
    assert 'id="fallback-notice"' not in client.get("/c/free-narges?lang=en").data.decode()


def test_the_story_is_sanitised_markdown(app: Any, client: Any) -> None:
    new_campaign(app)
    story = ("Held in **Evin**.\n\n<script>alert(1)</script>\n\n[a link](javascript:alert(2))"
             " and [<img src=x onerror=alert(3)>](https://example.org)\n\n"
             "<a href=\"javascript:alert(4)\">raw</a>")
    assert save(signed_in(app), "free-narges", story=story).status_code == 302
    page = client.get("/c/free-narges").data.decode()
    assert "<strong>Evin</strong>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page  # shown as text
    assert not re.search(r"<a [^>]*javascript", page) and "<img" not in page
    assert "&lt;a href=" in page  # raw HTML in the story is shown as text, never as markup
    html = story_html("[x](https://example.org) <b onclick=alert(1)>b</b>")
    assert 'rel="noopener noreferrer nofollow"' in html and "<b " not in html


def test_versions_diff_and_rollback(app: Any, client: Any) -> None:
    new_campaign(app)
    editor = signed_in(app, "editor")
    assert save(editor, "free-narges", title="Second title", goal="5000").status_code == 302
    nothing = save(editor, "free-narges", title="Second title", goal="5000")
    assert nothing.status_code == 302  # no change: no version
    rows = db.session.scalars(select(CampaignPage).where(
        CampaignPage.campaign_id == campaign("free-narges").id)
        .order_by(CampaignPage.version)).all()
    assert [r.version for r in rows] == [1, 2]
    history = editor.get("/admin/campaigns/free-narges/page/en").data.decode()
    assert "Title: <del>Free Narges Mohammadi</del>" in history
    assert "Title: <ins>Second title</ins>" in history
    public = client.get("/c/free-narges").data.decode()
    assert ">Second title</h1>" in public and 'class="goal">of 5,000</span>' in public
    url = f"/admin/campaigns/page-versions/{rows[0].id}/rollback"
    back = editor.post(url, data={"csrf_token": csrf(editor, "/admin/campaigns")})
    assert back.status_code == 302
    assert campaign_title("free-narges", "en") == "Free Narges Mohammadi"
    stale = save(editor, "free-narges", title="Third", base_version="1")
    assert stale.status_code == 409  # someone saved since version 1
    viewer = signed_in(app, "viewer")
    assert viewer.get("/admin/campaigns/free-narges/page/en").status_code == 200
    assert save(viewer, "free-narges", title="Viewer's").status_code == 403


def test_the_preview_shows_the_page_and_saves_nothing(app: Any) -> None:
    new_campaign(app)
    editor = signed_in(app, "editor")
    reply = save(editor, "free-narges", title="Draft title", story="A *draft*.",
                 action="preview")
    text = reply.data.decode()
    assert reply.status_code == 200 and 'id="page-preview"' in text
    assert ">Draft title</h1>" in text and "<em>draft</em>" in text
    assert campaign_title("free-narges", "en") == "Free Narges Mohammadi"
    bad = save(editor, "free-narges", title="", goal="lots")
    assert bad.status_code == 422 and 'id="goal-error"' in bad.data.decode()


def jpeg_with_exif(width: int = 3000, height: int = 2000) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x013B] = "Who took it"  # Artist
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_an_uploaded_image_is_resized_stripped_private_and_served(
    app: Any, client: Any
) -> None:
    new_campaign(app)
    editor = signed_in(app, "editor")
    data = jpeg_with_exif()
    assert b"SecretCamera" in data
    reply = save(editor, "free-narges", image_alt="Narges Mohammadi, smiling",
                 image_file=(io.BytesIO(data), "photo.jpg"))
    assert reply.status_code == 302, reply.data.decode()[:2000]
    name = db.session.scalar(select(CampaignPage.image).order_by(CampaignPage.id.desc()))
    folder = Path(app.instance_path) / IMAGE_FOLDER
    stored = (folder / name).read_bytes()
    assert b"SecretCamera" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (IMAGE_WIDTH, 800) and not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    served = client.get(f"/page-images/{name}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert served.data == stored
    page = client.get("/c/free-narges").data.decode()
    assert f'src="/page-images/{name}" alt="Narges Mohammadi, smiling"' in page
    assert f'<meta property="og:image" content="http://campaign.test/page-images/{name}">' in page
    assert client.get("/page-images/../secret_key").status_code == 404
    assert client.get("/page-images/" + "0" * 64 + ".jpg").status_code == 404


def test_a_file_that_is_not_an_image_or_too_large_is_refused_clearly(app: Any) -> None:
    new_campaign(app)
    editor = signed_in(app, "editor")
    text = save(editor, "free-narges", image_alt="x",
                image_file=(io.BytesIO(b"<svg onload=alert(1)>"), "evil.svg"))
    assert text.status_code == 422
    assert "This file is not an image we can read." in text.data.decode()
    huge = save(editor, "free-narges", image_alt="x",
                image_file=(io.BytesIO(b"\xff\xd8" + b"0" * (11 * 1024 * 1024)), "big.jpg"))
    assert huge.status_code == 422 and "too large: at most 10 MB" in huge.data.decode()
    huger = save(editor, "free-narges", image_alt="x",
                 image_file=(io.BytesIO(b"0" * (21 * 1024 * 1024)), "bigger.jpg"))
    assert huger.status_code == 413 and "image 10 MB" in huger.data.decode()
    missing_alt = save(editor, "free-narges",
                       image_file=(io.BytesIO(jpeg_with_exif(50, 50)), "p.jpg"))
    assert missing_alt.status_code == 422 and 'id="image_alt-error"' in missing_alt.data.decode()


def test_the_meta_description_and_the_share_card(app: Any, client: Any) -> None:
    page = client.get("/?lang=fr").data.decode()
    summary = re.search(r'<meta name="description" content="([^"]+)">', page)
    assert summary and summary.group(1).startswith("Un mathématicien russe")
    for tag in ('<meta property="og:title" content="Libérez Azat Miftakhov">',
                f'<meta property="og:url" content="http://campaign.test/c/{SLUG}">',
                '<meta property="og:description" content="Un mathématicien russe',
                '<meta name="twitter:card" content="summary">'):
        assert tag in page, tag


def test_the_share_links_carry_the_pages_share_text(app: Any, client: Any, sink: Any) -> None:
    from helpers import confirmation_link, work

    assert client.post("/api/letters", json=submission(),
                       headers={"Accept-Language": "fr"}).status_code == 202
    work(app)
    page = client.post(confirmation_link(sink), headers={"Accept-Language": "fr"}).data.decode()
    assert "J%27ai%20%C3%A9crit%20aux%20responsables%20pour%20Azat%20Miftakhov" in page
    assert f"http%3A//campaign.test/c/{SLUG}" in page
