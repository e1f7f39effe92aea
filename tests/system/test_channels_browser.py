"""Issue 23, every channel into one queue, in a real browser against a real server: a question
from the page, one mailed to a real IMAP server (Dovecot), one from a stream's chat through the
intake API, one pasted by a moderator ("Fragen übernehmen"); each card says where it came from,
the desk filters by channel, and duplicates across channels are suggested."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.mailserver import Dovecot, question_mail
from tests.server import Server, wait_until
from tests.system.browsing import log_in, require_chromium
from tests.system.test_browser import ask, audience_page, card, expect, live

pytestmark = [pytest.mark.browser, pytest.mark.server]
SHOTS = Path(os.environ.get("SHOTS_DIR", Path(__file__).resolve().parents[2] / "shots"))


@pytest.fixture(scope="module")
def imap():
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def server(imap):
    require_chromium()
    srv = Server(async_mode="eventlet", env={"IMAP_URL": imap.url, "INTAKE_ADDRESS": "fragen@example.org",
                                             "IMAP_POLL_SECONDS": "2"})
    try:
        srv.prepare()
        out = srv.cli("intake-token", "demo", "--label", "YouTube")
        srv.token = re.search(r"(fr_[\w-]+)", out).group(1)
        srv.start()
        yield srv
    finally:
        srv.close()


@pytest.fixture
def desk(server, new_context):
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    log_in(page, server.url, server.user, server.password)
    page.goto(server.url + "/moderate/demo")
    expect(page.get_by_role("tab", name=re.compile("^Neu"))).to_be_visible()
    return live(page)


def relay(server: Server, text: str, name: str | None = None, external_id: str | None = None) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/talks/demo/questions", timeout=10,
                         headers={"Authorization": f"Bearer {server.token}"},
                         json={"text": text, "name": name, "external_id": external_id})


def test_web_mail_and_chat_questions_side_by_side_with_duplicates_suggested(server, imap, desk, new_context):
    audience = audience_page(new_context(), server)
    expect(audience.get_by_text("Fragen auch per E-Mail an")).to_be_visible()
    ask(audience, "Wie gut funktioniert ein Rufbus in der Uckermark?")
    imap.append(question_mail("Name: Erika Muster\nWelche Erfahrungen gibt es mit Rufbussen in der Uckermark?\n\n"
                              "Viele Grüße\nErika", sender="erika@example.org"))
    assert relay(server, "Fährt der Rufbus in der Uckermark auch abends?", "anna_k", "yt-1").status_code == 201
    ask(audience, "Was wird aus dem leeren Bahnhofsgebäude?")
    imap.append(question_mail("Kann das Bahnhofsgebäude ein Bürgerzentrum werden?", sender="hans@example.org"))
    assert relay(server, "Gibt es Fördergeld für Coworking auf dem Land?", "landlust", "yt-2").status_code == 201

    mailed = card(desk, "Welche Erfahrungen gibt es mit Rufbussen in der Uckermark?")
    expect(mailed.locator(".badge.source")).to_have_text("E-Mail")
    expect(mailed).to_contain_text("Erika Muster")
    chat = card(desk, "Fährt der Rufbus in der Uckermark auch abends?")
    expect(chat.locator(".badge.source")).to_have_text("YouTube")
    expect(card(desk, "Wie gut funktioniert ein Rufbus in der Uckermark?").locator(".badge.source")).to_be_hidden()
    expect(mailed.locator(".similar")).to_contain_text("Ähnlich wie")  # across channels
    expect(chat.locator(".similar")).to_contain_text("Ähnlich wie")
    expect(card(desk, "Kann das Bahnhofsgebäude ein Bürgerzentrum werden?").locator(".similar")).to_contain_text(
        "Ähnlich wie")
    if os.environ.get("SHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        desk.screenshot(path=str(SHOTS / "desk-channels.png"))
        desk.screenshot(path=str(SHOTS / "desk-channels-full.png"), full_page=True)

    desk.get_by_label("Kanal").select_option(label="E-Mail")
    expect(desk.locator("#panel-pending .card")).to_have_count(2)
    desk.get_by_label("Kanal").select_option(label="Alle Kanäle")
    expect(desk.locator("#panel-pending .card")).to_have_count(6)
    assert wait_until(lambda: len(imap.seen()) == 2, 10)
    # The audience sees none of them: other channels wait for a moderator, whatever Vorab-Moderation says.
    expect(audience.get_by_text("Welche Erfahrungen gibt es mit Rufbussen")).to_have_count(0)

    # The channel survives a merge: the card lists every channel it gathers.
    mailed_badge = desk.locator(f"#{mailed.get_attribute('id')} .meta .badge.source:not(.early)")
    chat.get_by_role("button", name="Zusammenführen").click()
    picker = chat.get_by_label("Zusammenführen mit")
    picker.select_option(label=picker.locator("option", has_text="Welche Erfahrungen gibt es").inner_text())
    chat.get_by_role("button", name="Zusammenführen").click()
    expect(mailed_badge).to_have_text("E-Mail + YouTube")


def test_a_pasted_list_is_previewed_then_taken(server, desk, new_context):
    relay(server, "Wie teuer wird das Deutschlandticket für Kleinstädte?", external_id="yt-9")
    page = desk.context.new_page()
    page.goto(server.url + "/moderate/demo/import")
    expect(page.get_by_role("heading", name="Fragen übernehmen")).to_be_visible()
    page.get_by_label("Fragen").fill("Hans Meier: Wie teuer wird das Deutschlandticket für Kleinstädte?\n"
                                     "Renate: Was kostet das Deutschlandticket in einer Kleinstadt?\n"
                                     "Wer pflegt die Radwege zwischen den Dörfern?")
    page.get_by_label("Quelle").fill("Telefon")
    page.get_by_role("button", name="Vorschau").click()
    preview = page.get_by_role("region", name="Vorschau")
    expect(preview.get_by_role("listitem")).to_have_count(3)
    expect(preview.get_by_role("listitem").nth(0)).to_contain_text("Schon offen als #")
    expect(preview.get_by_role("listitem").nth(1)).to_contain_text("Ähnlich wie #")
    page.get_by_role("button", name="Übernehmen").click()
    expect(page.get_by_role("status").filter(has_text="2 Fragen übernommen")).to_be_visible()
    taken = card(desk, "Wer pflegt die Radwege zwischen den Dörfern?")
    expect(taken.locator(".badge.source")).to_have_text("Telefon")
    expect(card(desk, "Was kostet das Deutschlandticket in einer Kleinstadt?")).to_contain_text("Renate")


@pytest.mark.parametrize("path", ["/moderate/demo/import", "/admin/mail", "/admin/talks/demo", "/t/demo", "podium"])
def test_the_channel_pages_have_no_axe_violations(server, imap, desk, path):
    imap.append(question_mail("Ohne Kürzel, wohin damit?", to="fragen@example.org", subject="Eine Frage",
                              sender="ohne@example.org"))
    newest = max(imap.uids())
    if path == "podium":
        path = "/podium/" + server.podium_token("demo")
    if path == "/admin/mail":
        assert wait_until(lambda: newest in imap.seen(), 15)  # taken: it waits under "Ohne Zuordnung"
    desk.goto(server.url + path)
    if path == "/moderate/demo/import":
        desk.get_by_label("Fragen").fill("Erika: Wie kommt der Bus in die Dörfer?\nWie kommt der Bus in die Dörfer?")
        desk.get_by_role("button", name="Vorschau").click()
        expect(desk.get_by_role("region", name="Vorschau")).to_be_visible()
    if path == "/admin/mail":
        expect(desk.get_by_role("button", name="Zuordnen").first).to_be_visible()
    results = Axe().run(desk)
    assert results.violations_count == 0, results.generate_report()
