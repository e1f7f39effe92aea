"""Issue 13 in a real browser (Debian's Chromium through Playwright) against a real server: the
podium on a projector (a 490-character question fits at 1920×1080 and 1280×720, the idle screen
with link and QR code, the transparent overlay, taking a question back), the audience page on a
360 px phone before, during and after the window, the name notice, counts in both languages, and
axe-core at zero violations on every page in German and English.

Elements are found by role and accessible name; waiting is Playwright's `expect`, never a sleep.
"""
from __future__ import annotations

import re

import pytest

from tests import stage
from tests.server import Server
from tests.system.browsing import TIMEOUT, login_state, require_chromium, unique

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT)

# 490 characters, one sentence, as a long question from the audience reads.
LONG = ("Wie wollen Sie sicherstellen, dass kleine Gemeinden mit weniger als fünftausend Einwohnern bei "
        "der Vergabe der Fördermittel für bezahlbaren Wohnraum nicht systematisch benachteiligt werden, "
        "obwohl sie weder eigene Bauämter noch Fachpersonal für aufwendige Anträge haben, und welche "
        "konkreten Schritte planen Sie, damit junge Familien und ältere Menschen dort gleichermaßen eine "
        "Wohnung finden, ohne in die nächste Großstadt ziehen zu müssen, wo die Mieten kaum bezahlbar sind?")
LONG_NAME = "Erika Mustermann aus Kleinstadt"
NEXT = ["Gibt es Förderprogramme für Coworking auf dem Land?", "Wie kommt der Bus öfter ins Dorf?"]


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare()
        srv.start()
        srv.tokens = {
            "buehne": stage.open_now(srv, "buehne", "Wohnen: Ist hier noch was frei?"),
            "leer": stage.open_now(srv, "leer", "Mobilität: Schon angebunden?"),
            "zurueck": stage.open_now(srv, "zurueck", "Ehrenamt: Wer macht mit?"),
            "vorher": stage.in_days(srv, "vorher", "Arbeit und Digitale Transformation", 3),
        }
        srv.http = srv.login()  # one login for the socket clients (logins per account are limited)
        moderator = srv.moderator(srv.http, "buehne")
        stage.moderate(moderator, stage.ask(srv, "buehne", LONG, LONG_NAME), "approve", "forward")
        for text in NEXT:
            stage.moderate(moderator, stage.ask(srv, "buehne", text), "approve", "forward")
        moderator.close()
        yield srv
    finally:
        srv.close()


def podium_url(server: Server, slug: str, overlay: bool = False) -> str:
    return f"{server.url}/podium/{server.tokens[slug]}" + ("?overlay=1" if overlay else "")


@pytest.fixture(scope="module")
def staff_state(server, browser) -> dict:
    """One login through the form for the module (the account is an admin: the audit page too)."""
    return login_state(browser, server.url, server.user, server.password)


def moderator_page(new_context, server, staff_state, slug: str, lang: str = "de"):
    page = new_context(viewport={"width": 1366, "height": 900}, storage_state=staff_state).new_page()
    page.goto(f"{server.url}/moderate/{slug}?lang={lang}")
    expect(page.get_by_role("tab").first).to_be_visible()
    return page


def in_tab(page, tab: str):
    page.get_by_role("tab", name=tab).click()
    return page.get_by_role("tabpanel", name=tab)


# --- the podium ------------------------------------------------------------------------------

@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_long_question_fits_the_projector_with_the_name(server, new_context, width, height):
    page = new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(podium_url(server, "buehne"))
    current = page.get_by_role("region", name="Aktuelle Frage")
    expect(current).to_contain_text(LONG[:60])
    quote = current.get_by_text(LONG[:60])
    name = current.get_by_text(LONG_NAME)
    expect(name).to_be_visible()
    expect(page.get_by_role("heading", name="Als Nächstes")).to_be_visible()

    fit = quote.evaluate("""e => ({
        clipped: e.scrollHeight > e.clientHeight + 1,
        size: parseFloat(getComputedStyle(e).fontSize),
        pageHeight: document.documentElement.scrollHeight, pageWidth: document.documentElement.scrollWidth})""")
    assert not fit["clipped"], fit
    assert fit["pageHeight"] <= height and fit["pageWidth"] <= width, fit  # nothing to scroll
    if width == 1920:
        assert fit["size"] >= 28, fit
    for element in (name, page.get_by_role("heading", name="Als Nächstes"), page.get_by_role("listitem").last):
        box = element.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, box


def test_idle_podium_shows_the_link_and_a_qr_code(server, new_context):
    page = new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.goto(podium_url(server, "leer"))
    expect(page.get_by_role("heading", name="Mobilität: Schon angebunden?", level=1)).to_be_visible()
    link = page.get_by_role("link", name=re.compile(r"\Wt\Wleer$"))
    expect(link).to_be_visible()
    assert link.get_attribute("href").endswith("/t/leer")
    code = page.get_by_role("img", name=re.compile("QR"))
    expect(code).to_be_visible()
    expect(code).to_have_accessible_name(re.compile(r"QR.*\Wt\Wleer$"))
    assert code.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.get_by_text("Noch keine Frage am Podium.")).to_be_visible()


def test_overlay_is_transparent_and_a_lower_third_without_login(server, new_context):
    page = new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.goto(podium_url(server, "buehne", overlay=True))
    current = page.get_by_role("region", name="Aktuelle Frage")
    expect(current.get_by_text(LONG[:60])).to_be_visible()
    expect(current.get_by_text(LONG_NAME)).to_be_visible()
    backgrounds = page.evaluate("""() => [document.documentElement, document.body].map(
        e => getComputedStyle(e).backgroundColor)""")
    assert backgrounds == ["rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0)"]
    box = current.get_by_text(LONG[:60]).bounding_box()
    assert box["y"] > 1080 / 2 and box["y"] + box["height"] <= 1080, box  # the lower part of the picture
    expect(page.get_by_role("heading", name="Als Nächstes")).to_have_count(0)
    expect(page.get_by_role("img", name=re.compile("QR"))).to_have_count(0)


def test_moderator_takes_a_question_back_from_the_podium(server, new_context, staff_state):
    text = unique("Wer pflegt die Vereinsheime, wenn keiner mehr mitmacht?")
    mod = server.moderator(server.http, "zurueck")
    stage.moderate(mod, stage.ask(server, "zurueck", text), "approve", "forward")
    mod.close()
    podium = new_context(viewport={"width": 1280, "height": 720}).new_page()
    podium.goto(podium_url(server, "zurueck"))
    expect(podium.get_by_role("region", name="Aktuelle Frage")).to_contain_text(text)

    page = moderator_page(new_context, server, staff_state, "zurueck")
    card = in_tab(page, "Am Podium").get_by_role("listitem").filter(has_text=text)
    card.get_by_role("button", name="Vom Podium nehmen").click()
    expect(card).to_be_hidden()
    expect(in_tab(page, "Freigegeben").get_by_role("listitem").filter(has_text=text)).to_be_visible()
    expect(podium.get_by_text("Noch keine Frage am Podium.")).to_be_visible()
    expect(podium.get_by_role("region", name="Aktuelle Frage")).not_to_contain_text(text)


def test_als_naechstes_can_be_switched_off_per_talk(server, new_context, staff_state):
    podium = new_context(viewport={"width": 1280, "height": 720}).new_page()
    podium.goto(podium_url(server, "buehne"))
    expect(podium.get_by_role("heading", name="Als Nächstes")).to_be_visible()
    page = moderator_page(new_context, server, staff_state, "buehne")
    page.get_by_role("button", name="„Als Nächstes“ am Podium ausblenden").click()
    expect(page.get_by_role("button", name="„Als Nächstes“ am Podium zeigen")).to_be_visible()
    expect(podium.get_by_role("heading", name="Als Nächstes")).to_be_hidden()
    page.get_by_role("button", name="„Als Nächstes“ am Podium zeigen").click()
    expect(podium.get_by_role("heading", name="Als Nächstes")).to_be_visible()


# --- the audience page on a phone -------------------------------------------------------------

def phone(new_context, server, slug: str, lang: str = "de"):
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{server.url}/t/{slug}?lang={lang}")
    return page


def test_before_the_window_the_form_is_disabled_as_a_whole(server, new_context):
    page = phone(new_context, server, "vorher")
    expect(page.get_by_text(re.compile(r"^Die Fragerunde öffnet am \d\d\.\d\d\.(\d{4})? um 18:30 Uhr\.$"))
           ).to_be_visible()
    expect(page.get_by_role("group")).to_have_js_property("disabled", True)  # the fieldset, as a whole
    for control in (page.get_by_role("textbox", name="Ihre Frage"), page.get_by_role("textbox", name="Name (optional)"),
                    page.get_by_role("button", name="Frage senden")):
        expect(control).to_be_disabled()
    expect(page.get_by_role("link", name="Arbeit und Digitale Transformation")).to_have_count(0)  # not itself
    page.goto(f"{server.url}/t/vorher?lang=en")
    expect(page.get_by_text(re.compile(r"^The Q&A opens on \w+ \d+(, \d{4})? at 6:30\sPM\.$"))).to_be_visible()


def test_after_the_window_a_clear_closed_state(server, new_context):
    page = phone(new_context, server, "unterschaetzte-groesse")
    expect(page.get_by_text("Die Fragerunde ist beendet.")).to_be_visible()
    expect(page.get_by_role("button", name="Frage senden")).to_be_disabled()
    expect(page.get_by_role("textbox", name="Ihre Frage")).to_be_disabled()
    upcoming = page.get_by_role("link", name="Arbeit und Digitale Transformation")
    expect(upcoming).to_have_attribute("href", "/t/vorher")


def test_during_the_window_ask_and_see_it_sent_next_to_the_button(server, new_context):
    page = phone(new_context, server, "demo")
    expect(page.get_by_text(re.compile(r"^Die Fragerunde ist geöffnet bis \d\d:\d\d Uhr\.$"))).to_be_visible()
    name = page.get_by_role("textbox", name="Name (optional)")
    expect(name).to_be_enabled()
    expect(name).to_have_accessible_description(re.compile("öffentlich.*am Podium und im Stream"))
    page.get_by_role("textbox", name="Ihre Frage").fill(unique("Wie finden Vereine Nachwuchs?"))
    page.get_by_role("button", name="Frage senden").click()
    sent = page.get_by_role("status").filter(has_text="Gesendet – wartet auf Freigabe")
    expect(sent).to_be_visible()
    expect(sent).to_be_in_viewport()


def test_the_public_list_stays_put_while_votes_come_in(server, new_context):
    mod = server.moderator(server.http, "demo")
    texts = [unique(t) for t in ("Erste Frage zum Radweg", "Zweite Frage zur Schule", "Dritte Frage zum Markt")]
    ids = [stage.ask(server, "demo", t) for t in texts]
    for qid in ids:
        stage.moderate(mod, qid, "approve")
    page = phone(new_context, server, "demo")
    public = page.get_by_role("region", name="Freigegebene Fragen")
    for text in texts:
        expect(public.get_by_role("listitem").filter(has_text=text)).to_be_visible()

    def order() -> list[str]:
        items = public.get_by_role("listitem").all_inner_texts()
        return [next(t for t in texts if t in item) for item in items if any(t in item for t in texts)]

    before = order()
    voters = [server.audience("demo") for _ in range(3)]
    for voter in voters:
        assert voter.call("vote", {"question_id": ids[-1], "value": 1})["ok"]
    last = public.get_by_role("listitem").filter(has_text=texts[-1])
    expect(last.get_by_role("button", name=re.compile(r"Auch wissen wollen \(3\)"))).to_be_visible()
    assert order() == before  # the most-voted did not jump to the top under the reader's finger
    for voter in voters:
        voter.close()
    mod.close()


# --- counts in words, German and English -----------------------------------------------------

@pytest.mark.parametrize("lang, one_upvote, two_votes", [
    ("de", "1 Hochstufung", "2 Stimmen"), ("en", "1 upvote", "2 votes")])
def test_singular_and_plural_on_the_moderator_page(server, new_context, staff_state, lang, one_upvote, two_votes):
    text = unique("Wie viele Stimmen hat diese Frage?")
    mod = server.moderator(server.http, "demo")
    qid = stage.ask(server, "demo", text)
    stage.moderate(mod, qid, "approve", "upvote")
    voters = [server.audience("demo") for _ in range(2)]
    for voter in voters:
        assert voter.call("vote", {"question_id": qid, "value": 1})["ok"]
    page = moderator_page(new_context, server, staff_state, "demo", lang)
    card = in_tab(page, "Freigegeben" if lang == "de" else "Approved").get_by_role("listitem").filter(has_text=text)
    expect(card).to_contain_text(one_upvote)
    expect(card).to_contain_text(two_votes)
    assert voters[1].call("vote", {"question_id": qid, "value": 0})["ok"]
    expect(card).to_contain_text("1 Stimme +" if lang == "de" else "1 vote +")
    expect(card).not_to_contain_text("Stimmen +" if lang == "de" else "votes +")
    for client in (*voters, mod):
        client.close()


# --- axe-core on every page, both languages -----------------------------------------------------

PAGES = {
    "index": "/", "talk-open": "/t/demo", "talk-before": "/t/vorher", "talk-after": "/t/unterschaetzte-groesse",
    "privacy": "/datenschutz", "accessibility": "/barrierefreiheit", "login": "/login", "not-found": "/gibt-es-nicht",
    "moderation-index": "/moderate/", "moderation": "/moderate/buehne", "audit": "/admin/audit/buehne",
    "podium": "podium:buehne", "podium-idle": "podium:leer", "overlay": "overlay:buehne",
}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("name", PAGES)
def test_no_axe_violations(server, new_context, staff_state, axe, name, lang):
    path = PAGES[name]
    if path.startswith(("podium:", "overlay:")):
        kind, slug = path.split(":")
        path = podium_url(server, slug, overlay=kind == "overlay").removeprefix(server.url)
    staff = name.startswith(("moderation", "audit"))
    context = new_context(viewport={"width": 1366, "height": 768}, storage_state=staff_state if staff else None,
                          locale="de-DE" if lang == "de" else "en-US")
    page = context.new_page()
    page.goto(server.url + path + ("&" if "?" in path else "?") + "lang=" + lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    if name.startswith(("podium", "overlay")):
        expect(page.get_by_role("region", name=re.compile("Aktuelle Frage|Current question"))).to_be_attached()
    if name in ("podium", "overlay"):
        expect(page.get_by_text(LONG[:60])).to_be_visible()
    if name == "moderation":
        expect(page.get_by_role("tab").first).to_be_visible()
    results = axe.run(page)
    assert results.violations_count == 0, results.generate_report()
