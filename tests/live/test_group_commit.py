"""Group commit (moderation/live/group.py): audience votes and submissions that arrive together
share one transaction; each is acknowledged only once it is on disk, a refused one does not
undo the others, and the counts stay exact. On SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, event, text

from moderation.extensions import db
from moderation.models import Question
from moderation.services import questions as question_service
from tests.helpers import submit

PEOPLE = 16


@pytest.fixture
def grouped(make_app, seeded):
    """An app whose group window (0.3 s) certainly gathers writes sent at the same moment."""
    return make_app(GROUP_COMMIT_SECONDS=0.3)


def store_question(app, clock, status: str) -> int:
    with app.app_context():
        q = Question(talk_id=talk_id(app), text=f"Frage {status} {uuid.uuid4().hex[:6]}", status=status,
                     client_msg_id=uuid.uuid4().hex, created_at=clock(), client_hash="author")
        db.session.add(q)
        db.session.commit()
        return q.id


def talk_id(app) -> int:
    from moderation.services import talks
    return talks.by_slug(db.session, "demo").id


def commits_of(app) -> list[int]:
    """Count the COMMITs the app's engine sends from now on."""
    seen = [0]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "commit")
    def on_commit(conn):
        seen[0] += 1
    return seen


def all_at_once(clients, send) -> list[object]:
    """Each client sends from its own thread, released together; the answers in client order."""
    answers: list[object] = [None] * len(clients)
    gate = threading.Barrier(len(clients))

    def person(k: int, client) -> None:
        gate.wait(10)
        answers[k] = send(k, client)

    threads = [threading.Thread(target=person, args=(k, c)) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_votes_at_once_share_transactions_and_stay_exact(grouped, audience_client, clock, database_url):
    public = store_question(grouped, clock, "approved")
    hidden = store_question(grouped, clock, "pending")  # not public: a vote on it is refused
    client_ids = [str(uuid.uuid4()) for _ in range(PEOPLE)]
    clients = [audience_client(client_id=cid) for cid in client_ids]
    commits = commits_of(grouped)
    outside = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))

    def vote(k: int, client) -> object:
        target = hidden if k % 4 == 3 else public
        ack = client.emit("vote", {"question_id": target, "value": 1}, namespace="/audience", callback=True)
        if ack.get("ok"):  # acknowledged: another connection already sees the vote
            voter = question_service.client_hash("test-secret", client_ids[k])
            with outside.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM vote WHERE client_hash = :c AND question_id = :q"),
                                      {"c": voter, "q": target}).scalar()
            return ack, stored
        return ack, None

    answers = all_at_once(clients, vote)
    outside.dispose()

    refused = [a for k, (a, _) in enumerate(answers) if k % 4 == 3]
    accepted = [(a, stored) for k, (a, stored) in enumerate(answers) if k % 4 != 3]
    assert all(a["ok"] is False and a["error"] == "not_found" for a in refused), refused
    assert all(a["ok"] is True and stored == 1 for a, stored in accepted), accepted
    with grouped.app_context():
        counts = question_service.counts(db.session, db.session.get(Question, public).talk, [public, hidden])
    assert counts[public]["votes"] == len(accepted)
    assert counts.get(hidden, {"votes": 0})["votes"] == 0
    assert commits[0] < PEOPLE / 2, f"{commits[0]} commits for {PEOPLE} votes sent at once: not grouped"


def test_submissions_at_once_are_each_stored_once(grouped, audience_client):
    clients = [audience_client() for _ in range(PEOPLE)]
    commits = commits_of(grouped)
    msg_ids = [uuid.uuid4().hex for _ in clients]

    def ask(k: int, client) -> object:
        return submit(client, f"Wie geht es mit dem Bahnhof {k} weiter?", msg_id=msg_ids[k])

    answers = all_at_once(clients, ask)
    assert all(a["ok"] is True for a in answers), answers
    ids = [a["question"]["id"] for a in answers]
    assert len(set(ids)) == PEOPLE
    # a resend is answered from the store with the first acknowledgement's question
    again = submit(clients[0], "Wie geht es mit dem Bahnhof 0 weiter?", msg_id=msg_ids[0])
    assert again["ok"] is True and again["question"]["id"] == ids[0]
    with grouped.app_context():
        assert db.session.query(Question).filter(Question.id.in_(ids)).count() == PEOPLE
    assert commits[0] < PEOPLE / 2, f"{commits[0]} commits for {PEOPLE} questions sent at once: not grouped"
