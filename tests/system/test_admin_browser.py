"""The organiser's side in a real browser (Debian's Chromium) against a real server process:
a talk with two moderators made through the forms, the 403 for a third, audience votes switched
off live, a renewed podium link, and the report of a demo talk with 100 generated questions."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.server import Server
from tests.system.browsing import log_in

# Chromium, its options and the snapshot counter are set up once, in test_browser.
from tests.system.test_browser import PHONE, live

pytestmark = pytest.mark.browser

PASSWORDS = {name: f"{name.capitalize()}-{uuid.uuid4().hex[:12]}" for name in ("anna", "ben", "cem")}


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare()
        srv.cli_each(*[("create-user", name, "--password", password, "--role", "moderator")
                       for name, password in PASSWORDS.items()], ("demo-questions", "demo", "--count", "100"))
        srv.start()
        yield srv
    finally:
        srv.close()


@pytest.fixture
def new_page(new_context):
    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        return new_context(**options).new_page()
    return make


def test_organiser_runs_a_talk_from_the_browser(server, new_page):
    slug = "energie-" + uuid.uuid4().hex[:6]
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()

    admin = new_page()
    log_in(admin, server.url, server.user, server.password)
    admin.get_by_role("link", name="Verwaltung").click()
    admin.get_by_role("link", name="Neuer Vortrag").click()
    admin.get_by_label("Titel").fill("Energie: Wer erzeugt hier den Strom?")
    admin.get_by_label("Kürzel").fill(slug)
    admin.get_by_label("Datum").fill(today.isoformat())
    admin.get_by_label("Beginn").fill("00:00")
    admin.get_by_label("Ende").fill("23:59")
    admin.get_by_label("Beschreibung").fill("Der fünfte Termin der Reihe.")
    expect(admin.get_by_label("Publikumsstimmen")).to_be_checked()
    admin.get_by_label("Vorab-Moderation").uncheck()  # questions appear at once
    moderation = admin.get_by_role("group", name="Moderation")
    moderation.get_by_label("anna", exact=True).check()
    moderation.get_by_label("ben", exact=True).check()
    admin.get_by_role("button", name="Speichern").click()
    expect(admin.get_by_text("Gespeichert.")).to_be_visible()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Energie: Wer erzeugt hier den Strom?")

    # anna moderates it, cem does not
    anna = new_page()
    log_in(anna, server.url, "anna", PASSWORDS["anna"])
    assert anna.goto(f"{server.url}/moderate/{slug}").status == 200
    live(anna)
    cem = new_page()
    log_in(cem, server.url, "cem", PASSWORDS["cem"])
    assert cem.goto(f"{server.url}/moderate/{slug}").status == 403
    assert cem.goto(f"{server.url}/moderate/{slug}/report").status == 403

    # an audience member on a phone asks; without pre-moderation it is public at once, with a vote button
    audience = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    audience.goto(f"{server.url}/t/{slug}")
    live(audience)
    audience.get_by_label("Ihre Frage").fill("Lohnt sich eine Bürgerenergie-Genossenschaft?")
    audience.get_by_role("button", name="Frage senden").click()
    public = audience.get_by_role("region", name="Freigegebene Fragen")
    vote = public.get_by_role("button", name="Auch wissen wollen")
    expect(vote).to_have_count(1)

    # votes off: the button vanishes on the open page, no reload
    admin.get_by_label("Publikumsstimmen").uncheck()
    admin.get_by_role("button", name="Speichern").click()
    expect(admin.get_by_text("Gespeichert.")).to_be_visible()
    expect(vote).to_have_count(0)
    expect(public.get_by_role("listitem").filter(has_text="Bürgerenergie")).to_be_visible()
    admin.get_by_label("Publikumsstimmen").check()
    admin.get_by_role("button", name="Speichern").click()
    expect(vote).to_have_count(1)

    # anna's assignment ends: her open queue says so at once
    admin.get_by_role("group", name="Moderation").get_by_label("anna", exact=True).uncheck()
    admin.get_by_role("button", name="Speichern").click()
    expect(admin.get_by_text("Gespeichert.")).to_be_visible()
    expect(anna.get_by_role("status").filter(has_text="Sie moderieren diesen Vortrag nicht mehr.").first).to_be_visible()
    assert anna.goto(f"{server.url}/moderate/{slug}").status == 403

    # the podium link: copy it, open it, renew it — the open screen is told, the old link is gone
    old_link = admin.get_by_label("Podium-Link", exact=True).input_value()
    podium = new_page()
    podium.goto(old_link)
    live(podium)
    admin.get_by_role("button", name="Podium-Link erneuern").click()
    admin.get_by_role("dialog", name="Podium-Link erneuern?").get_by_role("button", name="Link erneuern").click()
    expect(admin.get_by_text("Neuer Podium-Link. Der alte funktioniert nicht mehr.")).to_be_visible()
    new_link = admin.get_by_label("Podium-Link", exact=True).input_value()
    assert new_link != old_link
    expect(podium.get_by_text("Dieser Podium-Link gilt nicht mehr.")).to_be_visible()
    assert requests.get(old_link, timeout=10).status_code == 404
    assert requests.get(new_link, timeout=10).status_code == 200

    # the talk list shows it open, with the question counted
    admin.get_by_role("link", name="Vorträge", exact=True).click()
    row = admin.get_by_role("row").filter(has_text="Energie: Wer erzeugt hier den Strom?")
    expect(row.get_by_role("cell").nth(2)).to_have_text("offen")
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")


def test_report_of_a_demo_talk_with_100_questions(server, new_page):
    admin = new_page()
    log_in(admin, server.url, server.user, server.password)
    admin.goto(server.url + "/admin/")
    admin.get_by_role("row").filter(has_text="Demo: Fragerunde ausprobieren").get_by_role("link", name="Bericht").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Bericht: Demo: Fragerunde ausprobieren")
    expect(admin.locator("#total")).to_have_text("100")
    chart = admin.get_by_role("img", name="Eingegangene Fragen pro 10 Minuten")
    expect(chart).to_be_visible()
    bars = admin.locator("svg.chart rect.bar")
    heights = [float(h) for h in bars.evaluate_all("rs => rs.map(r => r.getAttribute('height'))")]
    assert len(heights) >= 20 and max(heights) > 0
    expect(admin.get_by_role("region", name="Meistunterstützte unbeantwortete Fragen")
           .get_by_role("listitem")).to_have_count(10)
    expect(admin.get_by_role("button", name="Drucken")).to_be_visible()
    # printed: no navigation, the figures and the chart on A4
    admin.emulate_media(media="print")
    expect(admin.get_by_role("button", name="Drucken")).to_be_hidden()
    expect(admin.get_by_role("button", name="Abmelden")).to_be_hidden()
    expect(chart).to_be_visible()
    pdf = admin.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
