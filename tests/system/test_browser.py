"""The three pages in a real browser (Debian's Chromium through Playwright) against a real
server process: a person asks from a phone, a moderator curates live, the podium shows it.

Elements are found by role and accessible name, as a person (or a screen reader) finds them.
Waiting is Playwright's auto-waiting `expect`, never a sleep.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.server import Server
from tests.system.browsing import (
    PLAYWRIGHT_DISABLED_FEATURES,
    TIMEOUT,
    UNUSED_FEATURES,
    log_in,
    login_state,
    require_chromium,
    unique,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
MOD_USER, MOD_PASSWORD = "browser_mod", "Browser-" + uuid.uuid4().hex[:12]
ROOT = Path(__file__).resolve().parents[2]
require_chromium()

from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT)





def live(page):
    """Wait until the page's live connection has delivered its snapshot."""
    page.wait_for_function("() => window.__snapshots > 0")
    return page


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare(user=False)
        srv.cli("create-user", MOD_USER, "--password", MOD_PASSWORD, "--role", "moderator")
        srv.start()
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def podium_url(server) -> str:
    return f"{server.url}/podium/{server.podium_token('demo')}"


@pytest.fixture(scope="module")
def moderator_login(server, browser) -> dict:
    """One login through the form for the module (logins per account are rate-limited)."""
    return login_state(browser, server.url, MOD_USER, MOD_PASSWORD)


@pytest.fixture
def moderator(server, new_context, moderator_login):
    """A logged-in moderator's page on the live queue of `demo`, connected."""
    page = new_context(viewport={"width": 1280, "height": 900}, storage_state=moderator_login).new_page()
    page.goto(server.url + "/moderate/demo")
    expect(page.get_by_role("tab", name="Neu")).to_be_visible()
    return live(page)


def audience_page(context, server: Server):
    page = context.new_page()
    page.goto(server.url + "/t/demo")
    expect(page.get_by_role("button", name="Frage senden")).to_be_enabled()
    return live(page)


def ask(page, text: str) -> None:
    page.get_by_label("Ihre Frage").fill(text)
    page.get_by_role("button", name="Frage senden").click()


def mine(page):
    return page.get_by_role("region", name="Von Ihnen gesendet")


def card(moderator_page, text: str):
    """The question's list item in the moderator's visible tab."""
    return moderator_page.get_by_role("listitem").filter(has_text=text)


def in_tab(page, tab: str):
    page.get_by_role("tab", name=tab).click()
    return page.get_by_role("tabpanel", name=tab)


def test_ask_moderate_forward_live(server, podium_url, new_context, moderator):
    text = unique("Wie kommen junge Familien in Kleinstädten an bezahlbaren Wohnraum?")
    audience = audience_page(new_context(viewport=PHONE, is_mobile=True, has_touch=True), server)
    podium = new_context(viewport={"width": 1280, "height": 720}).new_page()
    podium.goto(podium_url)
    live(podium)

    ask(audience, text)
    own = mine(audience).get_by_role("listitem").filter(has_text=text)
    expect(own).to_contain_text("Gesendet – wartet auf Freigabe")
    expect(audience.get_by_label("Ihre Frage")).to_have_value("")

    # the moderator sees it arrive without reloading
    pending = card(moderator, text)
    expect(pending).to_be_visible()
    pending.get_by_role("button", name="Freigeben", exact=True).click()
    # while the pointer is over the queue, a note keeps the card's place; then it goes
    expect(pending).to_contain_text("freigegeben – jetzt unter „Freigegeben“")
    moderator.mouse.move(1, 1)
    expect(pending).to_be_hidden()

    public = audience.get_by_role("region", name="Freigegebene Fragen")
    expect(public.get_by_role("listitem").filter(has_text=text)).to_contain_text("Freigegeben")

    in_tab(moderator, "Freigegeben")
    approved = card(moderator, text)
    approved.get_by_role("button", name="Ans Podium", exact=True).click()
    moderator.mouse.move(1, 1)
    expect(approved).to_be_hidden()
    in_tab(moderator, "Am Podium")
    expect(card(moderator, text)).to_be_visible()

    expect(public.get_by_role("listitem").filter(has_text=text)).to_contain_text("Am Podium")
    expect(own).to_contain_text("Am Podium")

    current = podium.get_by_role("region", name="Aktuelle Frage")
    expect(current).to_contain_text(text)
    size = current.get_by_text(text).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 32, f"podium text is {size}px, not large"


def test_offline_outbox_sends_once_when_back(server, new_context, moderator):
    text = unique("Gibt es Förderprogramme für Coworking auf dem Land?")
    context = new_context(viewport=PHONE)
    audience = audience_page(context, server)

    context.set_offline(True)
    banner = audience.get_by_role("status").filter(has_text=re.compile("Keine Verbindung|Verbindung unterbrochen"))
    expect(banner).to_be_visible()
    ask(audience, text)
    own = mine(audience).get_by_role("listitem").filter(has_text=text)
    expect(own).to_contain_text(re.compile("Nicht gesendet – erneuter Versuch…|Wird gesendet…"))
    expect(card(moderator, text)).to_have_count(0)

    context.set_offline(False)
    expect(own).to_contain_text("Gesendet – wartet auf Freigabe", timeout=30_000)
    expect(card(moderator, text)).to_have_count(1)
    expect(mine(audience).get_by_role("listitem").filter(has_text=text)).to_have_count(1)
    # nothing is left in the outbox
    assert audience.evaluate("() => localStorage.getItem('fragerunde:outbox:demo')") == "[]"


def test_outbox_survives_closing_the_page(server, new_context, moderator):
    text = unique("Was passiert mit leerstehenden Ladenlokalen im Ortskern?")
    context = new_context(viewport=PHONE)
    first = audience_page(context, server)
    context.set_offline(True)
    expect(first.get_by_role("status").filter(has_text=re.compile("Keine Verbindung|Verbindung unterbrochen"))
           ).to_be_visible()
    ask(first, text)
    expect(mine(first).get_by_role("listitem").filter(has_text=text)).to_be_visible()
    stored = first.evaluate("() => localStorage.getItem('fragerunde:outbox:demo')")
    assert text in stored
    first.close()

    context.set_offline(False)
    second = context.new_page()
    second.goto(server.url + "/t/demo")
    own = mine(second).get_by_role("listitem").filter(has_text=text)
    expect(own).to_contain_text("Gesendet – wartet auf Freigabe")
    expect(own).to_have_count(1)
    expect(card(moderator, text)).to_have_count(1)
    assert second.evaluate("() => localStorage.getItem('fragerunde:outbox:demo')") == "[]"


def test_without_javascript_the_form_still_posts(server, new_context, moderator):
    """The plain form post (CSRF token, Origin check) works from a real browser."""
    text = unique("Klappt das auch ohne JavaScript?")
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(server.url + "/t/demo")
    ask(page, text)
    expect(page.get_by_role("status").filter(has_text="Gesendet – wartet auf Freigabe")).to_be_visible()
    expect(mine(page).get_by_role("listitem").filter(has_text=text)).to_have_count(1)
    expect(card(moderator, text)).to_have_count(1)


def test_moderator_edits_and_undoes(server, new_context, moderator):
    original = unique("Wie wird der OPNV im Landkreis finanziert")
    edited = original.replace("OPNV", "ÖPNV") + "?"
    audience = audience_page(new_context(viewport=PHONE), server)
    ask(audience, original)

    question = card(moderator, original)
    expect(question).to_be_visible()
    question.get_by_role("button", name="Bearbeiten", exact=True).click()
    box = moderator.get_by_label("Text der Frage bearbeiten", exact=True)
    expect(box).to_have_value(original)
    box.fill(edited)
    moderator.get_by_role("button", name="Speichern", exact=True).click()

    question = card(moderator, edited)
    expect(question.get_by_role("paragraph").first).to_have_text(edited)
    expect(question).to_contain_text("bearbeitet")
    # the asker sees the edited text too
    expect(mine(audience).get_by_role("listitem").filter(has_text=edited)).to_be_visible()

    # the undo button names the step it takes back
    undo = moderator.get_by_role("button", name=re.compile("^Rückgängig: „.*“ bearbeitet$"))
    expect(undo).to_contain_text("Wie wird der")
    undo.click()
    restored = card(moderator, original)
    expect(restored).to_be_visible()
    expect(restored.get_by_role("paragraph").first).to_have_text(original)
    expect(card(moderator, edited)).to_have_count(0)
    expect(mine(audience).get_by_role("listitem").filter(has_text=original)).to_be_visible()


def test_no_third_party_requests_and_no_csp_errors(server, podium_url, new_context):
    context = new_context()
    page = context.new_page()
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    own_host = urlsplit(server.url).netloc

    for path in ("/", "/t/demo", "/datenschutz", "/login"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
    log_in(page, server.url, MOD_USER, MOD_PASSWORD)
    page.goto(server.url + "/moderate/demo")
    expect(page.get_by_role("tab", name="Neu")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.goto(podium_url)
    expect(page.get_by_role("region", name="Aktuelle Frage")).to_be_attached()
    page.wait_for_load_state("networkidle")

    assert any("/socket.io/" in url for url in requests), "the live pages never connected"
    foreign = [url for url in requests
               if not url.startswith("data:") and urlsplit(url).netloc != own_host]
    assert not foreign, f"requests to other hosts: {foreign}"
    csp = [p for p in problems if re.search(r"Content.Security.Policy|Refused to", p, re.I)]
    assert not csp, f"Content-Security-Policy violations: {csp}"


def test_english_with_lang_parameter(server, new_context):
    if not list((ROOT / "moderation" / "translations").glob("en/LC_MESSAGES/messages.mo")):
        pytest.skip("no compiled English catalogue (make install compiles it)")
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url + "/t/demo?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("button", name="Frage senden")).to_have_count(0)
    expect(page.get_by_label("Ihre Frage")).to_have_count(0)
    send = page.get_by_role("button", name=re.compile("question", re.I))
    expect(send).to_be_enabled()
    text = unique("How do small towns keep their doctors?")
    page.get_by_role("textbox", name=re.compile("question", re.I)).fill(text)
    send.click()
    # the browser script's words come in English too
    own = page.locator("#mine").get_by_role("listitem").filter(has_text=text)
    expect(own).to_contain_text(re.compile(r"\bsent\b", re.I))
    expect(own).not_to_contain_text("Gesendet")


def test_chromium_keeps_playwrights_switches_and_renders_no_address_bar(browser, new_context):
    """Chromium honours only the last --disable-features it is given: ours (browsing.py) must hold
    every feature Playwright's own flag disables, or a Playwright upgrade would quietly turn its new
    ones back on; and a context's window renders no address-bar popups as pages of their own."""
    cdp = browser.new_browser_cdp_session()
    pid = next(p["id"] for p in cdp.send("SystemInfo.getProcessInfo")["processInfo"] if p["type"] == "browser")
    switches = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    lists = [s.split("=", 1)[1].split(",") for s in switches if s.startswith("--disable-features=")]
    assert len(lists) == 2, lists  # Playwright's, then ours
    playwright_own, effective = lists
    assert set(playwright_own) <= set(effective), set(playwright_own) - set(effective)
    assert effective == PLAYWRIGHT_DISABLED_FEATURES + UNUSED_FEATURES

    new_context().new_page().goto("about:blank")
    targets = [t["url"] for t in cdp.send("Target.getTargets")["targetInfos"]]
    assert not [url for url in targets if "omnibox" in url], targets
