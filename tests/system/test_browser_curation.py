"""Curation in a real browser (Debian's Chromium through Playwright) against a real server:
labels and the filter by label, a private note, the line to the podium, a written answer,
blocking one person. Elements are found by role and accessible name; waiting is `expect`."""
# ruff: noqa: F811 - tests take fixtures imported from test_browser.py as arguments
from __future__ import annotations

import os
from pathlib import Path

import pytest

# The browser, a module's server and the logged-in moderator page are the ones of test_browser.py.
from tests.system.test_browser import (  # noqa: F401
    MOD_USER,
    PHONE,
    ask,
    audience_page,
    card,
    in_tab,
    live,
    mine,
    moderator,
    moderator_login,
    podium_url,
    server,
    unique,
)

pytestmark = pytest.mark.browser

from playwright.sync_api import expect  # noqa: E402

SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(__file__).resolve().parents[2] / "shots")


def curate(moderator_page, text: str):
    """Open the question's curation panel; returns the card."""
    question = card(moderator_page, text)
    question.get_by_text("Kuratieren", exact=True).click()
    return question


def test_labelled_and_filtered_queue_with_a_note(server, new_context, moderator):
    bus = unique("Wann fährt wieder ein Bus nach 20 Uhr?")
    flat = unique("Gibt es bezahlbare Wohnungen für junge Familien?")
    audience = audience_page(new_context(viewport=PHONE), server)
    ask(audience, bus)
    ask(audience, flat)
    # both on the desk before the pointer goes there (arrivals then wait, so nothing moves under it)
    expect(card(moderator, flat)).to_be_visible()

    first = curate(moderator, bus)
    labels = first.get_by_label("Schlagwörter (durch Komma getrennt)")
    labels.fill("Mobilität, an die Politik")
    labels.press("Enter")  # the keyboard way
    expect(first.get_by_role("list", name="Schlagwörter")).to_contain_text("Mobilität")
    first.get_by_label("Notiz (nur für die Moderation)").fill("Landrat ist im Panel: an ihn richten")
    first.get_by_role("button", name="Notiz speichern").click()
    expect(first.get_by_text("Notiz: Landrat ist im Panel: an ihn richten")).to_be_visible()

    second = curate(moderator, flat)
    second.get_by_label("Schlagwörter (durch Komma getrennt)").fill("Wohnen")
    second.get_by_role("button", name="Schlagwörter speichern").click()
    expect(second.get_by_role("list", name="Schlagwörter")).to_contain_text("Wohnen")

    moderator.get_by_label("Schlagwort", exact=True).select_option("Mobilität")
    expect(card(moderator, flat)).to_be_hidden()
    expect(card(moderator, bus)).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    moderator.screenshot(path=str(SHOTS / "moderation-labels.png"), full_page=True)
    moderator.get_by_label("Schlagwort", exact=True).select_option("")
    expect(card(moderator, flat)).to_be_visible()
    # the audience never sees labels or notes
    expect(mine(audience)).to_contain_text(bus)
    assert "Mobilität" not in audience.content() and "Landrat ist im Panel" not in audience.content()


def test_line_to_the_podium(server, podium_url, new_context, moderator):
    podium = new_context(viewport={"width": 1280, "height": 720}).new_page()
    podium.goto(podium_url)
    live(podium)
    overlay = new_context(viewport={"width": 1280, "height": 720}).new_page()
    overlay.goto(podium_url + "?overlay=1")
    live(overlay)

    text = unique("Wie kommt schnelles Internet in die Ortsteile?")
    ask(audience_page(new_context(viewport=PHONE), server), text)
    pending = card(moderator, text)
    pending.get_by_role("button", name="Freigeben", exact=True).click()
    expect(pending).to_contain_text("jetzt unter „Freigegeben“")  # the desk keeps its place a moment
    moderator.mouse.move(1, 1)
    expect(pending).to_be_hidden()
    in_tab(moderator, "Freigegeben")
    card(moderator, text).get_by_role("button", name="Ans Podium", exact=True).click()
    expect(podium.get_by_role("region", name="Aktuelle Frage")).to_contain_text(text)

    moderator.get_by_text("Zeile ans Podium", exact=True).click()
    moderator.get_by_label("Zeile ans Podium (höchstens 200 Zeichen)").fill("Noch 5 Minuten – Frage 3 zuerst")
    moderator.get_by_role("button", name="Ans Podium senden").click()
    expect(moderator.get_by_text("Am Podium angezeigt: Noch 5 Minuten – Frage 3 zuerst")).to_be_visible()
    box = podium.get_by_role("status", name="Von der Moderation")
    expect(box).to_contain_text("Noch 5 Minuten – Frage 3 zuerst")
    expect(box).to_contain_text(MOD_USER)
    SHOTS.mkdir(exist_ok=True)
    podium.screenshot(path=str(SHOTS / "podium-backstage.png"))
    # a podium screen opened now shows the line at once; the stream's overlay never does
    late = new_context(viewport={"width": 1280, "height": 720}).new_page()
    late.goto(podium_url)
    expect(late.get_by_role("status", name="Von der Moderation")).to_contain_text("Noch 5 Minuten")
    assert "Noch 5 Minuten" not in overlay.content()

    moderator.get_by_role("button", name="Zeile löschen").click()
    expect(box).to_be_hidden()
    expect(moderator.get_by_text("Am Podium wird keine Zeile angezeigt.")).to_be_visible()


def test_written_answer_then_blocking_and_undo(server, new_context, moderator):
    text = unique("Wie viele Ladesäulen bekommt der Marktplatz?")
    author = audience_page(new_context(viewport=PHONE), server)
    other = audience_page(new_context(viewport=PHONE), server)
    ask(author, text)
    pending = card(moderator, text)
    pending.get_by_role("button", name="Freigeben", exact=True).click()
    expect(pending).to_contain_text("jetzt unter „Freigegeben“")  # the desk keeps its place a moment
    moderator.mouse.move(1, 1)
    expect(pending).to_be_hidden()
    in_tab(moderator, "Freigegeben")

    question = curate(moderator, text)
    question.get_by_label("Schriftliche Antwort").fill("Zwei, ab Juni.")
    question.get_by_role("button", name="Antwort speichern").click()
    expect(question.get_by_text("Antwort (nur für die fragende Person):")).to_be_visible()
    own = mine(author).get_by_role("listitem").filter(has_text=text)
    expect(own).to_contain_text("Zwei, ab Juni.")
    public = other.get_by_role("region", name="Freigegebene Fragen").get_by_role("listitem").filter(has_text=text)
    expect(public).to_be_visible()
    expect(public).not_to_contain_text("Zwei, ab Juni.")

    question.get_by_label("Für alle veröffentlichen").check()
    question.get_by_role("button", name="Antwort speichern").click()
    expect(public).to_contain_text("Antwort der Moderation")
    expect(public).to_contain_text("Zwei, ab Juni.")

    question.get_by_role("button", name="Person sperren").click()
    expect(question.get_by_text("gesperrt", exact=True)).to_be_visible()
    ask(author, unique("Und warum nicht mehr?"))
    expect(author.get_by_role("alert")).to_contain_text("Vielen Dank für Ihr Verständnis")

    moderator.get_by_role("button", name="Rückgängig").first.click()
    expect(question.get_by_text("gesperrt", exact=True)).to_be_hidden()
    expect(question.get_by_role("button", name="Person sperren")).to_be_visible()
