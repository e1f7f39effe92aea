"""Issue 21, finding 7: snapshot storms. 30 sockets asking for resyncs of a 915-question talk, each
within its limits, took another client's round trip from 9 ms to 435 ms; the moderator and podium
namespaces had no resync limit at all.

A view's shared snapshot is read once per seq (readmodel/snapshot.SnapshotCache), a client's own
questions, votes and reports on top of it always afresh; every namespace limits resyncs."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import event

from moderation.extensions import db, socketio
from moderation.models import Question, Talk
from moderation.readmodel import snapshot as snapshots
from moderation.readmodel.views import AUDIENCE, MODERATOR, PODIUM
from moderation.services import accounts, questions, reports
from moderation.services import talks as talk_service
from tests.helpers import PASSWORD

QUESTIONS = 300
# the read of a view's question rows (snapshot.visible), not question_report & co.
QUESTION_ROWS = re.compile(r"FROM question\s+WHERE question\.talk_id = \S+ AND question\.status IN")


def fill(app, clock) -> int:
    with app.app_context():
        talk = talk_service.by_slug(db.session, "demo")
        db.session.add_all(Question(talk_id=talk.id, text=f"Frage Nummer {i}?",
                                    status=("approved", "forwarded", "pending")[i % 3],
                                    client_msg_id=f"storm-{i}", created_at=clock()) for i in range(QUESTIONS))
        db.session.commit()
        return talk.id


def statements(app):
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_cached_snapshot_is_the_uncached_one_for_every_view_and_client(app, seeded, clock):
    talk_id = fill(app, clock)
    with app.app_context():
        talk = db.session.get(Talk, talk_id)
        mine = questions.submit(db.session, talk, text="Meine eigene Frage?", name="Erika", client="erika",
                                client_msg_id=uuid.uuid4().hex, now=clock()).question
        public = db.session.query(Question).filter_by(talk_id=talk_id, status="approved").first()
        questions.set_vote(db.session, talk, "erika", public.id, 1)
        reports.report(db.session, talk, "erika", public.id, "falsch")
        db.session.commit()
        cache = snapshots.SnapshotCache(60)
        for view, client in [(MODERATOR, None), (PODIUM, None), (AUDIENCE, None), (AUDIENCE, "erika"),
                             (AUDIENCE, "anna"), (AUDIENCE, "erika")]:
            plain = snapshots.snapshot(db.session, talk, view, clock(), client)
            cached = snapshots.snapshot(db.session, talk, view, clock(), client, cache=cache)
            assert cached == plain, (view.name, client)
        erika = snapshots.snapshot(db.session, talk, AUDIENCE, clock(), "erika", cache=cache)
    by_id = {q["id"]: q for q in erika["questions"]}
    assert by_id[mine.id]["mine"] is True and by_id[mine.id]["status"] == "pending"
    assert by_id[public.id]["voted"] is True and by_id[public.id]["reported"] is True
    assert [q["id"] for q in erika["questions"]] == sorted(by_id)


def test_repeated_resyncs_at_one_seq_read_the_questions_once(app, seeded, clock, audience_client, podium_client):
    fill(app, clock)
    clients = [audience_client() for _ in range(5)]
    app.extensions["snapshots"].entries.clear()  # as if the seq had moved since they connected
    seen = statements(app)
    for client in clients:
        assert client.emit("resync", {}, namespace="/audience", callback=True)["ok"]
    reads = [s for s in seen if QUESTION_ROWS.search(s) and "question.client_hash =" not in s]
    assert len(reads) == 1, reads  # the shared part once; each client's own questions on top
    seen.clear()
    podium = podium_client()
    for _ in range(3):
        assert podium.emit("resync", {}, namespace="/podium", callback=True)["ok"]
    assert len([s for s in seen if QUESTION_ROWS.search(s)]) == 1  # its connect; the resyncs: none


def test_every_namespace_limits_resyncs(make_app, clock, login):
    app = make_app()
    with app.app_context():
        talk_service.seed(db.session, clock())
        db.session.commit()
        token = talk_service.by_slug(db.session, "demo").podium_token
    moderator = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"},
                                     flask_test_client=_admin(app, login))
    podium = socketio.test_client(app, namespace="/podium", auth={"token": token})
    for client, namespace, allowed in ((moderator, "/moderator", 30), (podium, "/podium", 60)):
        acks = [client.emit("resync", {}, namespace=namespace, callback=True) for _ in range(allowed + 2)]
        assert [a["ok"] for a in acks] == [True] * allowed + [False] * 2, namespace
        assert acks[-1]["error"] == "rate_limited" and "Sekunden" in acks[-1]["message"], acks[-1]


def _admin(app, login):
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        db.session.commit()
    return login("chefin")

