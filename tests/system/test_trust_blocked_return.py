"""Issue 21, finding 8: a blocked person was back in 0.02 s with a new cookie.

A new identity from where a blocked person was seen (its network, as a keyed hash in the limiter's
store with an expiry) asks into the moderators' queue, never straight to the public, even in a
talk without Vorab-Moderation; nobody else is held, and no address is stored."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from moderation.extensions import db, socketio
from moderation.models import Question
from moderation.services import accounts, talks
from tests.helpers import PASSWORD, events, submit
from tests.system.test_trust_limits import http_from, new_identity, person

HOME = "203.0.113.90"


@pytest.fixture
def open_talk(make_app, clock):
    """The demo talk without Vorab-Moderation: questions go public at once."""
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="1000 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        talks.by_slug(db.session, "demo").premoderation = False
        accounts.create_or_update(db.session, "mod", PASSWORD, "admin")
        db.session.commit()
    return app


def desk(app):
    http = app.test_client()
    assert http.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    return socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)


def status(app, qid: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Question.status).where(Question.id == qid))


def public_texts(client) -> set[str]:
    return {e["args"][0]["question"]["text"] for e in events(client, "/audience", "question")}


def test_a_blocked_persons_new_identity_from_the_same_address_goes_to_moderation(open_talk):
    app, mod = open_talk, desk(open_talk)
    troll = submit(person(app, HOME), "Erste Frage des Störers")
    assert troll["ok"] and troll["question"]["status"] == "approved"
    blocked = mod.emit("block", {"question_id": troll["question"]["id"]}, namespace="/moderator", callback=True)
    assert blocked["ok"], blocked
    onlooker = person(app, "198.51.100.20")
    events(onlooker, "/audience")

    back = submit(person(app, HOME), "Wieder da, mit neuem Cookie")  # a new identity
    assert back["ok"] and back["question"]["status"] == "pending", back
    elsewhere = submit(person(app, "198.51.100.21"), "Jemand ganz anderes")
    assert elsewhere["ok"] and elsewhere["question"]["status"] == "approved"
    assert public_texts(onlooker) == {"Jemand ganz anderes"}

    # the page's form without JavaScript is held the same way
    form = http_from(app, HOME)
    form.set_cookie("fragerunde_audience", new_identity(app, HOME))
    assert form.post("/t/demo/questions", data={"text": "Per Formular zurück",
                                                "client_msg_id": uuid.uuid4().hex}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Question.status).where(Question.text == "Per Formular zurück")) == "pending"

    unblocked = mod.emit("unblock", {"question_id": troll["question"]["id"]}, namespace="/moderator", callback=True)
    assert unblocked["ok"], unblocked
    again = submit(person(app, HOME), "Nach der Entsperrung")
    assert again["ok"] and again["question"]["status"] == "approved"


def test_a_block_holds_only_its_talk_and_keeps_no_address(open_talk):
    app, mod = open_talk, desk(open_talk)
    troll = submit(person(app, HOME), "Störfrage")
    assert mod.emit("block", {"question_id": troll["question"]["id"]}, namespace="/moderator", callback=True)["ok"]
    limits = app.extensions["rate_limits"]
    with app.app_context():
        talk_ids = [talks.by_slug(db.session, slug).id for slug in ("demo", "wohnen")]
    assert limits.held(talk_ids[0], HOME) and not limits.held(talk_ids[1], HOME)
    stored = " ".join(map(str, [*limits.storage.storage, *limits.storage.events, *limits._values.values(),
                                *limits._values]))
    assert "blocked-place/" in stored and HOME not in stored and "203.0.113" not in stored
