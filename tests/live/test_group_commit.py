"""Group commit: audience writes that arrive together are written in one transaction, each one
refused or accepted on its own, and none acknowledged before the commit."""
from __future__ import annotations

import contextlib
import threading
import time

import pytest
from sqlalchemy import event

from moderation.extensions import db
from moderation.models import Block, Question, User, Vote
from moderation.services import accounts, questions
from moderation.services import talks as talk_service
from moderation.services.writes import Write
from moderation.workers.group import Together
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


# -- votes and questions queued together are written together ------------------------------------
@contextlib.contextmanager
def transactions(app):
    """The SQL statements sent to the database meanwhile (SAVEPOINTs too), per transaction: a list
    per COMMIT. (Tests publish vote counts at once, in transactions of their own.)"""
    done: list[list[str]] = []
    current: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        current.append(" ".join(statement.split()))

    def commit(conn):
        done.append(list(current))
        current.clear()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", commit)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", commit)


def the_one_with(done: list[list[str]], start: str) -> list[str]:
    """The one transaction with a statement starting so."""
    found = [statements for statements in done if any(s.startswith(start) for s in statements)]
    assert len(found) == 1, [[s[:80] for s in t] for t in found]
    return found[0]


def queued_behind_one(group, talk_id: int, pieces: dict[str, object]) -> dict[str, object]:
    """Hold the writer with a piece that writes nothing until all `pieces` are queued behind it,
    so that they are written as one group; their answers (or errors) by key."""
    gate, started = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    send = sender(group, talk_id, results)

    def hold(session, talk):
        started.set()
        assert gate.wait(10), "the pieces never queued up"
        return Write(), {}

    first = threading.Thread(target=send, args=("held", hold))
    first.start()
    assert started.wait(10), "the writer never took the first piece"
    threads = [threading.Thread(target=send, args=item) for item in pieces.items()]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while group.queue.qsize() < len(pieces) and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in [first, *threads]:
        t.join(20)
    results.pop("held")
    return results


def ballot(client: str, question_id: int, value: int = 1) -> Together:
    return Together(questions.set_votes, questions.Ballot(client, question_id, value),
                    lambda write: {"question_id": write.counted[0]})


def test_a_group_of_votes_is_one_insert_and_a_few_statements_whatever_its_size(app, seeded, clock):
    """A regression to a statement per vote (a round trip each on PostgreSQL) fails here."""
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]
    pieces: dict[str, object] = {f"v{i}": ballot(f"voter-{i}", qid) for i in range(VOTERS)}
    pieces["again"] = ballot("voter-0", qid)  # the same vote twice in one group: one vote
    pieces["withdrawn"] = ballot("voter-1", qid, 0)  # given, then taken back in the same group
    pieces["unknown"] = ballot("voter-x", 10**6)
    with transactions(app) as done:
        results = queued_behind_one(group, talk_id, pieces)
    seen = the_one_with(done, "INSERT INTO vote")

    assert getattr(results.pop("unknown"), "code", None) == "not_found"
    assert results == {key: {"question_id": qid} for key in results}
    inserts = [s for s in seen if s.startswith("INSERT INTO vote")]
    assert len(inserts) == 1, inserts
    assert len([s for s in seen if s.startswith("DELETE FROM vote")]) == 1
    assert len(seen) <= 10, "\n".join(s[:150] for s in seen)  # the votes' question, blocked voters, insert, delete, savepoints
    assert group.transactions == 2
    with app.app_context():
        voters = {v.client_hash for v in db.session.query(Vote).filter_by(question_id=qid)}
    assert voters == {f"voter-{i}" for i in range(VOTERS)} - {"voter-1"}


def asked(client: str | None, text: str, msg_id: str, clock) -> Together:
    one = questions.Asked(text, None, client, msg_id, clock())
    return Together(questions.submit_all, one, lambda write: {"id": write.question.id, "status": write.question.status})


def test_a_group_of_questions_is_one_insert_and_one_numbering_whatever_its_size(app, seeded, clock):
    """Asked at once: one INSERT for all, one UPDATE for all their numbers; refusals, resends
    and repeats within the group answered as one at a time would. A regression to a statement per
    question fails here."""
    talk_id, _ = approved_question(app, clock)
    with app.app_context():
        talk = talk_service.by_slug(db.session, "demo")
        anna = db.session.query(User).filter_by(username="anna").one()
        db.session.add(Block(talk_id=talk.id, client_hash="blocked-asker", user_id=anna.id))
        db.session.commit()
        seq_before = talk.seq
    group = app.extensions["group_commit"]
    n = 30
    pieces: dict[str, object] = {f"q{i}": asked(f"asker-{i}", f"Frage Nummer {i}?", f"group-msg-{i:04d}", clock)
                                 for i in range(n)}
    pieces["resent"] = asked("asker-0", "Frage Nummer 0?", "group-msg-0000", clock)
    pieces["twice"] = asked("asker-1", "Frage Nummer 1?", "group-msg-twice", clock)  # folds into q1
    pieces["blocked"] = asked("blocked-asker", "Darf ich?", "group-msg-blocked", clock)
    pieces["bad id"] = asked("asker-2", "Kaputte Kennung?", "#", clock)
    with transactions(app) as done:
        results = queued_behind_one(group, talk_id, pieces)
    seen = the_one_with(done, "INSERT INTO question ")

    assert getattr(results.pop("blocked"), "code", None) == "forbidden"
    assert getattr(results.pop("bad id"), "code", None) == "invalid"
    assert results["resent"] == results["q0"]
    assert results["twice"]["status"] == "merged"
    ids = [results[f"q{i}"]["id"] for i in range(n)]
    assert len(set(ids)) == n and all(results[f"q{i}"]["status"] in ("pending", "approved") for i in range(n))
    question_inserts = [s for s in seen if s.startswith("INSERT INTO question ")]
    assert len(question_inserts) == 2, question_inserts  # the group, then the repeat folded into it
    numbering = [s for s in seen if s.startswith("UPDATE talk")]
    assert len(numbering) == 1, numbering
    assert len(seen) <= 30, "\n".join(s[:150] for s in seen)  # with a statement per question: well over a hundred
    with app.app_context():
        talk = talk_service.by_slug(db.session, "demo")
        stored = db.session.query(Question).filter(Question.talk_id == talk.id, Question.id.in_(ids)).count()
        assert stored == n
        folded = db.session.get(Question, results["twice"]["id"])
        assert folded.merged_into_id == results["q1"]["id"]
        assert talk.seq == seq_before + n + 1  # each new question one number for the moderators


def test_a_group_that_fails_together_is_written_one_by_one_and_a_failing_piece_spares_the_others(app, seeded, clock):
    """An unexpected failure of a group's one call (a bug, not a refusal) must not take the other
    pieces down with it: each is written alone, the failing one answers its error."""
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]

    def fragile(session, talk, ballots):
        if any(b.client == "poison" for b in ballots):
            raise RuntimeError("a bug for one input")
        return questions.set_votes(session, talk, ballots)

    def piece(client: str) -> Together:
        return Together(fragile, questions.Ballot(client, qid, 1), lambda write: {"question_id": write.counted[0]})

    results = queued_behind_one(group, talk_id, {"a": piece("a"), "poison": piece("poison"), "b": piece("b")})

    assert isinstance(results.pop("poison"), RuntimeError)
    assert results == {"a": {"question_id": qid}, "b": {"question_id": qid}}
    with app.app_context():
        assert {v.client_hash for v in db.session.query(Vote)} == {"a", "b"}


def test_a_piece_alone_in_its_transaction_needs_no_savepoint_and_a_failure_still_answers(app, seeded, clock):
    """A question asked while nothing else is queued (most of a talk) is written without SAVEPOINT
    and RELEASE, two of its round trips on PostgreSQL, and reads the talk's questions once. Should
    its call fail after writing, the transaction is rolled back, the piece answers its error,
    nothing of it stays, and the writer goes on."""
    talk_id, qid = approved_question(app, clock)
    group = app.extensions["group_commit"]
    with transactions(app) as done:
        answer = group.run(talk_id, asked("asker-alone", "Wie oft fährt der Bus?", "alone-msg-0001", clock))
    seen = the_one_with(done, "INSERT INTO question ")
    assert answer["status"] in ("pending", "approved")
    assert not any(s.startswith(("SAVEPOINT", "RELEASE")) for s in seen), seen
    reads = [s for s in seen if s.startswith("SELECT") and " FROM question " in s]
    assert len(reads) == 1, reads  # whether it was sent before and the asker's earlier texts, at once

    def fragile(session, talk, ballots):
        questions.set_votes(session, talk, ballots)
        raise RuntimeError("a bug after the write")

    with pytest.raises(RuntimeError):
        group.run(talk_id, Together(fragile, questions.Ballot("alone", qid, 1), lambda write: {}))
    assert group.run(talk_id, ballot("after", qid)) == {"question_id": qid}
    with app.app_context():
        assert {v.client_hash for v in db.session.query(Vote)} == {"after"}
