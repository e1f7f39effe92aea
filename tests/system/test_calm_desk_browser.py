"""Issue 22 in a real browser against a real server: a podium that always fits, live regions that
announce only real changes, a held queue that stays usable, messages that cover no button, "Neu"
oldest first, merging that hides nothing, flags that need a second key, "Jetzt zeigen" on "Am
Podium", asking before the round closes or the podium link is renewed, 200 % zoom, and offline.

Two moderators are two browser contexts; elements are found by role and accessible name, waiting
is Playwright's `expect`, and axe-core stays at zero in every new state.
"""
from __future__ import annotations

import re

import pytest

from tests import stage
from tests.server import Server
from tests.system.browsing import TIMEOUT, login_state, require_chromium, tag, unique

pytestmark = pytest.mark.browser

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT)

FULL_HD = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}
ZOOM_200 = {"width": 683, "height": 384}  # a 1366×768 screen at 200 %
SECOND = "mod_b"

# 490 characters, one sentence: the question of the issue.
LONG = ("Wie wollen Sie sicherstellen, dass kleine Gemeinden mit weniger als fünftausend Einwohnern bei "
        "der Vergabe der Fördermittel für bezahlbaren Wohnraum nicht systematisch benachteiligt werden, "
        "obwohl sie weder eigene Bauämter noch Fachpersonal für aufwendige Anträge haben, und welche "
        "konkreten Schritte planen Bund und Länder, damit junge Familien und ältere Menschen dort eine "
        "Wohnung finden, ohne in die nächste Großstadt ziehen zu müssen, wo die Mieten kaum bezahlbar sind?")


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare()
        srv.cli("create-user", SECOND, "--password", srv.password, "--role", "moderator")
        srv.start()
        srv.tokens = {slug: stage.open_now(srv, slug, title) for slug, title in (
            ("fit", "Wohnen: Ist hier noch was frei?"), ("ruhe", "Mobilität: Schon angebunden?"),
            ("halt", "Arbeit: Kommt jetzt der Run aufs Land?"))}
        srv.http = srv.login()
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def logins(server, browser) -> dict:
    """One form login per account for the module (logins are rate-limited)."""
    return {user: login_state(browser, server.url, user, server.password) for user in (server.user, SECOND)}


@pytest.fixture
def desk(server, new_context, logins):
    """A moderator's desk of a talk, in a browser context of its own."""
    def open_desk(slug: str, user: str | None = None, viewport: dict | None = None):
        context = new_context(viewport=viewport or LAPTOP, storage_state=logins[user or server.user])
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(f"{server.url}/moderate/{slug}")
        expect(page.get_by_role("tab").first).to_be_visible()
        page.wait_for_function("() => window.__snapshots > 0")
        return page
    return open_desk


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def no_axe_violations(axe: Axe, page) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, results.generate_report()


# Ten questions about different things (no two suggested as similar).
TOPICS = ["Wie kommt der Bus ins Dorf?", "Was kostet ein Coworking-Platz?", "Wer fördert leere Läden?",
          "Wie gewinnt man Ärztinnen?", "Warum dauert Glasfaser so lange?", "Welche Rolle spielen Vereine?",
          "Gibt es Bauland für Familien?", "Wann öffnet das Freibad wieder?", "Wer pflegt die Radwege?",
          "Kommt ein Wochenmarkt zurück?"]


def cards(page):
    """The usable cards of the visible tab (not the notes left where a card was)."""
    return page.get_by_role("tabpanel").locator(".card:not(.gone)")


def card(page, text: str):
    return page.get_by_role("tabpanel").get_by_role("listitem").filter(has_text=text)


def oldest_first(page, text: str) -> None:
    page.get_by_role("searchbox", name="Suche").fill(text)
    page.get_by_role("combobox", name="Sortierung").select_option(label="Älteste")


# Each card of the visible tab brought to the bottom of the screen, then the top of the screen
# (below the sticky bar): the buttons whose middle something else covers.
COVERED = """() => {
  const covered = [];
  const bar = document.querySelector('.desk-bar').getBoundingClientRect();
  for (const card of document.querySelectorAll('[role=tabpanel]:not([hidden]) .card')) {
    for (const block of ['end', 'start']) {
      card.scrollIntoView({block});
      if (block === 'start') window.scrollBy(0, -document.querySelector('.desk-bar').offsetHeight - 8);
      for (const b of card.querySelectorAll('button')) {
        const r = b.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (!r.width || !b.checkVisibility() || y < 0 || y > innerHeight) continue;
        const top = document.elementFromPoint(x, y);
        if (!b.contains(top)) covered.push(b.textContent + ' (' + block + '): ' + (top && top.className));
      }
    }
  }
  return covered;
}"""


def podium_url(server: Server, slug: str, overlay: bool = False) -> str:
    return f"{server.url}/podium/{server.tokens[slug]}" + ("?overlay=1" if overlay else "")


def fits(page) -> dict:
    """The current question's text box: does it show all it holds, and does the quote end on screen."""
    return page.locator("#current .text").evaluate("""e => {
        const quote = e.closest('blockquote').getBoundingClientRect();
        return {scroll: e.scrollHeight, client: e.clientHeight, bottom: quote.bottom, top: quote.top,
                height: window.innerHeight, size: parseFloat(getComputedStyle(e).fontSize),
                text: e.textContent};
    }""")


def assert_fits(page) -> dict:
    fit = fits(page)
    assert fit["scroll"] <= fit["client"], fit
    assert fit["bottom"] <= fit["height"], fit
    return fit


# --- 1. the podium re-fits on every change of what it shows --------------------------------------

def test_podium_refits_when_the_line_shows_on_resize_and_on_reload(server, new_context):
    mod = server.moderator(server.http, "fit")
    stage.moderate(mod, stage.ask(server, "fit", LONG, "Erika Mustermann"), "approve", "forward")
    page = new_context(viewport=FULL_HD).new_page()
    page.goto(podium_url(server, "fit"))
    current = page.get_by_role("region", name="Aktuelle Frage")
    expect(current).to_contain_text(LONG[:60])
    before = assert_fits(page)

    assert mod.call("backstage", {"text": "Noch 5 Minuten"})["ok"]
    expect(page.get_by_role("status").filter(has_text="Noch 5 Minuten")).to_be_visible()
    page.wait_for_function("() => { const e = document.querySelector('#current .text');"
                           " return e.scrollHeight <= e.clientHeight; }")
    with_line = assert_fits(page)
    assert with_line["size"] < before["size"], (before, with_line)  # shrunk to make room for the line
    assert with_line["text"] == LONG  # the projector shows it whole

    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_function("() => window.innerWidth === 1280")
    page.wait_for_function("() => { const e = document.querySelector('#current .text');"
                           " return e.scrollHeight <= e.clientHeight; }")
    assert_fits(page)

    page.set_viewport_size(FULL_HD)
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Noch 5 Minuten")).to_be_visible()
    expect(current).to_contain_text(LONG[:60])
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    assert_fits(page)

    assert mod.call("backstage", {"text": ""})["ok"]
    expect(page.get_by_role("status").filter(has_text="Noch 5 Minuten")).to_be_hidden()
    page.wait_for_function(f"() => parseFloat(getComputedStyle(document.querySelector('#current .text'))"
                           f".fontSize) >= {before['size']}")
    assert_fits(page)
    mod.close()


def test_overlay_keeps_a_long_question_in_the_lower_third(server, new_context):
    page = new_context(viewport=FULL_HD).new_page()
    page.goto(podium_url(server, "fit", overlay=True))
    current = page.get_by_role("region", name="Aktuelle Frage")
    expect(current).to_contain_text(LONG[:40])
    page.wait_for_function("() => { const e = document.querySelector('#current .text');"
                           " return e.scrollHeight <= e.clientHeight; }")
    fit = assert_fits(page)
    assert fit["top"] >= 1080 * 2 / 3 - 1, fit  # the lower third of the picture
    assert fit["size"] >= 26 and fit["text"] == LONG, fit  # at full HD whole and readable
    # A small output (640×360): shortened with "…" rather than shrunk below the overlay's floor.
    page.set_viewport_size({"width": 640, "height": 360})
    page.wait_for_function("() => { const q = document.querySelector('blockquote#current');"
                           " const e = q.querySelector('.text');"
                           " return window.innerHeight === 360 && q.getBoundingClientRect().top >= 240 - 1"
                           " && e.scrollHeight <= e.clientHeight; }")
    fit = assert_fits(page)
    assert fit["size"] >= 14 and fit["text"].endswith("…"), fit
    assert LONG.startswith(fit["text"][:-1]) and len(fit["text"]) > 100, fit
    page.set_viewport_size(FULL_HD)
    page.wait_for_function(f"() => document.querySelector('#current .text').textContent === {LONG!r}")
    assert_fits(page)


# --- 2. live regions announce only real changes --------------------------------------------------

# Every change inside a live region (aria-live, role=status or alert) is something a screen reader
# reads out: record each region's text after each change.
HEAR = """() => {
  window.__heard = [];
  new MutationObserver((records) => {
    const regions = new Set();
    for (const r of records) {
      const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const region = node && node.closest('[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"]');
      if (region) regions.add(region);
    }
    regions.forEach((region) => window.__heard.push(region.textContent.trim()));
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_own_questions_are_announced_once_per_real_change(server, new_context, axe):
    phone = new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
    phone.goto(f"{server.url}/t/ruhe")
    phone.wait_for_function("() => window.__snapshots > 0")
    mine = unique("Wann fährt der Rufbus auch am Sonntag?")
    phone.get_by_role("textbox", name="Ihre Frage").fill(mine)
    phone.get_by_role("button", name="Frage senden").click()
    sent = phone.get_by_role("status").filter(has_text="Gesendet – wartet auf Freigabe")
    expect(sent).to_be_visible()
    section = phone.get_by_role("region", name="Von Ihnen gesendet")
    expect(section.get_by_role("listitem").filter(has_text=mine)).to_be_visible()
    phone.evaluate(HEAR)

    mod = server.moderator(server.http, "ruhe")
    others = [unique(t) for t in ("Wer zahlt den Radweg?", "Wo parkt der Bürgerbus?", "Wann kommt Glasfaser?")]
    for text in others:
        stage.moderate(mod, stage.ask(server, "ruhe", text), "approve")
    public = phone.get_by_role("region", name="Freigegebene Fragen")
    expect(public.get_by_role("listitem").filter(has_text=others[-1])).to_be_visible()
    heard = phone.evaluate("window.__heard")
    assert not [h for h in heard if mine in h], heard  # three approvals of others: nothing of one's own

    own_id = next(q["id"] for q in mod.state.values() if q["text"] == mine)
    stage.moderate(mod, own_id, "approve")
    expect(section.get_by_role("listitem").filter(has_text=mine)).to_contain_text("Freigegeben")
    expect(phone.get_by_role("status").filter(has_text=re.compile("freigegeben", re.I))).to_be_visible()
    expect(sent).to_have_count(0)  # "wartet auf Freigabe" is no longer true
    stage.moderate(mod, stage.ask(server, "ruhe", unique("Und die Schule?")), "approve")
    expect(public.get_by_role("listitem")).to_have_count(5)
    heard = phone.evaluate("window.__heard")
    about_mine = [h for h in heard if re.search("freigegeben", h, re.I)]
    assert len(about_mine) == 1, heard  # the status change, once
    no_axe_violations(axe, phone)
    mod.close()


# --- 3. the held queue stays usable; messages cover no button ------------------------------------

def test_handled_cards_shrink_to_a_line_and_arrivals_come_by_key(server, desk, axe):
    t = tag()
    texts = [f"{topic} ({t})" for topic in TOPICS]
    for text in texts:
        stage.ask(server, "halt", text)
    anna, ben = desk("halt", viewport=FULL_HD), desk("halt", SECOND)
    for page in (anna, ben):
        oldest_first(page, t)
        expect(cards(page)).to_have_count(10)
    anna.evaluate("() => document.activeElement.blur()")  # keys go to the desk, not the search box
    card(anna, texts[0]).locator(".text").hover()  # the pointer rests on the queue

    for text in texts[1:9]:
        card(ben, text).get_by_role("button", name="Freigeben", exact=True).click()
        expect(card(ben, text).locator(".note")).to_be_visible()
    notes = anna.get_by_role("tabpanel").locator(".card.gone")
    expect(notes).to_have_count(8)
    expect(anna.get_by_role("tabpanel").locator(".card.gone.collapsed")).to_have_count(8)
    expect(notes.first).to_contain_text(f"{SECOND}: „{TOPICS[1][:20]}")
    for i in range(8):
        assert notes.nth(i).bounding_box()["height"] <= 40
    last = card(anna, texts[9])
    box = last.bounding_box()
    assert box["y"] + box["height"] <= FULL_HD["height"], box  # the usable card is on screen
    expect(last.get_by_role("button", name="Freigeben", exact=True)).to_be_in_viewport()
    no_axe_violations(axe, anna)

    late = [f"Nachzügler {n} {t} zum Markt?" for n in range(2)]
    for text in late:
        stage.ask(server, "halt", text)
    arrivals = anna.get_by_role("button", name="2 neue Fragen anzeigen")
    expect(arrivals).to_have_attribute("aria-keyshortcuts", "n")
    anna.keyboard.press("n")  # the pointer still rests on the queue
    expect(arrivals).to_be_hidden()
    expect(cards(anna)).to_have_count(4)
    expect(card(anna, late[1])).to_be_visible()


def test_messages_name_the_question_cover_no_button_and_go(server, desk, axe):
    t = tag()
    texts = [f"Wie wird der Markt {n} {t} belebt?" for n in range(8)]
    ids = [stage.ask(server, "halt", text) for text in texts]
    page = desk("halt", viewport=LAPTOP)
    oldest_first(page, t)
    expect(cards(page)).to_have_count(8)
    messages = page.get_by_role("region", name="Meldungen")
    for i in (6, 7):  # the cards at the bottom of the screen, where messages used to stack
        card(page, texts[i]).get_by_role("button", name="Hochstufen", exact=True).click()
        expect(messages).to_contain_text(f"#{ids[i]}")
    message = messages.locator(".toast")
    expect(message).to_have_count(1)  # the newest replaced the one before
    covered = page.evaluate(COVERED)
    assert not covered, covered
    no_axe_violations(axe, page)
    expect(message).to_have_count(0, timeout=12_000)  # gone by itself


# --- 4. "Neu" starts with the oldest waiting question -------------------------------------------

def test_new_starts_with_the_oldest_question_of_equal_support(server, desk):
    t = tag()
    texts = [f"{topic} ({t})" for topic in TOPICS[:4]]
    ids = [stage.ask(server, "halt", text) for text in texts]
    page = desk("halt")
    expect(page.get_by_role("combobox", name="Sortierung")).to_have_value("popular")
    page.get_by_role("searchbox", name="Suche").fill(t)
    expect(cards(page)).to_have_count(4)
    expect(cards(page).first).to_contain_text(texts[0])
    expect(cards(page).last).to_contain_text(texts[3])
    mod = server.moderator(server.http, "halt")
    stage.moderate(mod, ids[2], "upvote")  # more support goes first
    mod.close()
    expect(cards(page).first).to_contain_text(texts[2])
    expect(cards(page).nth(1)).to_contain_text(texts[0])


# --- 5. merging hides nothing ------------------------------------------------------------------

def test_a_public_question_merges_only_into_public_ones_and_says_where_it_went(server, desk, axe):
    t = tag()
    public, waiting, other = (f"{topic} ({t})" for topic in TOPICS[:3])
    ids = [stage.ask(server, "halt", text) for text in (public, waiting, other)]
    mod = server.moderator(server.http, "halt")
    stage.moderate(mod, ids[0], "approve")
    stage.moderate(mod, ids[2], "approve")
    refusal = mod.call("merge", {"question_id": ids[0], "into_id": ids[1]})
    assert refusal["error"] == "invalid" and "zuerst frei" in refusal["message"], refusal
    mod.close()

    anna, ben = desk("halt"), desk("halt", SECOND)
    for page in (anna, ben):
        page.get_by_role("tab", name=re.compile("^Freigegeben")).click()
        page.get_by_role("searchbox", name="Suche").fill(t)
        expect(cards(page)).to_have_count(2)
    card(anna, public).get_by_role("button", name="Zusammenführen", exact=True).click()
    picker = anna.get_by_role("combobox", name="Zusammenführen mit")
    expect(picker.get_by_role("option").filter(has_text=re.compile(f"^#{ids[2]} "))).to_have_count(1)
    expect(picker.get_by_role("option").filter(has_text=re.compile(f"^#{ids[1]} "))).to_have_count(0)  # waiting
    picker.select_option(str(ids[2]))
    no_axe_violations(axe, anna)
    card(ben, other).locator(".text").hover()  # Ben's queue is held: the merged card leaves a note
    card(anna, public).get_by_role("button", name="Zusammenführen", exact=True).click()
    note = ben.get_by_role("tabpanel").locator(".card.gone")
    expect(note).to_contain_text(f"jetzt Teil von #{ids[2]}")
    target = card(anna, other)
    summary = target.locator("summary").filter(has_text="zusammengeführte")
    expect(summary).to_have_text("1 zusammengeführte Frage")
    summary.click()
    expect(target).to_contain_text(public)
    for page in (anna, ben):
        body = page.locator("main").inner_text()
        for word in ("undefined", "null", "„Zusammengeführt“", "merged"):
            assert word not in body, (word, body)
    no_axe_violations(axe, ben)


# --- 6. flags need a second key; switched-off settings show -------------------------------------

def set_talk(server: Server, slug: str, **values) -> None:
    """Change a talk's settings straight in the database (as the admin form would store them)."""
    from sqlalchemy import create_engine, update

    from moderation.models import Talk
    engine = create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(update(Talk).where(Talk.slug == slug).values(**values))
    engine.dispose()


def test_a_flagged_question_waits_and_needs_a_second_key(server, desk, axe):
    stage.open_now(server, "offen", "Ehrenamt: Wer macht mit?")
    set_talk(server, "offen", premoderation=False, audience_votes=False)
    t = tag()
    insult = f"Ihr Idioten, wann kommt endlich der Bus? ({t})"
    plain = f"Wann kommt der Bus am Sonntag? ({t})"
    stage.ask(server, "offen", insult)
    stage.ask(server, "offen", plain)
    page = desk("offen")
    expect(page.get_by_text("Vorab-Moderation aus", exact=True)).to_be_visible()
    expect(page.get_by_text("Publikumsstimmen aus", exact=True)).to_be_visible()
    page.get_by_role("searchbox", name="Suche").fill(t)
    expect(cards(page)).to_have_count(1)  # only the flagged one waits; the other is public at once
    expect(cards(page).first).to_contain_text("Beleidigung?")
    page.get_by_role("tab", name=re.compile("^Freigegeben")).click()
    expect(card(page, plain)).to_be_visible()
    page.get_by_role("tab", name=re.compile("^Neu")).click()

    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("j")
    page.keyboard.press("a")
    messages = page.get_by_role("region", name="Meldungen")
    expect(messages).to_contain_text("Markiert als „Beleidigung?“ – nochmals a zum Freigeben")
    expect(cards(page)).to_have_count(1)
    expect(page.get_by_role("tab", name=re.compile("^Freigegeben"))).to_contain_text("1")
    no_axe_violations(axe, page)
    page.keyboard.press("a")
    expect(cards(page)).to_have_count(0)
    expect(page.get_by_role("tab", name=re.compile("^Freigegeben"))).to_contain_text("2")

    set_talk(server, "offen", premoderation=True, audience_votes=True)
    page.reload()
    expect(page.get_by_role("tab").first).to_be_visible()
    expect(page.get_by_text("Vorab-Moderation aus", exact=True)).to_be_hidden()
    expect(page.get_by_text("Publikumsstimmen aus", exact=True)).to_be_hidden()


# --- 7. "Am Podium": what is on screen now, "Jetzt zeigen", the order ----------------------------

def test_am_podium_marks_the_current_question_shows_one_now_and_reorders(server, desk, new_context, axe):
    server.tokens["jetzt"] = stage.open_now(server, "jetzt", "Digitales Rathaus: Wie weit sind wir?")
    texts = [f"{topic} ([{tag()}])" for topic in TOPICS[:3]]
    mod = server.moderator(server.http, "jetzt")
    for text in texts:
        stage.moderate(mod, stage.ask(server, "jetzt", text), "approve", "forward")
    mod.close()
    first, second, third = texts
    podium = new_context(viewport=FULL_HD).new_page()
    podium.goto(podium_url(server, "jetzt"))
    current = podium.get_by_role("region", name="Aktuelle Frage")
    expect(current).to_contain_text(first)

    anna, ben = desk("jetzt"), desk("jetzt", SECOND)
    for page in (anna, ben):
        page.get_by_role("tab", name=re.compile("^Am Podium")).click()
        expect(cards(page)).to_have_count(3)
        expect(card(page, first)).to_have_attribute("aria-current", "true")
        expect(card(page, first)).to_contain_text("Jetzt auf dem Podium")
        expect(card(page, second)).not_to_have_attribute("aria-current", "true")
    expect(card(anna, first).get_by_role("button", name="Jetzt zeigen")).to_have_count(0)
    no_axe_violations(axe, anna)

    card(anna, third).get_by_role("button", name="Jetzt zeigen").click()
    expect(current).to_contain_text(third)
    expect(anna.get_by_role("region", name="Meldungen")).to_contain_text("jetzt auf dem Podium")
    ben.mouse.move(5, 5)
    for page in (anna, ben):
        expect(card(page, third)).to_have_attribute("aria-current", "true")
        expect(card(page, first)).not_to_have_attribute("aria-current", "true")
        expect(page.get_by_role("tabpanel").locator("[aria-current=true]")).to_have_count(1)

    # by keyboard: the last one one place up, so it comes next
    anna.mouse.move(5, 5)
    card(anna, second).locator(".text").click()
    for _ in range(6):
        if anna.evaluate("() => document.activeElement.textContent") == "Nach oben":
            break
        anna.keyboard.press("ArrowRight")
    expect(anna.locator(":focus")).to_have_text("Nach oben")
    anna.keyboard.press("Enter")
    expect(cards(anna).nth(1)).to_contain_text(second)
    expect(cards(ben).nth(1)).to_contain_text(second)
    expect(podium.get_by_role("region", name="Als Nächstes").get_by_role("listitem").first).to_contain_text(second)
    expect(current).to_contain_text(third)
    no_axe_violations(axe, ben)


# --- 8. closing the round and renewing the podium link ask first --------------------------------

def test_closing_the_round_asks_first_naming_what_it_ends(server, desk, axe):
    stage.open_now(server, "zu", "Ehrenamt: Wer macht mit?")
    page = desk("zu")
    state = page.locator("#round-state")
    expect(state).to_contain_text("geöffnet")
    page.get_by_role("button", name="Fragerunde schließen").click()
    question = page.get_by_role("dialog", name="Fragerunde schließen?")
    expect(question).to_contain_text("Niemand kann mehr Fragen senden")
    no_axe_violations(axe, page)
    question.get_by_role("button", name="Abbrechen").click()
    expect(question).to_be_hidden()
    expect(state).to_contain_text("geöffnet")
    page.get_by_role("button", name="Fragerunde schließen").click()
    question.get_by_role("button", name="Fragerunde schließen").click()
    expect(state).to_have_text("Die Fragerunde ist geschlossen.")
    expect(page.get_by_role("region", name="Meldungen")).to_contain_text("Die Fragerunde ist geschlossen.")


def test_a_renewed_podium_link_asks_first_reaches_open_desks_and_the_old_screen_says_so(
        server, desk, new_context, logins, axe):
    server.tokens["link"] = stage.open_now(server, "link", "Digitale Dörfer: Was geht?")
    old = podium_url(server, "link")
    podium = new_context(viewport=FULL_HD).new_page()
    podium.goto(old)
    expect(podium.get_by_role("region", name="Aktuelle Frage")).to_be_attached()
    podium.wait_for_function("() => window.__snapshots > 0")
    anna = desk("link")
    expect(anna.get_by_role("link", name="Podiumsansicht öffnen")).to_have_attribute("href", old)

    admin = new_context(viewport=LAPTOP, storage_state=logins[server.user]).new_page()
    admin.goto(f"{server.url}/admin/talks/link")
    admin.get_by_role("button", name="Podium-Link erneuern").click()
    question = admin.get_by_role("dialog", name="Podium-Link erneuern?")
    expect(question).to_contain_text("Projektor und das Stream-Overlay")
    no_axe_violations(axe, admin)
    question.get_by_role("button", name="Abbrechen").click()
    expect(admin.get_by_role("textbox", name="Podium-Link")).to_have_value(old)
    admin.get_by_role("button", name="Podium-Link erneuern").click()
    question.get_by_role("button", name="Link erneuern").click()
    expect(admin.get_by_role("textbox", name="Podium-Link")).not_to_have_value(old)
    new = admin.get_by_role("textbox", name="Podium-Link").input_value()

    expect(anna.get_by_role("link", name="Podiumsansicht öffnen")).to_have_attribute("href", new)  # no reload
    expect(anna.get_by_role("region", name="Meldungen")).to_contain_text("Neuer Podium-Link")
    gone = podium.get_by_role("alert").filter(has_text="Dieser Podium-Link gilt nicht mehr")
    expect(gone).to_be_visible()
    assert float(gone.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 60
    expect(podium.get_by_text("Verbindung unterbrochen")).to_be_hidden()
    podium.reload()  # opened again with the old link: the same, large
    expect(gone).to_be_visible()
    expect(podium.get_by_text(re.compile("Verbindung unterbrochen"))).to_be_hidden()
    no_axe_violations(axe, podium)


# --- 9. 200 % zoom: nothing sticky covers the focused card ---------------------------------------

def test_at_200_percent_zoom_the_focused_card_is_never_covered(server, desk, axe):
    t = tag()
    texts = [f"{topic} ({t})" for topic in TOPICS[:6]]
    for text in texts:
        stage.ask(server, "halt", text)
    page = desk("halt", viewport=ZOOM_200)
    oldest_first(page, t)
    expect(cards(page)).to_have_count(6)
    page.screenshot(path="/work/wt/shots-i22/desk-zoom200-top.png")
    sticky = page.evaluate("""() => { const bar = document.querySelector('.desk-bar');
        return getComputedStyle(bar).position === 'sticky' ? bar.getBoundingClientRect().height : 0; }""")
    assert sticky <= 384 * 0.3, sticky  # what stays on screen takes at most a third of it
    page.evaluate("() => document.activeElement.blur()")
    for i in range(6):
        page.keyboard.press("j")
        expect(page.locator(":focus")).to_contain_text(texts[i])
        seen = page.evaluate("""() => { const card = document.activeElement.getBoundingClientRect();
            const bar = document.querySelector('.desk-bar').getBoundingClientRect();
            const sticky = getComputedStyle(document.querySelector('.desk-bar')).position === 'sticky';
            return {top: card.top, bottom: card.bottom, covered: sticky ? bar.bottom : 0, height: innerHeight}; }""")
        assert seen["top"] >= seen["covered"] - 1, (i, seen)
        assert seen["top"] < seen["height"], (i, seen)
    page.screenshot(path="/work/wt/shots-i22/desk-zoom200-focus.png")
    no_axe_violations(axe, page)


# --- 10. offline: refused at once, in German -----------------------------------------------------

def test_offline_a_moderators_click_and_a_vote_are_refused_at_once_in_german(server, desk, new_context):
    stage.open_now(server, "netz", "Funklöcher: Wann ist Schluss?")
    t = tag()
    text = f"{TOPICS[0]} ({t})"
    public = f"{TOPICS[1]} ({t})"
    stage.ask(server, "netz", text)
    mod = server.moderator(server.http, "netz")
    stage.moderate(mod, stage.ask(server, "netz", public), "approve")
    mod.close()

    page = desk("netz")
    page.get_by_role("searchbox", name="Suche").fill(t)
    expect(cards(page)).to_have_count(1)
    page.context.set_offline(True)
    expect(page.locator("#connection")).to_be_visible(timeout=30_000)
    card(page, text).get_by_role("button", name="Freigeben", exact=True).click()
    messages = page.get_by_role("region", name="Meldungen")
    expect(messages).to_contain_text("Keine Verbindung – nicht ausgeführt", timeout=2_000)  # at once, not after 8 s
    expect(messages).not_to_contain_text("timeout")
    expect(cards(page)).to_have_count(1)
    page.context.set_offline(False)
    expect(page.locator("#connection")).to_contain_text("Wieder verbunden", timeout=30_000)
    card(page, text).get_by_role("button", name="Freigeben", exact=True).click()
    expect(cards(page)).to_have_count(0)

    phone = new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
    phone.goto(f"{server.url}/t/netz")
    item = phone.get_by_role("region", name="Freigegebene Fragen").get_by_role("listitem").filter(has_text=public)
    vote = item.get_by_role("button", name=re.compile("^Auch wissen wollen"))
    expect(vote).to_be_visible()
    phone.context.set_offline(True)
    expect(phone.locator("#connection")).to_be_visible(timeout=30_000)
    vote.click()
    expect(phone.get_by_role("alert").filter(has_text="Keine Verbindung – nicht ausgeführt")).to_be_visible(timeout=2_000)
    expect(vote).to_have_attribute("aria-pressed", "false")


# --- smaller points: the way back from "Ähnlich wie", taking back "Hochstufen" -------------------

def test_similar_link_keeps_a_way_back_and_an_upvote_can_be_taken_back(server, desk, axe):
    t = tag()
    a = stage.ask(server, "halt", f"Wie kommt der Rufbus {t} ins Dorf, wenn die Buslinie eingestellt wird?")
    b = stage.ask(server, "halt", f"Wie kommt der Rufbus {t} ins Dorf, wenn die Linie eingestellt wird?")
    page = desk("halt")
    search = page.get_by_role("searchbox", name="Suche")
    search.fill(f"#{a}")
    expect(cards(page)).to_have_count(1)
    link = page.get_by_role("link", name=f"Zur ähnlichen Frage #{b} springen")
    expect(link).to_be_visible(timeout=30_000)  # suggestions come from the worker after the write
    link.click()
    expect(search).to_have_value("")
    back = page.get_by_role("button", name=f"Zurück zu #{a}")
    expect(back).to_be_visible()
    no_axe_violations(axe, page)
    back.click()
    expect(search).to_have_value(f"#{a}")
    expect(cards(page)).to_have_count(1)
    expect(page.locator(":focus")).to_contain_text(f"#{a}")
    link.click()  # the browser's Back goes back on the desk, not away from it
    expect(search).to_have_value("")
    page.go_back()
    expect(search).to_have_value(f"#{a}")
    assert page.url.endswith("/moderate/halt")

    upvote = cards(page).first.get_by_role("button", name="Hochstufen", exact=True)
    upvote.click()
    taken = cards(page).first.get_by_role("button", name="Hochstufung zurücknehmen")
    expect(taken).to_be_visible()
    expect(cards(page).first).to_contain_text("1 Hochstufung")
    taken.click()
    expect(cards(page).first).to_contain_text("0 Hochstufungen")
    expect(cards(page).first.get_by_role("button", name="Hochstufen", exact=True)).to_be_visible()


# --- 11. several questions approved at once ------------------------------------------------------

def test_picked_questions_are_approved_with_one_key_flagged_ones_stay_picked(server, desk, axe):
    stage.open_now(server, "viele", "Ehrenamt: Wer hilft beim Fest?")
    t = tag()
    plain = [f"{topic} ({t})" for topic in TOPICS[:3]]
    insult = f"Ihr Idioten, wer räumt nach dem Fest auf? ({t})"
    ids = [stage.ask(server, "viele", text) for text in plain]
    flagged_id = stage.ask(server, "viele", insult)
    anna, ben = desk("viele"), desk("viele", SECOND)
    for page in (anna, ben):
        page.get_by_role("searchbox", name="Suche").fill(t)
        expect(cards(page)).to_have_count(4)

    anna.get_by_role("checkbox", name=f"#{ids[0]} auswählen").check()
    card(anna, plain[1]).focus()
    anna.keyboard.press("x")
    expect(anna.get_by_role("checkbox", name=f"#{ids[1]} auswählen")).to_be_checked()
    anna.get_by_role("checkbox", name=f"#{ids[2]} auswählen").check()
    anna.get_by_role("checkbox", name=f"#{flagged_id} auswählen").check()
    expect(anna.get_by_role("button", name="Ausgewählte freigeben (4)")).to_be_visible()
    no_axe_violations(axe, anna)

    anna.get_by_role("checkbox", name=f"#{flagged_id} auswählen").focus()
    anna.keyboard.press("a")
    messages = anna.get_by_role("region", name="Meldungen")
    expect(messages).to_contain_text(f"Markiert, noch nicht freigegeben: #{flagged_id} (Beleidigung?)")
    expect(cards(anna)).to_have_count(1)
    expect(anna.get_by_role("checkbox", name=f"#{flagged_id} auswählen")).to_be_checked()
    expect(anna.get_by_role("button", name="Ausgewählte freigeben (1)")).to_be_visible()
    no_axe_violations(axe, anna)

    expect(cards(ben)).to_have_count(1)
    ben.get_by_role("tab", name=re.compile("^Freigegeben")).click()
    for text in plain:
        expect(card(ben, text)).to_be_visible()
    expect(card(ben, insult)).to_have_count(0)
    no_axe_violations(axe, ben)

    anna.keyboard.press("a")  # the second, deliberate press approves the flagged one too
    expect(cards(anna)).to_have_count(0)
    expect(anna.get_by_role("button", name=re.compile("^Ausgewählte freigeben"))).to_be_hidden()
    ben.get_by_role("button", name="1 neue Frage anzeigen").click()  # ben's pointer rests on the tabs
    expect(card(ben, insult)).to_be_visible()
    assert not anna.errors and not ben.errors


# --- 11. the moderators' shortlist ---------------------------------------------------------------

def test_a_star_is_shared_between_the_moderators_and_filters(server, desk, axe):
    stage.open_now(server, "stern", "Kultur: Wer spielt im Sommer?")
    t = tag()
    texts = [f"{topic} ({t})" for topic in TOPICS[3:6]]
    for text in texts:
        stage.ask(server, "stern", text)
    anna, ben = desk("stern"), desk("stern", SECOND)
    for page in (anna, ben):
        page.get_by_role("searchbox", name="Suche").fill(t)
        expect(cards(page)).to_have_count(3)

    card(anna, texts[1]).get_by_role("button", name="Vormerken").click()
    starred = card(anna, texts[1]).get_by_role("button", name="Vorgemerkt")
    expect(starred).to_have_attribute("aria-pressed", "true")
    expect(card(anna, texts[0]).get_by_role("button", name="Vormerken")).to_have_attribute("aria-pressed", "false")
    no_axe_violations(axe, anna)

    theirs = card(ben, texts[1]).get_by_role("button", name="Vorgemerkt")
    expect(theirs).to_have_attribute("aria-pressed", "true")
    ben.get_by_role("checkbox", name="Vorgemerkt").check()
    expect(cards(ben)).to_have_count(1)
    expect(cards(ben).first).to_contain_text(texts[1])
    no_axe_violations(axe, ben)

    theirs.click()  # ben takes it off the shared list: anna sees that too
    expect(card(anna, texts[1]).get_by_role("button", name="Vormerken")).to_have_attribute("aria-pressed", "false")
    ben.get_by_role("checkbox", name="Vorgemerkt").uncheck()
    expect(cards(ben)).to_have_count(3)
    assert not anna.errors and not ben.errors


# --- 11. a button's place means the same in every tab ---------------------------------------------

FIRST_STEP = {"Neu": "Freigeben", "Freigegeben": "Ans Podium", "Am Podium": "Beantwortet", "Abgelehnt": "Freigeben"}


def test_the_first_button_is_the_next_step_in_every_tab_and_stands_out(server, desk, axe):
    stage.open_now(server, "reihe", "Sport: Wer baut die Halle?")
    t = tag()
    texts = [f"{topic} ({t})" for topic in TOPICS[6:10]]
    for text in texts:
        stage.ask(server, "reihe", text)
    page = desk("reihe")
    page.get_by_role("searchbox", name="Suche").fill(t)
    expect(cards(page)).to_have_count(4)
    for tab, text, step in (("Neu", texts[1], "Freigeben"), ("Neu", texts[2], "Freigeben"),
                            ("Neu", texts[3], "Ablehnen"), ("Neu", texts[3], "Ohne Grund"),
                            ("Freigegeben", texts[2], "Ans Podium")):
        page.get_by_role("tab", name=re.compile("^" + tab)).click()
        card(page, text).get_by_role("button", name=step).click()
        page.mouse.move(0, 0)  # the hold ends: the card leaves at once
    expect(page.get_by_role("tab", name=re.compile("^Am Podium"))).to_contain_text("1")
    for tab, step in FIRST_STEP.items():
        page.get_by_role("tab", name=re.compile("^" + tab)).click()
        page.mouse.move(0, 0)
        buttons = cards(page).first.locator(".actions > button")
        expect(buttons.first).to_have_text(step)
        expect(buttons.first).to_have_class(re.compile(r"\bprimary\b"))
        expect(page.locator("[role=tabpanel]:not([hidden]) .actions > button.primary")).to_have_count(1)
        if tab in ("Neu", "Freigegeben"):
            expect(buttons.nth(1)).to_have_text("Hochstufen")  # the second button too: never a step
    no_axe_violations(axe, page)
    page.get_by_role("tab", name=re.compile("^Neu")).click()
    no_axe_violations(axe, page)
    assert not page.errors
