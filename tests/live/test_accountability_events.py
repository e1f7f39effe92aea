"""Accountable moderation over Socket.IO (Flask-SocketIO's test client): `report` on /audience
(once, limited, moderators only), `reject` with a reason (its asker only), `submit` with
`name_in_record`, where a merged question went, and the Probelauf's start and end reaching every
screen."""
# ruff: noqa: F811 - tests take the fixture imported from test_sockets.py as arguments
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import Question, User
from moderation.readmodel import publish
from moderation.services import accounts, rehearsal, talks
from tests.helpers import PASSWORD, signed_id, submit
from tests.live.test_sockets import foreign_question, mod, question_events, received, refusal  # noqa: F401


def aud(client, event: str, data: dict) -> dict:
    return client.emit(event, data, namespace="/audience", callback=True)


def drain(*clients) -> None:
    for client, namespace in clients:
        received(client, namespace)


@pytest.fixture
def room(app, audience_client, moderator_client, podium_client):
    """An author, another member of the audience, a moderator and a podium, with one forwarded
    question of the author and one pending one."""
    author, other, moderator, podium = audience_client(client_id=signed_id(app)), audience_client(), \
        moderator_client(), podium_client()
    qid = submit(author, "Wann kommt der Bus?", "Erika")["question"]["id"]
    pending = submit(author, "Und die Bahn?")["question"]["id"]
    assert mod(moderator, "approve", {"question_id": qid})["ok"]
    assert mod(moderator, "forward", {"question_id": qid})["ok"]
    clients = ((author, "/audience"), (other, "/audience"), (moderator, "/moderator"), (podium, "/podium"))
    drain(*clients)
    return {"author": author, "other": other, "moderator": moderator, "podium": podium, "qid": qid,
            "pending": pending, "clients": clients}


def test_a_report_reaches_the_moderators_only_and_only_once(app, room, audience_client):
    moderator, qid = room["moderator"], room["qid"]
    reporter_id = signed_id(app)
    other = audience_client(client_id=reporter_id)
    received(other, "/audience")
    assert aud(other, "report", {"question_id": qid, "reason": "falsch"}) == {"ok": True, "question_id": qid}
    [(name, data)] = received(moderator, "/moderator")
    assert name == "question" and data["question"]["reports"] == {"falsch": 1}
    assert received(other, "/audience") == [] and received(room["author"], "/audience") == []
    assert received(room["other"], "/audience") == []
    assert received(room["podium"], "/podium") == []
    # the same person again, for any reason: ok, and nobody hears of it
    assert aud(other, "report", {"question_id": qid, "reason": "werbung"})["ok"] is True
    assert received(moderator, "/moderator") == []
    aud(audience_client(), "report", {"question_id": qid, "reason": "falsch"})
    assert question_events(received(moderator, "/moderator"))[0]["reports"] == {"falsch": 2}
    # a reconnecting reporter's page knows what it reported; no audience snapshot carries counts
    [(_, snap)] = received(audience_client(client_id=reporter_id), "/audience")
    assert [(q["id"], q["reported"]) for q in snap["questions"]] == [(qid, True)]
    [(_, fresh)] = received(audience_client(), "/audience")
    assert [(q["reported"], "reports" in q) for q in fresh["questions"]] == [(False, False)]


def test_bad_reports_are_refused_clearly(room, foreign_question):
    other = room["other"]
    refusal(aud(other, "report", {"question_id": room["qid"], "reason": "doof"}), "invalid")
    refusal(aud(other, "report", {"question_id": room["qid"]}), "invalid")
    refusal(aud(other, "report", {"question_id": str(room["qid"]), "reason": "thema"}), "invalid")
    refusal(aud(other, "report", {"question_id": room["pending"], "reason": "thema"}), "not_found")
    refusal(aud(other, "report", {"question_id": foreign_question, "reason": "thema"}), "not_found")
    assert received(room["moderator"], "/moderator") == []


def test_reports_are_rate_limited_per_person_but_a_repeat_is_free(make_app, seeded, clock):
    from moderation.extensions import socketio
    app = make_app(LIMIT_REPORT_PER_CLIENT="2 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    author = socketio.test_client(app, namespace="/audience", auth={"talk": "demo", "client_id": signed_id(app)})
    ids = [submit(author, f"Frage {i}?")["question"]["id"] for i in range(3)]
    with app.app_context():
        for q in db.session.scalars(select(Question).where(Question.id.in_(ids))):
            q.status = "approved"
        db.session.commit()
    reporter = socketio.test_client(app, namespace="/audience", auth={"talk": "demo", "client_id": signed_id(app)})
    assert aud(reporter, "report", {"question_id": ids[0], "reason": "thema"})["ok"]
    assert aud(reporter, "report", {"question_id": ids[1], "reason": "thema"})["ok"]
    refusal(aud(reporter, "report", {"question_id": ids[2], "reason": "thema"}), "rate_limited")
    assert aud(reporter, "report", {"question_id": ids[0], "reason": "thema"})["ok"]  # a repeat is free


def test_the_asker_alone_reads_why_their_question_was_rejected(room):
    author, other, moderator = room["author"], room["other"], room["moderator"]
    ack = mod(moderator, "reject", {"question_id": room["pending"], "reason": "thema"})
    assert ack["ok"] is True and ack["question"]["reason"] == "thema"
    assert question_events(received(moderator, "/moderator"))[0]["reason"] == "thema"
    [mine] = question_events(received(author, "/audience"))
    assert (mine["id"], mine["status"], mine["reason"]) == (room["pending"], "rejected", "thema")
    assert received(other, "/audience") == [] and received(room["podium"], "/podium") == []
    # a public question rejected: everybody hears it leave, only its author hears why
    assert mod(moderator, "recall", {"question_id": room["qid"]})["ok"]
    drain(*room["clients"])
    assert mod(moderator, "reject", {"question_id": room["qid"], "reason": "werbung"})["ok"]
    theirs = question_events(received(other, "/audience"))
    assert [(q["status"], "reason" in q) for q in theirs] == [("rejected", False)]
    assert [q.get("reason") for q in question_events(received(author, "/audience"))][-1] == "werbung"
    refusal(mod(moderator, "reject", {"question_id": room["qid"], "reason": "egal"}), "invalid")
    refusal(mod(moderator, "reject", {"question_id": room["qid"], "reason": 3}), "invalid")


def test_reject_without_a_reason_still_works(room):
    ack = mod(room["moderator"], "reject", {"question_id": room["pending"]})
    assert ack["ok"] is True and ack["question"]["reason"] is None
    [mine] = question_events(received(room["author"], "/audience"))
    assert mine["status"] == "rejected" and "reason" not in mine


def test_a_merged_question_tells_its_asker_where_it_went(room):
    author, moderator = room["author"], room["moderator"]
    assert mod(moderator, "merge", {"question_id": room["pending"], "into_id": room["qid"]})["ok"]
    mine = [q for q in question_events(received(author, "/audience")) if q["id"] == room["pending"]]
    assert mine[-1]["merged_into"] == room["qid"]
    assert all("merged_into" not in q for q in question_events(received(room["other"], "/audience")))


def test_submit_takes_the_consent_to_a_name_in_the_documentation(app, audience_client):
    client = audience_client()
    ack = aud(client, "submit", {"text": "Mit Namen?", "name": "Erika", "name_in_record": True,
                                 "client_msg_id": "consent-0001"})
    plain = aud(client, "submit", {"text": "Ohne Zustimmung?", "name": "Erika", "client_msg_id": "consent-0002"})
    null = aud(client, "submit", {"text": "Null?", "name": "Erika", "name_in_record": None,
                                  "client_msg_id": "consent-0003"})
    refusal(aud(client, "submit", {"text": "Ja?", "name_in_record": "ja", "client_msg_id": "consent-0004"}),
            "invalid")
    with app.app_context():
        stored = {q.text: q.name_in_record for q in db.session.scalars(select(Question))}
    assert ack["ok"] and plain["ok"] and null["ok"]
    assert stored == {"Mit Namen?": True, "Ohne Zustimmung?": False, "Null?": False}
    assert "name_in_record" not in ack["question"]  # what one agreed to is stored, not shown


def test_a_rehearsal_marks_every_screen_and_its_end_makes_them_start_over(app, room, clock):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.starts_at, talk.ends_at = clock() + timedelta(hours=1), clock() + timedelta(hours=3)
        admin = accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        db.session.commit()
        admin_id = admin.id
        write = rehearsal.start(db.session, talk, admin, clock())
        publish.commit(publish.outbox(db.session, talk, write, clock()))
    for client, namespace in room["clients"]:
        [(name, data)] = received(client, namespace)
        assert name == "talk" and data["talk"]["rehearsal"] is True and data["talk"]["open"] is True
    tried = submit(room["other"], "Hört man uns?")["question"]["id"]
    drain(*room["clients"])
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        before = {"/moderator": talk.seq, "/audience": talk.audience_seq, "/podium": talk.podium_seq}
        rehearsal.end(db.session, talk, db.session.get(User, admin_id))
        box = publish.restart(db.session, talk, clock())
        db.session.commit()
        box.send()
    for client, namespace in room["clients"]:
        [(name, data)] = received(client, namespace)
        # every view's number jumps by two: a gap that every client answers with a resync
        assert name == "talk" and data["talk"]["rehearsal"] is False
        assert data["seq"] == before[namespace] + 2
        assert client.emit("resync", {}, namespace=namespace, callback=True)["ok"]
        [(_, snap)] = received(client, namespace)
        assert tried not in {q["id"] for q in snap["questions"]}
        assert snap["talk"]["rehearsal"] is False and snap["seq"] == data["seq"]
