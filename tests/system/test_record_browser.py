"""Accountable moderation and the record in a real browser (Debian's Chromium through Playwright)
against a real server: "Melden" on a phone and the counts and filter on the desk, a reject with a
reason by keyboard and what its asker reads, a merged question telling where it went, the
Dokumentation published through the talk form (screenshots, print, axe-core), the report's
moderation figures, the rules, and a Probelauf marked on every screen and gone when it ends.

Elements are found by role and accessible name; waiting is Playwright's `expect`, never a sleep.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests import stage
from tests.server import Server, has_question, new_msg_id
from tests.system.browsing import TIMEOUT, login_state, require_chromium, unique

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1366, "height": 768}
SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(__file__).resolve().parents[2] / "shots")

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare()
        srv.start()
        srv.tokens = {"melden": stage.open_now(srv, "melden", "Wohnen: Ist hier noch was frei?"),
                      "probe": stage.in_days(srv, "probe", "Mobilität: Schon angebunden?", 3)}
        srv.http = srv.login()  # one login for the socket clients (logins per account are limited)
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def staff_state(server, browser) -> dict:
    """One login through the form for the module (an admin: the talk form and the Probelauf too)."""
    return login_state(browser, server.url, server.user, server.password)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def live(page):
    page.wait_for_function("() => window.__snapshots > 0")
    return page


def staff_page(new_context, staff_state, url: str, **options):
    page = new_context(viewport=DESK, storage_state=staff_state, **options).new_page()
    page.goto(url)
    return page


def desk(new_context, server, staff_state, slug: str):
    page = staff_page(new_context, staff_state, f"{server.url}/moderate/{slug}")
    expect(page.get_by_role("tab").first).to_be_visible()
    return live(page)


def phone(new_context, server, slug: str):
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"{server.url}/t/{slug}")
    return live(page)


def public_item(page, text: str):
    return page.get_by_role("region", name="Freigegebene Fragen").get_by_role("listitem").filter(has_text=text)


def in_tab(page, tab: str):
    page.get_by_role("tab", name=tab).click()
    return page.get_by_role("tabpanel", name=tab)


def no_violations(axe: Axe, page) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, results.generate_report()


def test_melden_on_a_phone_and_the_counts_and_filter_on_the_desk(server, new_context, staff_state, axe):
    reported, quiet = unique("Warum gibt es hier keine Bäckerei mehr?"), unique("Wie viele Wohnungen stehen leer?")
    moderator = server.moderator(server.http, "melden")
    for text in (reported, quiet):
        stage.moderate(moderator, stage.ask(server, "melden", text), "approve")
    moderator.close()
    reader = phone(new_context, server, "melden")
    item = public_item(reader, reported)
    item.get_by_role("button", name="Melden").click()
    choice = item.get_by_role("group", name="Warum melden Sie diese Frage?")
    expect(choice.get_by_role("button", name="beleidigend")).to_be_focused()
    no_violations(axe, reader)  # with the choice open
    SHOTS.mkdir(exist_ok=True)
    item.screenshot(path=str(SHOTS / "publikum-melden.png"))
    choice.get_by_role("button", name="falsch oder irreführend").click()
    expect(item.get_by_text("Gemeldet – danke.")).to_be_focused()
    expect(item.get_by_role("button", name="Melden")).to_be_hidden()
    # after a reload the page still knows, and the server takes the same report only once
    reader.reload()
    live(reader)
    expect(public_item(reader, reported).get_by_text("Gemeldet – danke.")).to_be_visible()

    page = desk(new_context, server, staff_state, "melden")
    panel = in_tab(page, "Freigegeben")
    card = panel.get_by_role("listitem").filter(has_text=reported)
    expect(card).to_contain_text("Gemeldet: 1 × falsch oder irreführend")
    expect(card).not_to_have_class(re.compile(r"\bflagged\b"))
    second = phone(new_context, server, "melden")
    public_item(second, reported).get_by_role("button", name="Melden").click()
    public_item(second, reported).get_by_role("button", name="Werbung").click()
    expect(card).to_contain_text("Gemeldet: 1 × falsch oder irreführend, 1 × Werbung")
    expect(card).to_have_class(re.compile(r"\bflagged\b"))  # several people: marked, never hidden
    page.get_by_label("Gemeldet", exact=True).check()
    expect(panel.get_by_role("listitem").filter(has_text=quiet)).to_be_hidden()
    expect(card).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "desk-gemeldet.png"))
    no_violations(axe, page)
    page.get_by_label("Gemeldet", exact=True).uncheck()
    expect(panel.get_by_role("listitem").filter(has_text=quiet)).to_be_visible()
    # the audience never sees counts
    assert "falsch oder irreführend" not in public_item(reader, reported).inner_text()


def test_reject_with_a_reason_by_keyboard_and_the_asker_reads_it(server, new_context, staff_state, axe):
    text = unique("Was halten Sie von meinem neuen Hofladen? Kommen Sie vorbei!")
    asker = phone(new_context, server, "melden")
    asker.get_by_label("Ihre Frage").fill(text)
    asker.get_by_role("button", name="Frage senden").click()
    mine = asker.get_by_role("region", name="Von Ihnen gesendet").get_by_role("listitem").filter(has_text=text)
    expect(mine).to_contain_text("Gesendet – wartet auf Freigabe")
    other = phone(new_context, server, "melden")

    page = desk(new_context, server, staff_state, "melden")
    card = page.get_by_role("tabpanel", name="Neu").get_by_role("listitem").filter(has_text=text)
    expect(card).to_be_visible()
    card.focus()
    page.keyboard.press("r")
    reasons = card.get_by_role("group")
    expect(reasons.get_by_role("button", name=re.compile("Nicht zum Thema"))).to_be_focused()
    no_violations(axe, page)
    SHOTS.mkdir(exist_ok=True)
    card.screenshot(path=str(SHOTS / "desk-ablehnen-grund.png"))
    page.keyboard.press("ArrowRight")
    expect(reasons.get_by_role("button", name=re.compile("Doppelt"))).to_be_focused()
    page.keyboard.press("4")  # Werbung
    expect(mine).to_contain_text("Nicht angenommen – enthält Werbung")
    SHOTS.mkdir(exist_ok=True)
    asker.screenshot(path=str(SHOTS / "publikum-grund.png"), full_page=True)
    rejected = in_tab(page, "Abgelehnt").get_by_role("listitem").filter(has_text=text)
    expect(rejected).to_contain_text("Grund: Werbung")
    assert text not in other.content()
    # undo, then reject again without a reason: the asker reads only that it was not accepted
    page.get_by_role("button", name=re.compile("^Rückgängig")).click()
    expect(mine).to_contain_text("Gesendet – wartet auf Freigabe")
    in_tab(page, "Neu")
    card = page.get_by_role("tabpanel", name="Neu").get_by_role("listitem").filter(has_text=text)
    card.get_by_role("button", name="Ablehnen").click()
    card.get_by_role("button", name=re.compile("Ohne Grund")).click()
    expect(mine).to_have_text(re.compile(r"Nicht angenommen$"))


def test_a_merged_question_tells_its_asker_where_it_went(server, new_context):
    first, second = unique("Wann fährt der Bus am Abend?"), unique("Fährt abends noch ein Bus?")
    moderator = server.moderator(server.http, "melden")
    target = stage.ask(server, "melden", first)
    asker = phone(new_context, server, "melden")
    asker.get_by_label("Ihre Frage").fill(second)
    asker.get_by_role("button", name="Frage senden").click()
    mine = asker.get_by_role("region", name="Von Ihnen gesendet").get_by_role("listitem").filter(has_text=second)
    expect(mine).to_contain_text("Gesendet – wartet auf Freigabe")
    assert moderator.wait_for(has_question(second))
    [dup] = [qid for qid, (_status, text, _version) in moderator.view().items() if text == second]
    assert moderator.call("merge", {"question_id": dup, "into_id": target})["ok"]
    expect(mine).to_contain_text("Mit einer ähnlichen Frage zusammengefasst")  # the other one is not public yet
    stage.moderate(moderator, target, "approve")
    expect(mine).to_contain_text(f"Zusammengefasst mit: „{first}“")
    moderator.close()


def test_the_published_documentation(server, new_context, staff_state, axe):
    slug = "doku"
    stage.open_now(server, slug, "Arbeit und Digitale Transformation")
    moderator = server.moderator(server.http, slug)
    said = [("Wie kommen Coworking-Räume in die Kleinstadt?", "Erika Muster", True),
            ("Gibt es Förderung für Breitband in Ortsteilen?", "Max Beispiel", False),
            ("Wie finden Betriebe hier Fachkräfte?", None, False),
            ("Was wird aus dem leeren Kaufhaus am Markt?", "Jana", True),
            ("Warum dauert die Baugenehmigung so lange?", None, False),
            ("Kaufen Sie meine Solaranlagen!", "Werber", True)]
    ids = []
    for text, name, consent in said:  # a person each (each may ask five a minute)
        audience = server.audience(slug)
        ack = audience.call("submit", {"text": text, "name": name, "name_in_record": consent,
                                       "client_msg_id": new_msg_id()})
        audience.close()
        assert ack["ok"], ack
        ids.append(ack["question"]["id"])
    for qid in ids[:4]:
        stage.moderate(moderator, qid, "approve")
    done = {qid: stage.moderate(moderator, qid, "forward", "answered") for qid in ids[:2]}
    edited = "Wie kommen Coworking-Räume in kleine Städte?"
    assert moderator.call("edit", {"question_id": ids[0], "text": edited,
                                   "version": done[ids[0]]["question"]["version"]})["ok"]
    assert moderator.call("answer", {"question_id": ids[2], "text": "Die IHK berät ab Mai in jeder Gemeinde.",
                                     "publish": True})["ok"]
    assert moderator.call("answer", {"question_id": ids[3], "text": "Entwurf", "publish": False})["ok"]
    assert moderator.call("note", {"question_id": ids[0], "text": "Geheime Notiz"})["ok"]
    assert moderator.call("labels", {"question_id": ids[0], "labels": ["Arbeit"]})["ok"]
    assert moderator.call("reject", {"question_id": ids[5], "reason": "werbung"})["ok"]
    assert moderator.call("reject", {"question_id": ids[4], "reason": "thema"})["ok"]
    for reason in ("falsch", "falsch", "werbung"):  # three people report the first question
        reporter = server.audience(slug)
        assert reporter.call("report", {"question_id": ids[0], "reason": reason})["ok"]
        reporter.close()
    moderator.close()

    page = staff_page(new_context, staff_state, f"{server.url}/admin/talks/{slug}")
    page.get_by_label("Aufzeichnung").fill("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    page.get_by_label("Dokumentation veröffentlichen").check()
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Gespeichert.")).to_be_visible()
    link = page.get_by_role("link", name=re.compile(r"dokumentation$"))
    expect(link).to_be_visible()

    reader = new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(server.url + "/")
    reader.get_by_role("link", name="Dokumentation: Arbeit und Digitale Transformation").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Dokumentation: Arbeit und Digitale Transformation")
    answered = reader.get_by_role("region", name="Beantwortete Fragen").get_by_role("listitem")
    expect(answered).to_have_count(2)
    expect(answered.first).to_contain_text(edited)  # as the moderators worded it last
    expect(answered.first).to_contain_text("Erika Muster")
    expect(answered.first.get_by_role("link", name=re.compile(r"^Aufzeichnung ab 00:3\d$"))).to_have_attribute(
        "href", re.compile(r"^https://www\.youtube\.com/watch\?v=dQw4w9WgXcQ&t=\d+s$"))
    expect(answered.nth(1)).not_to_contain_text("Max Beispiel")  # no consent: no name
    still_open = reader.get_by_role("region", name="Offene Fragen").get_by_role("listitem")
    expect(still_open).to_have_count(2)
    expect(still_open.first).to_contain_text("Schriftlich beantwortet")
    expect(still_open.first).to_contain_text("Die IHK berät ab Mai in jeder Gemeinde.")
    expect(still_open.nth(1)).to_contain_text("wird schriftlich beantwortet")
    body = reader.content()
    for hidden in ("in die Kleinstadt", "Geheime Notiz", "Entwurf", "Solaranlagen", "Baugenehmigung", "Werber",
                   "Arbeit</"):
        assert hidden not in body, hidden
    expect(reader.locator("#record-rejected")).to_have_text("2")
    SHOTS.mkdir(exist_ok=True)
    reader.screenshot(path=str(SHOTS / "dokumentation.png"), full_page=True)
    no_violations(axe, reader)
    reader.emulate_media(media="print")
    expect(reader.get_by_role("button", name="Drucken")).to_be_hidden()
    reader.screenshot(path=str(SHOTS / "dokumentation-druck.png"), full_page=True)
    reader.emulate_media(media="screen")
    reader.goto(server.url + f"/t/{slug}/dokumentation?lang=en")
    expect(reader.get_by_role("heading", name="Answered questions")).to_be_visible()
    no_violations(axe, reader)
    small = new_context(viewport=PHONE).new_page()
    small.goto(server.url + f"/t/{slug}/dokumentation")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    report = staff_page(new_context, staff_state, f"{server.url}/moderate/{slug}/report")
    figures = report.get_by_role("region", name="Moderation")
    expect(figures.get_by_role("table", name="Abgelehnte Fragen nach Grund").get_by_role("row", name="Werbung 1")) \
        .to_be_visible()
    expect(figures.get_by_role("table", name="Meldungen aus dem Publikum nach Grund")
           .get_by_role("row", name="falsch oder irreführend 2")).to_be_visible()
    figures.screenshot(path=str(SHOTS / "bericht-moderation.png"))
    no_violations(axe, report)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_organisers_new_fields_have_no_axe_violations(server, new_context, staff_state, axe, lang):
    for path in ("/admin/talks/melden", "/admin/series/kleinstaedte"):
        page = staff_page(new_context, staff_state, f"{server.url}{path}?lang={lang}")
        expect(page.get_by_role("textbox", name=re.compile("^(Aufzeichnung|Recording|Regeln der Fragerunde|"
                                                           "Rules of the question round)$"))).to_be_visible()
        no_violations(axe, page)


def test_the_rules_next_to_the_form(server, new_context, axe):
    page = phone(new_context, server, "melden")
    page.get_by_role("link", name="Regeln der Fragerunde").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Regeln der Fragerunde")
    expect(page.get_by_role("heading", name="Was wir nicht annehmen")).to_be_visible()
    no_violations(axe, page)
    page.goto(page.url + "?lang=en")
    expect(page.get_by_role("heading", name="What we do not accept")).to_be_visible()
    no_violations(axe, page)


def test_a_rehearsal_on_every_screen_and_gone_when_it_ends(server, new_context, staff_state, axe):
    admin = staff_page(new_context, staff_state, f"{server.url}/admin/talks/probe")
    audience = phone(new_context, server, "probe")
    expect(audience.get_by_role("button", name="Frage senden")).to_be_disabled()  # in three days
    page = desk(new_context, server, staff_state, "probe")
    podium = new_context(viewport={"width": 1280, "height": 720}).new_page()
    podium.goto(f"{server.url}/podium/{server.tokens['probe']}")
    live(podium)

    admin.get_by_role("button", name="Probelauf starten").click()
    expect(admin.get_by_text("Probelauf gestartet.")).to_be_visible()
    expect(admin.get_by_role("button", name="Probelauf beenden")).to_be_visible()
    no_violations(axe, admin)
    for screen in (audience, page, podium):
        expect(screen.get_by_role("status").filter(has_text="Probelauf")).to_be_visible()
    expect(audience.get_by_role("button", name="Frage senden")).to_be_enabled()  # works as live
    text = unique("Hört man mich hinten im Saal?")
    audience.get_by_label("Ihre Frage").fill(text)
    audience.get_by_role("button", name="Frage senden").click()
    card = page.get_by_role("listitem").filter(has_text=text)
    expect(card).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    audience.screenshot(path=str(SHOTS / "probelauf-publikum.png"), full_page=True)
    no_violations(axe, audience)

    admin.get_by_role("button", name="Probelauf beenden").click()
    expect(admin.get_by_text("Probelauf beendet: 1 Frage entfernt.")).to_be_visible()
    for screen in (audience, page, podium):
        expect(screen.get_by_role("status").filter(has_text="Probelauf")).to_have_count(0)
    expect(card).to_be_hidden()
    expect(audience.get_by_text(text)).to_be_hidden()
    expect(audience.get_by_role("button", name="Frage senden")).to_be_disabled()  # closed again, as before
