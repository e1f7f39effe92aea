"""Group commit: audience writes that arrive together are written in one transaction, each one
refused or accepted on its own, and none acknowledged before the commit."""
from __future__ import annotations

import threading
import time

import pytest

from moderation.extensions import db
from moderation.models import Question, Vote
from moderation.services import accounts, questions
from moderation.services import talks as talk_service
from tests.helpers import PASSWORD

pytestmark = pytest.mark.postgres

VOTERS = 40


def approved_question(app, clock) -> tuple[int, int]:
    with app.app_context():
        talk = talk_service.by_slug(db.session, "demo")
        anna = accounts.create_or_update(db.session, "anna", PASSWORD, "moderator")
        write = questions.submit(db.session, talk, text="Wann kommt der Bus?", name=None, client="asker",
                                 client_msg_id="group-commit-1", now=clock())
        assert write.question is not None
        questions.transition(db.session, talk, anna, "approve", write.question.id, now=clock())
        db.session.commit()
        return talk.id, write.question.id


def vote(client: str, question_id: int, gate: threading.Event | None = None,
         started: threading.Event | None = None):
    def work(session, talk):
        if started is not None:
            started.set()
        if gate is not None:
            assert gate.wait(10), "the other votes never queued up"
        write = questions.set_vote(session, talk, client, question_id, 1)
        return write, {"question_id": write.counted[0], "client": client}
    return work


def sender(group, talk_id: int, results: dict[str, object], **options):
    """send(key, work): run work in the group writer, keep its answer or error under key."""
    def send(key: str, work) -> None:
        try:
            results[key] = group.run(talk_id, work, **options)
        except Exception as exc:  # recorded, asserted by the test
            results[key] = exc
    return send


def test_concurrent_votes_share_transactions_and_all_count(app, seeded, clock):
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]
    gate = threading.Event()
    answers: dict[str, object] = {}

    send = sender(group, talk_id, answers)

    # The first vote holds the writer until all others are queued behind it: they must then be
    # written together, in one more transaction.
    started = threading.Event()
    first = threading.Thread(target=send, args=("c0", vote("c0", qid, gate, started)))
    first.start()
    assert started.wait(10), "the writer never took the first vote"
    others = [threading.Thread(target=send, args=(f"c{i}", vote(f"c{i}", qid))) for i in range(1, VOTERS)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while (group.queue is None or group.queue.qsize() < VOTERS - 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in [first, *others]:
        t.join(20)

    assert answers == {f"c{i}": {"question_id": qid, "client": f"c{i}"} for i in range(VOTERS)}
    assert (group.transactions, group.writes) == (2, VOTERS)
    with app.app_context():
        assert db.session.query(Vote).filter_by(question_id=qid).count() == VOTERS


def test_a_refused_write_in_a_batch_changes_nothing_and_spares_the_others(app, seeded, clock):
    talk_id, qid = approved_question(app, clock)
    with app.app_context():
        pending = questions.submit(db.session, talk_service.by_slug(db.session, "demo"), text="Noch offen?",
                                   name=None, client="asker", client_msg_id="group-commit-2", now=clock())
        db.session.commit()
        pending_id = pending.question.id
    group = app.extensions["group_commit"]
    gate = threading.Event()
    results: dict[str, object] = {}

    send = sender(group, talk_id, results)

    started = threading.Event()
    threads = [threading.Thread(target=send, args=("held", vote("a", qid, gate, started))),
               threading.Thread(target=send, args=("refused", vote("b", pending_id))),
               threading.Thread(target=send, args=("fine", vote("c", qid)))]
    threads[0].start()
    assert started.wait(10), "the writer never took the first vote"
    deadline = time.monotonic() + 10
    for t in threads[1:]:
        t.start()
    while group.queue.qsize() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join(20)

    assert getattr(results["refused"], "code", None) == "not_found"  # votes only on public questions
    assert results["held"] == {"question_id": qid, "client": "a"}
    assert results["fine"] == {"question_id": qid, "client": "c"}
    with app.app_context():
        voters = {v.client_hash for v in db.session.query(Vote)}
        assert voters == {"a", "c"}
        assert db.session.get(Question, pending_id).status == "pending"


def test_a_write_that_waits_too_long_in_the_queue_is_withdrawn_and_never_written(app, seeded, clock):
    """Its answer says "try again" only when that is true: nothing of it was or will be stored."""
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]
    group.wait_seconds = 0.3
    gate = threading.Event()
    started = threading.Event()
    results: dict[str, object] = {}

    send = sender(group, talk_id, results)

    held = threading.Thread(target=send, args=("held", vote("a", qid, gate, started)))
    held.start()
    assert started.wait(10), "the writer never took the first vote"
    send("queued", vote("b", qid))  # returns once its wait is over, the writer still held
    gate.set()
    held.join(20)
    send("later", vote("c", qid))

    assert getattr(results["queued"], "code", None) == "rate_limited"
    assert results["held"] == {"question_id": qid, "client": "a"}
    assert results["later"] == {"question_id": qid, "client": "c"}
    with app.app_context():
        assert {v.client_hash for v in db.session.query(Vote)} == {"a", "c"}


def test_votes_without_savepoints_still_refuse_alone_and_a_failure_fails_the_batch_whole(app, seeded, clock):
    """Votes skip the per-piece savepoint (set_vote refuses before it writes): a refusal spares
    the others; an unexpected failure, which may have written part, fails the whole batch."""
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]
    results: dict[str, object] = {}

    send = sender(group, talk_id, results, savepoint=False)

    def broken(session, talk):
        questions.set_vote(session, talk, "d", qid, 1)
        raise RuntimeError("a bug after the write")

    def batch(*pieces: tuple[str, object]) -> None:
        gate, started = threading.Event(), threading.Event()
        first = threading.Thread(target=send, args=("held", vote("held", qid, gate, started)))
        first.start()
        assert started.wait(10), "the writer never took the first vote"
        others = [threading.Thread(target=send, args=piece) for piece in pieces]
        for t in others:
            t.start()
        deadline = time.monotonic() + 10
        while group.queue.qsize() < len(pieces) and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        for t in [first, *others]:
            t.join(20)

    batch(("refused", vote("b", 10**6)), ("fine", vote("c", qid)))
    assert getattr(results["refused"], "code", None) == "not_found"
    assert results["fine"] == {"question_id": qid, "client": "c"}
    batch(("broken", broken), ("spoilt", vote("e", qid)))
    assert isinstance(results["broken"], RuntimeError) and isinstance(results["spoilt"], RuntimeError)
    with app.app_context():
        assert {v.client_hash for v in db.session.query(Vote)} == {"held", "c"}
