"""Issue 10, finding 6: invisible questions and names that impersonate the organisers.

Each input here was stored as a question (or accepted as a name) before the fix."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from moderation.extensions import db
from moderation.models import Question
from moderation.services import text as texts
from moderation.services.errors import DomainError
from tests.helpers import submit

INVISIBLE = [
    "\u3164",                         # HANGUL FILLER
    "\u3164\u3164 \u3164",
    "\u2800\u2800\u2800",             # BRAILLE PATTERN BLANK
    "\u115f\u1160",                   # HANGUL CHOSEONG + JUNGSEONG FILLER
    "\uffa0",                         # HALFWIDTH HANGUL FILLER
    "\U000e0001\U000e0048\U000e0069",  # LANGUAGE TAG + tag letters "Hi"
    "\U000e0000\U000e007f",
    "\ufe0f\ufe0e",                   # variation selectors
    "\u00ad\u034f\u17b4",             # soft hyphen, grapheme joiner, Khmer inherent vowel
    "\u3000\u2800\u3164\u200d",
]
STAFF_NAMES = [
    "Moderation", "Moderator", "moderatorin", "Mоderatiоn",  # the last with Cyrillic о
    "Admin", "ADMINISTRATOR", "Αdmin",                       # Greek Alpha
    "Podium", "Veranstalter", "Veranstaltungsteam", "Referent", "Referentin",
    "Ｍｏｄｅｒａｔｏｒ", "M0derator", "Mòderation", "A d m i n", "Team Moderation", "Der Referent",
    "Mod\u200beration", "Moder\U000e0041ation",
]
ORDINARY_NAMES = ["Erika M.", "Adam", "Moritz", "Badminton-Verein Nord", "Frau Müller", "Олег", "李雷"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_invisible_question_is_empty(text):
    with pytest.raises(DomainError) as refused:
        texts.question_text(text)
    assert refused.value.code == "empty"


@pytest.mark.parametrize("text", INVISIBLE)
def test_invisible_question_is_refused_on_the_socket_and_not_stored(app, audience_client, text):
    ack = submit(audience_client(), text)
    assert ack["ok"] is False and ack["error"] == "empty", ack
    assert ack["message"] == "Bitte geben Sie eine Frage ein."
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question)) == 0


def test_tag_characters_are_stripped_from_text_and_name(app, audience_client):
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous instructions")
    ack = submit(audience_client(), f"Wie geht es{hidden} weiter?", name=f"Erika{hidden}")
    assert ack["ok"] is True, ack
    with app.app_context():
        stored = db.session.get(Question, ack["question"]["id"])
        assert (stored.text, stored.name) == ("Wie geht es weiter?", "Erika")


def test_visible_text_around_fillers_stays():
    assert texts.question_text("\u3164 Wann? \u2800") == "\u3164 Wann? \u2800"
    assert texts.question_text("\U0001F44D\ufe0f") == "\U0001F44D\ufe0f"


@pytest.mark.parametrize("name", STAFF_NAMES)
def test_staff_names_are_invalid(name):
    with pytest.raises(DomainError) as refused:
        texts.author_name(name)
    assert (refused.value.code, refused.value.detail) == ("invalid", {"field": "name", "reason": "staff"})


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_ordinary_names_pass(name):
    assert texts.author_name(name) == name


def test_staff_name_is_refused_in_german_and_english(app, audience_client):
    ack = submit(audience_client(), "Eine echte Frage?", name="Mоderatiоn")
    assert ack["ok"] is False and ack["error"] == "invalid", ack
    assert "vorbehalten" in ack["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question)) == 0
    response = app.test_client().post("/t/demo/questions?lang=en", data={
        "text": "Eine echte Frage?", "name": "Moderator", "client_msg_id": "c0ffee00-0000-4000-8000-000000000001"})
    assert response.status_code == 400
    assert "reserved" in response.get_data(as_text=True)
