"""The moderator's desk at 19:40 in a real browser: two moderators in two browser contexts, a
busy queue (over 40 questions from distinct people), the card under the pointer, keyboard-only
moderation of a whole round, undo that names its step, the editor conflict, and axe-core at
zero violations in every state of the page.

Each test asks its own questions with a tag of its own and narrows the queue to them with
"Suche", so the tests share one server and its busy queue without depending on each other.
"""
from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from tests.server import Server, new_msg_id
from tests.system.browsing import login_state, require_chromium

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
TIMEOUT = 15_000
SECOND = "mod_b"
BUSY = [
    "Wie kommt der Bus ins Dorf, wenn die Linie eingestellt wird?",
    "Was kostet ein Coworking-Platz auf dem Land im Monat?",
    "Gibt es Förderprogramme für leerstehende Ladenlokale im Ortskern?",
    "Wie gewinnen Kleinstädte junge Ärztinnen und Ärzte für die Praxis?",
    "Warum dauert der Glasfaserausbau in den Gemeinden so lange?",
    "Welche Rolle spielen Vereine für die Entwicklung einer Kleinstadt?",
]

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT)


def tag() -> str:
    return "t" + uuid.uuid4().hex[:6]


def ask(server: Server, texts: list[str]) -> list[int]:
    """Questions from distinct people (one audience client each); their ids."""
    ids = []
    for i, text in enumerate(texts):
        client = server.audience()
        try:
            ack = client.call("submit", {"text": text, "name": f"Person {i}" if i % 2 else None,
                                         "client_msg_id": new_msg_id()})
        finally:
            client.close()
        assert ack and ack.get("ok"), ack
        ids.append(ack["question"]["id"])
    return ids


@pytest.fixture(scope="module")
def server():
    srv = Server(async_mode="eventlet")
    try:
        srv.prepare()
        srv.cli("create-user", SECOND, "--password", srv.password, "--role", "moderator")
        srv.start()
        ask(srv, [f"{BUSY[i % len(BUSY)]} (Runde {i})" for i in range(40)]
            + ["Jetzt Bitcoin kaufen bei www.example.xyz, nur heute!"])
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def logins(server, browser) -> dict:
    """One form login per account for the module (logins are rate-limited)."""
    return {user: login_state(browser, server.url, user, server.password) for user in (server.user, SECOND)}


@pytest.fixture
def desk(server, browser, logins):
    """Opens the moderator page of `demo` for an account, in a context of its own."""
    made = []

    def open_desk(user: str | None = None, viewport: dict | None = None):
        context = browser.new_context(locale="de-DE", viewport=viewport or LAPTOP,
                                      storage_state=logins[user or server.user])
        context.set_default_timeout(TIMEOUT)
        made.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        page.goto(server.url + "/moderate/demo")
        expect(page.locator(".card").first).to_be_visible()
        return page

    yield open_desk
    problems = [e for c in made for p in c.pages for e in p.errors]
    for context in made:
        context.close()
    assert not problems, f"script errors on the page: {problems}"


def search(page, text: str) -> None:
    page.get_by_role("searchbox", name="Suche").fill(text)


def cards(page):
    """The live cards of the visible tab (not the notes left where a card was)."""
    return page.get_by_role("tabpanel").locator(".card:not(.gone)")


def card(page, text: str):
    return page.get_by_role("tabpanel").get_by_role("listitem").filter(has_text=text)


def tab(page, name: str):
    return page.get_by_role("tab", name=re.compile("^" + name))


def focused_card_text(page) -> str | None:
    return page.evaluate("() => { const c = document.activeElement.closest('.card');"
                         " return c ? c.querySelector('.text').textContent : null; }")


def undo_button(page):
    return page.get_by_role("button", name=re.compile("^Rückgängig"))


def two_desks(server: Server, desk, text: str, t: str):
    """A new question, and both moderators' desks narrowed to it."""
    ask(server, [text])
    pages = desk(), desk(SECOND)
    for page in pages:
        search(page, t)
    return pages


def age_steps(server: Server, user: str, minutes: int) -> None:
    """Make a moderator's steps older, as if they were taken minutes ago."""
    path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        table = "audit_entry" if db.execute("SELECT name FROM sqlite_master WHERE name='audit_entry'").fetchone() \
            else "transition"
        db.execute(f"UPDATE {table} SET at = datetime(at, '-{minutes} minutes') "
                   "WHERE user_id = (SELECT id FROM user WHERE username = ?)", (user,))


def contrast(page, selector_js: str) -> float:
    """Contrast of the focused element's outline against the colour behind it."""
    return page.evaluate("""(find) => {
      const node = eval(find);
      const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
      const lum = (c) => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                           return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
      let behind = node.parentElement;
      while (behind && getComputedStyle(behind).backgroundColor.match(/rgba\\(.*, 0\\)|transparent/)) behind = behind.parentElement;
      const a = lum(rgb(getComputedStyle(node).outlineColor));
      const b = lum(rgb(getComputedStyle(behind || document.body).backgroundColor));
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""", selector_js)


# --- order and finding -------------------------------------------------------------------------

def test_order_search_filters_counts_and_similar_links(server, desk):
    t = tag()
    page = desk()
    sort = page.get_by_role("combobox", name="Sortierung")
    expect(sort).to_have_value("popular")
    expect(sort.locator("option")).to_have_text(["Beliebteste", "Neueste", "Älteste"])
    expect(tab(page, "Neu")).to_contain_text(re.compile(r"\b4[1-9]|[5-9]\d\b"))

    first, second, third = ask(server, [f"Alpha {t} zum Nahverkehr?", f"Beta {t} zur Schule?",
                                        f"Gamma {t} zum Wohnen?"])
    search(page, t)
    expect(cards(page)).to_have_count(3)
    expect(tab(page, "Neu")).to_contain_text(re.compile(r"3 von \d\d"))
    sort.select_option(label="Neueste")
    expect(cards(page).first).to_contain_text(f"Gamma {t}")
    sort.select_option(label="Älteste")
    expect(cards(page).first).to_contain_text(f"Alpha {t}")
    alpha = card(page, f"Alpha {t}")
    expect(alpha).to_contain_text(f"#{first}")
    expect(alpha.locator("time")).to_have_text(re.compile(r"^(gerade eben|vor \d+ Min\.)$"))
    expect(card(page, f"Beta {t}")).to_contain_text("Person 1")

    # "Beliebteste" counts the audience's votes and the moderators' upvotes together
    anna = server.moderator(server.login())
    ben = server.moderator(server.login(SECOND, server.password))
    for qid in (first, second):
        assert anna.call("approve", {"question_id": qid})["ok"]
    for moderator in (anna, ben):
        assert moderator.call("upvote", {"question_id": first})["ok"]
    for _ in range(3):
        voter = server.audience()
        assert voter.call("vote", {"question_id": second, "value": 1})["ok"]
        voter.close()
    anna.close()
    ben.close()
    sort.select_option(label="Beliebteste")
    tab(page, "Freigegeben").click()
    # The pointer rests on the tabs, where the desk holds every re-sort (the vote counts may come
    # after the click); it moves away, as it would to read the cards.
    page.mouse.move(0, 0)
    expect(cards(page)).to_have_count(2)
    expect(cards(page).first).to_contain_text(f"Beta {t}")
    expect(cards(page).first).to_contain_text("3 Stimmen + 0 Hochstufungen")
    expect(cards(page).nth(1)).to_contain_text("0 Stimmen + 2 Hochstufungen")

    # the choice is kept for this moderator, not for the other one
    sort.select_option(label="Älteste")
    page.reload()
    expect(page.get_by_role("combobox", name="Sortierung")).to_have_value("oldest")
    other = desk(SECOND)
    expect(other.get_by_role("combobox", name="Sortierung")).to_have_value("popular")

    # flagged questions on their own
    page.get_by_role("checkbox", name="Nur markierte").check()
    expect(cards(page).first).to_be_visible()
    for i in range(cards(page).count()):
        expect(cards(page).nth(i)).to_contain_text(re.compile("Werbung\\?|Beleidigung\\?|Wiederholung"))
    page.get_by_role("checkbox", name="Nur markierte").uncheck()

    # similar questions are links to the other card, which is shown and marked
    twin_a, twin_b = ask(server, [f"Wie kommt der Bus nach {t} wenn die Linie endet?",
                                  f"Wie kommt der Bus nach {t}, wenn die Linie endet"])
    search(page, t)
    link = card(page, f"nach {t}, wenn").get_by_role("link", name=f"Zur ähnlichen Frage #{twin_a} springen")
    expect(link).to_be_visible()
    page.get_by_role("checkbox", name="Nur mit ähnlichen").check()
    # the twins, and only cards with a suggestion (the meaning backend may also pair "Alpha … zum
    # Nahverkehr?" with the bus questions that share its tag)
    expect(card(page, f"nach {t} wenn")).to_be_visible()
    expect(card(page, f"nach {t}, wenn")).to_be_visible()
    expect(cards(page).filter(has_not=page.locator(".similar:not([hidden])"))).to_have_count(0)
    search(page, "")
    page.get_by_role("checkbox", name="Nur mit ähnlichen").uncheck()
    search(page, f"#{twin_b}")
    card(page, f"nach {t}, wenn").get_by_role("link", name=f"Zur ähnlichen Frage #{twin_a} springen").click()
    target = page.locator(f"#q-{twin_a}")
    expect(target).to_be_focused()
    expect(target).to_have_class(re.compile("highlight"))
    expect(page.get_by_role("searchbox", name="Suche")).to_have_value("")


# --- nothing moves under the pointer -----------------------------------------------------------

def test_cards_do_not_move_under_the_pointer_or_the_focus(server, desk):
    t = tag()
    texts = [f"Frage {n} {t} zur Ortsmitte?" for n in range(1, 6)]
    ask(server, texts)
    anna, ben = desk(), desk(SECOND)
    for page in (anna, ben):
        search(page, t)
        page.get_by_role("combobox", name="Sortierung").select_option(label="Älteste")
        expect(cards(page)).to_have_count(5)
        page.get_by_role("combobox", name="Sortierung").select_option(label="Beliebteste")
    order = [cards(anna).nth(i).locator(".text").text_content() for i in range(5)]
    aimed = order[2]
    anna.evaluate("""() => { window.__announced = [];
      new MutationObserver(() => { const t = document.getElementById('arrivals').textContent;
        if (t) window.__announced.push(t); }).observe(document.getElementById('arrivals'),
        {childList: true, characterData: true, subtree: true}); }""")
    button = card(anna, aimed).get_by_role("button", name="Freigeben", exact=True)
    button.hover()
    boxes = [cards(anna).nth(i).bounding_box() for i in range(5)]

    # the other moderator makes the last card the most popular, four new questions arrive
    card(ben, order[4]).get_by_role("button", name="Hochstufen", exact=True).click()
    expect(card(ben, order[4])).to_contain_text("1 Hochstufung")
    ask(server, [f"Nachzügler {n} {t} zum Markt?" for n in range(4)])
    expect(anna.get_by_role("button", name="4 neue Fragen anzeigen")).to_be_visible()
    expect(card(anna, order[4])).to_contain_text("1 Hochstufung")
    assert [cards(anna).nth(i).bounding_box() for i in range(5)] == boxes
    assert [cards(anna).nth(i).locator(".text").text_content() for i in range(5)] == order

    # arrivals are announced summarised, not one by one
    anna.wait_for_function("() => window.__announced.length > 0")
    announced = anna.evaluate("() => window.__announced")
    total = sum(1 if t.startswith("Neue Frage") else int(re.match(r"\d+", t).group()) for t in announced)
    assert len(announced) < 4 and total <= 4, announced

    # the click lands on the card that was aimed at; its place keeps a note of what happened
    anna.mouse.down()
    anna.mouse.up()
    note = anna.get_by_role("tabpanel").locator(".card.gone").filter(has_text=aimed[:20])
    expect(note).to_contain_text("freigegeben – jetzt unter „Freigegeben“")
    # the cards above it and the note's own top stay; after a moment the note shrinks to one line
    assert [anna.locator(".queue:visible > li").nth(i).bounding_box() for i in range(2)] == boxes[:2]
    assert note.bounding_box()["y"] == boxes[2]["y"]
    expect(anna.get_by_role("tabpanel").locator(".card.gone.collapsed")).to_have_count(1)
    assert note.bounding_box()["height"] < boxes[2]["height"]
    tab(ben, "Freigegeben").click()
    expect(card(ben, aimed)).to_be_visible()

    # when the pointer leaves, the queue is laid out anew
    anna.mouse.move(5, 5)
    expect(anna.get_by_role("button", name="4 neue Fragen anzeigen")).to_be_hidden()
    expect(cards(anna).first).to_contain_text(order[4])
    expect(cards(anna)).to_have_count(8)
    expect(anna.locator(".card.gone")).to_have_count(0)

    # keyboard focus holds the queue too; "Neu sortieren" applies the new order on request
    anna.keyboard.press("Escape")
    anna.locator("body").click(position={"x": 5, "y": 5})
    anna.keyboard.press("j")
    focused = focused_card_text(anna)
    assert focused == cards(anna).first.locator(".text").text_content()
    last = cards(anna).last.locator(".text").text_content()
    tab(ben, "Neu").click()
    card(ben, last).get_by_role("button", name="Hochstufen", exact=True).click()
    expect(card(ben, last).get_by_role("button", name="Hochstufung zurücknehmen")).to_be_visible()
    resort = anna.get_by_role("button", name="Neu sortieren")
    expect(resort).to_be_visible()
    assert focused_card_text(anna) == focused
    expect(cards(anna).last).to_contain_text(last)
    resort.focus()
    resort.press("Enter")
    # one upvote like the question Ben upvoted before, which waits longer: it comes right after it
    expect(cards(anna).nth(1)).to_contain_text(last)
    assert focused_card_text(anna) is not None


# --- the keyboard alone ------------------------------------------------------------------------

def test_keyboard_only_moderation_of_a_whole_round(server, desk):
    t = tag()
    texts = [f"Runde {n} {t}: Wie geht es weiter mit Thema {n}?" for n in range(1, 7)]
    ask(server, texts)
    page = desk()
    page.get_by_role("combobox", name="Sortierung").select_option(label="Älteste")
    page.locator("body").click(position={"x": 5, "y": 5})
    keys = page.keyboard

    def on_a_card():
        assert page.evaluate("() => document.activeElement !== document.body")
        text = focused_card_text(page)
        assert text is not None, "the focus left the cards"
        return text

    keys.press("/")
    expect(page.get_by_role("searchbox", name="Suche")).to_be_focused()
    keys.type(t)
    keys.press("a")  # typing, not approving
    expect(page.get_by_role("searchbox", name="Suche")).to_have_value(t + "a")
    keys.press("Backspace")
    expect(cards(page)).to_have_count(6)
    keys.press("Enter")
    assert on_a_card() == texts[0]

    # one Tab stop per card, arrows inside it
    keys.press("Tab")
    assert on_a_card() == texts[1]
    keys.press("End")
    expect(page.locator(":focus")).to_have_text("Kuratieren")  # the curation panel closes each card
    keys.press("ArrowLeft")
    expect(page.locator(":focus")).to_have_text("Zusammenführen")
    keys.press("ArrowLeft")
    expect(page.locator(":focus")).to_have_text("Bearbeiten")
    assert on_a_card() == texts[1]
    keys.press("Shift+Tab")
    assert on_a_card() == texts[0]
    keys.press("k")
    keys.press("j")
    assert on_a_card() == texts[1]
    keys.press("k")
    assert on_a_card() == texts[0]
    ring = contrast(page, "document.activeElement")
    assert ring >= 3, f"focus ring contrast {ring:.2f}:1"

    keys.press("a")
    expect(undo_button(page)).to_have_accessible_name(re.compile(f"^Rückgängig: „Runde 1 {t}.*“ freigegeben$"))
    assert on_a_card() == texts[1]
    keys.press("a")
    expect(card(page, texts[1])).to_have_count(0)
    assert on_a_card() == texts[2]
    keys.press("r")  # asks why: 1 is "Nicht zum Thema"
    expect(page.get_by_role("button", name=re.compile("Nicht zum Thema"))).to_be_focused()
    keys.press("1")
    expect(card(page, texts[2])).to_have_count(0)
    assert on_a_card() == texts[3]

    keys.press("e")
    editor = page.get_by_role("textbox", name="Text der Frage bearbeiten")
    expect(editor).to_be_focused()
    keys.press("End")
    keys.type(" (gekürzt)")
    keys.press("Tab")
    expect(page.get_by_role("button", name="Speichern")).to_be_focused()
    keys.press("Enter")
    expect(card(page, texts[3] + " (gekürzt)")).to_have_count(1)
    assert on_a_card() == texts[3] + " (gekürzt)"

    keys.press("m")
    picker = page.get_by_role("combobox", name="Zusammenführen mit")
    expect(picker).to_be_focused()
    keys.press("Tab")
    expect(page.locator(":focus")).to_have_text("Zusammenführen")
    keys.press("Enter")
    expect(undo_button(page)).to_have_accessible_name(re.compile("zusammengeführt$"))
    on_a_card()
    keys.press("u")
    expect(page.get_by_role("region", name="Meldungen")).to_contain_text("Zurückgenommen:")
    expect(card(page, texts[3] + " (gekürzt)")).to_have_count(1)
    expect(undo_button(page)).to_have_accessible_name(re.compile("bearbeitet$"))

    keys.press("?")
    dialog = page.get_by_role("dialog", name="Tastenkürzel")
    expect(dialog).to_be_visible()
    for key, words in (("j", "nächste"), ("a", "Freigeben"), ("r", "Ablehnen"), ("f", "Ans Podium"),
                       ("b", "Beantwortet"), ("e", "Bearbeiten"), ("m", "Zusammenführen"), ("u", "Rückgängig"),
                       ("/", "Suche")):
        expect(dialog).to_contain_text(key)
        expect(dialog).to_contain_text(words)
    keys.press("Escape")
    expect(dialog).to_be_hidden()

    keys.press("j")
    on_a_card()
    while cards(page).count():
        before = cards(page).count()
        keys.press("a")
        expect(cards(page)).to_have_count(before - 1)
        if before > 1:
            on_a_card()
    expect(tab(page, "Neu")).to_contain_text("0 von")

    def to_tab(name: str) -> None:
        for _ in range(12):
            if page.evaluate("() => document.activeElement.getAttribute('role')") == "tab":
                break
            keys.press("Shift+Tab")
        while page.evaluate("() => document.activeElement.textContent").strip().split(" ")[0] != name:
            keys.press("ArrowRight")
        expect(tab(page, name)).to_have_attribute("aria-selected", "true")

    def every_card(key: str) -> None:
        expect(cards(page)).to_have_count(5)
        keys.press("j")
        for remaining in range(5, 0, -1):
            on_a_card()
            keys.press(key)
            expect(cards(page)).to_have_count(remaining - 1)

    to_tab("Freigegeben")
    every_card("f")
    to_tab("Am")
    every_card("b")
    to_tab("Beantwortet")
    expect(cards(page)).to_have_count(5)
    expect(page.locator(":focus")).to_have_count(1)


# --- undo that says what it undoes -------------------------------------------------------------

def test_undo_names_its_step_refuses_what_others_built_on_and_asks_for_old_steps(server, desk):
    t = tag()
    text = f"Wie kommt der Bus {t} ins Dorf, wenn die Linie eingestellt wird?"
    anna, ben = two_desks(server, desk, text, t)
    card(anna, text).get_by_role("button", name="Freigeben", exact=True).click()
    expect(undo_button(anna)).to_have_accessible_name(f"Rückgängig: „Wie kommt der Bus {t} ins Dorf, wen…“ freigegeben")
    expect(anna.locator(".card.gone")).to_contain_text("freigegeben – jetzt unter „Freigegeben“")

    tab(ben, "Freigegeben").click()
    card(ben, text).get_by_role("button", name="Ans Podium", exact=True).click()
    expect(ben.locator(".card.gone")).to_contain_text("ans Podium gegeben – jetzt unter „Am Podium“")

    undo_button(anna).click()
    alert = anna.get_by_role("alert")
    expect(alert).to_contain_text(f"{SECOND} hat danach darauf aufgebaut (ans Podium gegeben)")
    anna.mouse.move(5, 5)
    anna.get_by_role("region", name="Meldungen").get_by_role("button", name="Schließen").click()
    expect(alert).to_have_count(0)

    undo_button(ben).click()
    expect(ben.get_by_role("region", name="Meldungen")).to_contain_text("Zurückgenommen: „Wie kommt")
    age_steps(server, server.user, 10)
    undo_button(anna).click()
    question = anna.get_by_role("dialog", name="Älteren Schritt zurücknehmen?")
    expect(question).to_contain_text("Minuten her")
    expect(question).to_contain_text("Die Frage kommt von „Freigegeben“ zurück nach „Neu“.")
    question.get_by_role("button", name="Zurücknehmen").click()
    expect(anna.get_by_role("region", name="Meldungen")).to_contain_text(
        f"Zurückgenommen: „Wie kommt der Bus {t} ins Dorf, wen…“ freigegeben")
    tab(anna, "Neu").click()
    expect(card(anna, text)).to_be_visible()


def test_nothing_above_the_queue_moves_when_the_undo_button_names_a_step(server, desk):
    """The undo button takes the name of one's last step; at 1366 px the bar above the queue must
    keep its height (a longer button once wrapped it, and every card moved down a row)."""
    t = tag()
    ask(server, [f"Wer plant den neuen Radweg {t} zwischen den Dörfern?"])
    page = desk()
    search(page, t)
    tabs = page.get_by_role("tablist")
    before = tabs.bounding_box()
    card(page, t).get_by_role("button", name="Freigeben", exact=True).click()
    expect(undo_button(page)).to_have_accessible_name(re.compile("^Rückgängig: „Wer plant den neuen Radweg"))
    assert tabs.bounding_box() == before


# --- editing with others -----------------------------------------------------------------------

def test_the_editor_stays_and_offers_their_text_or_ones_own(server, desk):
    t = tag()
    text = f"Was wird aus dem Bahnhof {t}?"
    anna, ben = two_desks(server, desk, text, t)
    card(anna, text).get_by_role("button", name="Bearbeiten", exact=True).click()
    mine = anna.get_by_role("textbox", name="Text der Frage bearbeiten")
    mine.fill(f"Was wird aus dem alten Bahnhof {t}?")

    card(ben, text).get_by_role("button", name="Bearbeiten", exact=True).click()
    ben.get_by_role("textbox", name="Text der Frage bearbeiten").fill(f"Was geschieht mit dem Bahnhof {t}?")
    ben.get_by_role("button", name="Speichern").click()
    expect(ben.get_by_role("textbox", name="Text der Frage bearbeiten")).to_have_count(0)

    notice = anna.locator(".card .conflict")
    expect(notice).to_contain_text(f"{SECOND} hat diese Frage geändert: neuer Text „Was geschieht mit dem Bahnhof {t}?“")
    expect(mine).to_have_value(f"Was wird aus dem alten Bahnhof {t}?")
    anna.get_by_role("button", name="Meinen Text behalten").click()
    anna.get_by_role("button", name="Speichern").click()
    expect(card(anna, f"Was wird aus dem alten Bahnhof {t}?")).to_have_count(1)
    expect(card(ben, f"Was wird aus dem alten Bahnhof {t}?")).to_have_count(1)

    # their text, taken over; and a status change keeps the editor where it is
    card(anna, t).get_by_role("button", name="Bearbeiten", exact=True).click()
    mine.fill("Ganz anders formuliert?")
    card(ben, t).get_by_role("button", name="Bearbeiten", exact=True).click()
    ben.get_by_role("textbox", name="Text der Frage bearbeiten").fill(f"Und der Bahnhof {t}?")
    ben.get_by_role("button", name="Speichern").click()
    expect(notice).to_contain_text(f"neuer Text „Und der Bahnhof {t}?“")
    anna.get_by_role("button", name="Deren Text übernehmen").click()
    expect(mine).to_have_value(f"Und der Bahnhof {t}?")
    card(ben, t).get_by_role("button", name="Freigeben", exact=True).click()
    expect(notice).to_contain_text("jetzt „Freigegeben“")
    expect(mine).to_be_visible()
    mine.fill(f"Und was wird aus dem Bahnhof {t}?")
    anna.get_by_role("button", name="Speichern").click()
    expect(mine).to_have_count(0)
    expect(anna.get_by_role("alert")).to_have_count(0)
    anna.mouse.move(5, 5)
    tab(anna, "Freigegeben").click()
    expect(card(anna, f"Und was wird aus dem Bahnhof {t}?")).to_be_visible()


# --- accessibility in every state --------------------------------------------------------------

def test_axe_finds_nothing_in_any_state_of_the_desk(server, desk):
    t = tag()
    ask(server, [f"Wie kommt der Bus {t} ins Dorf?", f"Wie kommt der Bus {t} ins Dorf??"])
    page = desk()
    axe = Axe()

    def clean(state: str) -> None:
        results = axe.run(page)
        assert results.violations_count == 0, f"{state}:\n{results.generate_report()}"

    clean("busy queue")
    search(page, t)
    first = cards(page).first
    first.get_by_role("button", name="Bearbeiten", exact=True).click()
    clean("editor open")
    page.get_by_role("button", name="Abbrechen").click()
    first.get_by_role("button", name="Zusammenführen", exact=True).click()
    clean("merge picker")
    page.get_by_role("button", name="Abbrechen").click()
    page.get_by_role("button", name=re.compile("^Tastenkürzel")).click()
    expect(page.get_by_role("dialog", name="Tastenkürzel")).to_be_visible()
    clean("help dialog")
    page.keyboard.press("Escape")
    first.get_by_role("button", name="Freigeben", exact=True).click()
    expect(page.locator(".card.gone")).to_have_count(1)
    clean("note where a card was, toast")
    page.mouse.move(5, 5)
    age_steps(server, server.user, 10)
    undo_button(page).click()
    expect(page.get_by_role("dialog", name="Älteren Schritt zurücknehmen?")).to_be_visible()
    clean("undo confirmation")
    page.get_by_role("button", name="Abbrechen").click()
