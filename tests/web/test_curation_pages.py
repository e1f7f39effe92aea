"""Curation on the pages: export columns, the audit log, the author's answer without JavaScript,
the podium page's backstage box (not in the overlay), the moderator page's curation script."""
from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from moderation.extensions import db
from moderation.models import Question
from moderation.services import accounts, curation, questions, talks


def _curated(app, clock) -> int:
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        user = accounts.by_name(db.session, "mod")
        q = questions.submit(db.session, demo, text="Wann fährt der letzte Bus?", name=None, client="c1",
                             client_msg_id=uuid.uuid4().hex, now=clock()).question
        questions.transition(db.session, demo, user, "approve", q.id)
        curation.set_labels(db.session, demo, user, q.id, ["Mobilität", "an die Politik"])
        curation.set_note(db.session, demo, user, q.id, "=Kreis fragen")
        curation.set_answer(db.session, demo, user, q.id, "Um 23 Uhr.", True)
        curation.set_backstage(db.session, demo, user, "Noch 5 Minuten")
        db.session.commit()
        return q.id


def test_export_shows_labels_note_and_answer(app, seeded, login, clock):
    qid = _curated(app, clock)
    body = login().get("/moderate/demo/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    [row] = [r for r in rows if r["Nr."] == str(qid)]
    assert (row["Schlagwörter"], row["Notiz"], row["Antwort"], row["Antwort veröffentlicht"]) == (
        "Mobilität, an die Politik", "'=Kreis fragen", "Um 23 Uhr.", "ja")


def test_audit_log_shows_notes_labels_answers_and_the_line(app, seeded, login, clock):
    _curated(app, clock)
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", "richtig-geheim-123", "admin")
        db.session.commit()
    page = login("chefin").get("/admin/audit/demo").get_data(as_text=True)
    for text in ("Notiz geändert", "=Kreis fragen", "Schlagwörter gesetzt", "Mobilität, an die Politik",
                 "Schriftlich beantwortet", "Zeile ans Podium", "Noch 5 Minuten"):
        assert text in page


def test_podium_page_has_a_backstage_box_except_in_the_overlay(app, seeded):
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    client = app.test_client()
    screen = client.get(f"/podium/{token}").get_data(as_text=True)
    assert 'id="backstage"' in screen
    overlay = client.get(f"/podium/{token}?overlay=1").get_data(as_text=True)
    assert 'id="backstage"' not in overlay and '"overlay": true' in overlay


def test_moderator_page_loads_the_curation_script_after_the_queue(app, seeded, login):
    page = login().get("/moderate/demo").get_data(as_text=True)
    assert page.index("js/moderator.js") < page.index("js/curation.js")
    assert 'id="curation-strings"' in page


def test_a_blocked_person_is_refused_politely_without_javascript_too(app, seeded, moderator_user, clock):
    browser = app.test_client()

    def post(text: str):
        return browser.post("/t/demo/questions", data={"text": text, "name": "", "client_msg_id": uuid.uuid4().hex})

    assert post("Erste Frage ohne JavaScript").status_code == 303
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        user = accounts.by_name(db.session, "mod")
        [question] = db.session.scalars(select(Question).where(Question.talk_id == demo.id)).all()
        curation.block(db.session, demo, user, question.id)
        db.session.commit()
    refused = post("Zweite Frage ohne JavaScript")
    assert refused.status_code == 403
    assert "Vielen Dank für Ihr Verständnis" in refused.get_data(as_text=True)

