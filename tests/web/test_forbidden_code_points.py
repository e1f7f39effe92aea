"""Issue 21, finding 4: one question with U+FFFF broke export.xlsx (openpyxl wrote invalid XML).

Whatever field a text comes in by (question and name, edit, labels, note, answer, the backstage
line, the talk's title and description, the intake API), the code points XML forbids are gone
before it is stored, and the export opens."""
from __future__ import annotations

import io
import re
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from moderation.extensions import db, socketio
from moderation.models import Label, Question, Talk
from moderation.services import accounts, channels, talks
from moderation.services import text as texts
from tests.helpers import PASSWORD, submit

# U+FFFF and U+FFFE, other noncharacters, a lone surrogate, C0 and C1 controls, plane-end noncharacters
BAD = "\uffff\ufffe\ufdd0\ud800\x00\x01\x0b\x1f\x7f\x85\U0001fffe\U0010ffff"
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
                       "\U0001fffe\U0001ffff\U0010fffe\U0010ffff]")

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def dirty(words: str, bad: str = BAD) -> str:
    """Noncharacters and surrogates inside the first word (they go), controls after it (they
    become a space)."""
    first, rest = words.split(" ", 1) if " " in words else (words, "")
    gone = "".join(ch for ch in bad if not CONTROL.match(ch))
    return f"{first[:2]}{gone}{first[2:]} {''.join(ch for ch in bad if CONTROL.match(ch))}{rest}"


def form_dirty(word: str) -> str:
    """A form body is UTF-8 bytes: it cannot carry a lone surrogate (JSON and Socket.IO can)."""
    return dirty(word, BAD.replace("\ud800", ""))


@pytest.mark.parametrize("bad", list(BAD))
def test_printable_drops_each_forbidden_code_point_and_keeps_line_breaks(bad):
    assert texts.printable(f"Zeile{bad} eins\n\tZeile zwei") in ("Zeile eins\n\tZeile zwei", "Zeile  eins\n\tZeile zwei")
    assert texts.normalise(f"Wie{bad} weiter?") == "Wie weiter?"


def test_every_text_field_is_stored_without_forbidden_code_points(app, seeded, audience_client, login):
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        db.session.commit()
    admin = login("chefin")
    asked = submit(audience_client(), dirty("Wann fährt der Bus?"), name=dirty("Erika M."))
    assert asked["ok"] is True, asked
    qid = asked["question"]["id"]
    mod = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=admin)
    acks = [mod.emit(event, data, namespace="/moderator", callback=True) for event, data in [
        ("approve", {"question_id": qid}),
        ("edit", {"question_id": qid, "text": dirty("Wann fährt der letzte Bus?"), "version": 2}),
        ("labels", {"question_id": qid, "labels": [dirty("Verkehr")]}),
        ("note", {"question_id": qid, "text": dirty("Landrat fragen")}),
        ("answer", {"question_id": qid, "text": dirty("Um 22 Uhr.\nDanach Rufbus."), "publish": True}),
        ("backstage", {"text": dirty("Noch 5 Minuten")}),
    ]]
    assert all(ack["ok"] for ack in acks), acks
    created = admin.post("/admin/talks/new", data={
        "title": form_dirty("Energie vor Ort"), "slug": "energie", "series": "0", "day": "2026-05-20",
        "begins": "18:30", "ends": "20:00", "description": form_dirty("Der fünfte\nTermin."),
        "audience_votes": "y", "premoderation": "y"})
    assert created.status_code == 303, created.get_data(as_text=True)
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        token = channels.create_token(db.session, talk, "YouTube", None)[1]
        db.session.commit()
    relayed = app.test_client().post("/api/v1/talks/demo/questions", headers={"Authorization": f"Bearer {token}"},
                                      json={"text": dirty("Und die Radwege?"), "name": dirty("Zuschauer"),
                                            "source": dirty("YouTube")})
    assert relayed.status_code == 201, relayed.get_json()
    with app.app_context():
        stored = [*db.session.execute(select(Question.text, Question.name, Question.original_text, Question.note,
                                             Question.answer)).all(),
                  *db.session.execute(select(Talk.title, Talk.description, Talk.backstage_text)).all(),
                  *db.session.execute(select(Label.name)).all()]
    values = [v for row in stored for v in row if isinstance(v, str)]
    assert [v for v in values if FORBIDDEN.search(v)] == []
    values = [re.sub(" +", " ", v).strip() for v in values]
    assert "Wann fährt der letzte Bus?" in values and "Um 22 Uhr. Danach Rufbus." in values
    assert "Energie vor Ort" in values and "Der fünfte\nTermin." in values and "Noch 5 Minuten" in values
    assert "Verkehr" in values and "Und die Radwege?" in values and "Erika M." in values
    assert [v for v in values if FORBIDDEN.search(v)] == []
    sheet = load_workbook(io.BytesIO(admin.get("/moderate/demo/export.xlsx").get_data())).active
    assert "Wann fährt der letzte Bus?" in [c.value for c in sheet["B"]]


def test_a_text_stored_before_the_fix_still_exports(app, seeded, login):
    """Rows written before the edges cleaned texts: the export drops the code points itself."""
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        talk = talks.by_slug(db.session, "demo")
        db.session.add(Question(talk_id=talk.id, text="Alt\uffff?", name="N\ufffe", note="x\x01",
                                client_msg_id=uuid.uuid4().hex))
        db.session.commit()
    admin = login("chefin")
    sheet = load_workbook(io.BytesIO(admin.get("/moderate/demo/export.xlsx").get_data())).active
    assert [c.value for c in sheet[2]][1:3] == ["Alt?", "N"]
    assert "\uffff" not in admin.get("/moderate/demo/export.csv").get_data(as_text=True)
