"""The domain services, on a real database session: transitions, edit, merge, undo, votes,
submit, text validation, seed, seq, word flags and retention."""
from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy import text as sql

from moderation.models import AuditEntry, Question, Series, Talk, Upvote, User, Vote
from moderation.readmodel.snapshot import visible
from moderation.readmodel.views import AUDIENCE, MODERATOR, PODIUM
from moderation.services import accounts, questions, retention, steps, talks, windows
from moderation.services import text as texts
from moderation.services.moderation_words import flag_for
from tests.helpers import PASSWORD, ask, published, refused

UTC = UTC


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def mods(session) -> tuple[User, User]:
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    ben = accounts.create_or_update(session, "ben", PASSWORD)
    session.commit()
    return anna, ben


def audit(session, question: Question | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if question is not None:
        query = query.where(AuditEntry.question_id == question.id)
    return list(session.scalars(query))


def stored_seq(app, talk_id: int) -> tuple[int, int, int]:
    """The talk's seqs (moderator, audience, podium) as another connection reads them: proves
    they were committed."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sql("SELECT seq, audience_seq, podium_seq FROM talk WHERE id = :id"),
                                      {"id": talk_id}).one())
    finally:
        engine.dispose()


PATHS = {
    "pending": (),
    "approved": ("approve",),
    "rejected": ("reject",),
    "forwarded": ("approve", "forward"),
    "answered": ("approve", "forward", "answered"),
}


def bring(session, talk: Talk, user: User, clock, status: str) -> Question:
    """A fresh question in the given status, reached through the services."""
    q = ask(session, talk, clock, text=f"Frage im Zustand {status} {uuid.uuid4().hex[:6]}")
    if status == "merged":
        other = ask(session, talk, clock, text=f"Das Original {uuid.uuid4().hex[:6]}")
        questions.merge(session, talk, user, q.id, other.id)
    else:
        for action in PATHS[status]:
            questions.transition(session, talk, user, action, q.id, now=clock())
    session.commit()
    assert q.status == status
    return q


# --- transitions -----------------------------------------------------------------------------

ALLOWED = [
    ("pending", "approve", "approved"),
    ("rejected", "approve", "approved"),
    ("pending", "reject", "rejected"),
    ("approved", "reject", "rejected"),
    ("approved", "forward", "forwarded"),
    ("answered", "forward", "forwarded"),
    ("approved", "answered", "answered"),
    ("forwarded", "answered", "answered"),
]


@pytest.mark.parametrize("start, action, end", ALLOWED)
def test_allowed_transition_moves_status_and_is_audited(session, demo, mods, clock, start, action, end):
    anna, _ = mods
    q = bring(session, demo, anna, clock, start)
    before_entries = len(audit(session))
    seq_before = demo.seq
    clock.advance(minutes=3)

    write = questions.transition(session, demo, anna, action, q.id, now=clock())
    session.commit()

    assert ([(c.question, c.old_status) for c in write.changed], q.status) == ([(q, start)], end)
    assert published(session, demo, write)["moderator"] == seq_before + 1 == demo.seq
    entries = audit(session)
    assert len(entries) == before_entries + 1
    last = entries[-1]
    assert (last.action, last.from_status, last.to_status, last.question_id) == (action, start, end, q.id)
    assert (last.user_id, last.username, last.talk_id) == (anna.id, "anna", demo.id)
    if end == "forwarded":
        assert q.forwarded_at == clock()
    if end == "answered":
        assert q.answered_at == clock()


REFUSED = [
    ("pending", "forward"),
    ("pending", "answered"),
    ("forwarded", "approve"),
    ("forwarded", "reject"),
    ("answered", "approve"),
    ("answered", "reject"),
    ("rejected", "forward"),
    ("rejected", "answered"),
    ("merged", "approve"),
    ("merged", "reject"),
    ("merged", "forward"),
    ("merged", "answered"),
]


def test_refused_transitions_change_nothing(session, demo, mods, clock):
    anna, _ = mods
    for start, action in REFUSED:
        q = bring(session, demo, anna, clock, start)
        entries, version = len(audit(session)), q.version

        error = refused(questions.transition, session, demo, anna, action, q.id, now=clock())
        session.rollback()

        assert (error.code, error.detail["status"]) == ("invalid", start), (start, action)
        assert (q.status, q.version) == (start, version), (start, action)
        assert len(audit(session)) == entries, (start, action)


def test_repeating_a_move_is_a_noop_without_audit_entry(session, demo, mods, clock):
    anna, ben = mods
    moves = {"approved": "approve", "rejected": "reject", "forwarded": "forward", "answered": "answered"}
    for status, action in moves.items():
        q = bring(session, demo, anna, clock, status)
        entries, version = len(audit(session)), q.version

        for user in (anna, ben):  # the same move by the same or another moderator
            change = questions.transition(session, demo, user, action, q.id, now=clock())
            session.commit()
            assert change.changed == [] and published(session, demo, change) == {}, status

        assert (q.status, q.version) == (status, version), status
        assert len(audit(session)) == entries, status


@pytest.mark.postgres
def test_transition_with_stale_version_is_a_conflict_carrying_the_question(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock)
    questions.edit(session, demo, anna, q.id, "Eine neue Fassung?", version=1)
    session.commit()
    error = refused(questions.transition, session, demo, anna, "approve", q.id, version=1, now=clock())
    assert error.code == "conflict"
    assert error.detail["question"].id == q.id and error.detail["question"].version == 2
    session.rollback()
    assert q.status == "pending"
    # the current version goes through
    change = questions.transition(session, demo, anna, "approve", q.id, version=2, now=clock())
    assert change.question.status == "approved"


@pytest.mark.parametrize("second", ["approve", "reject", "edit"])
@pytest.mark.postgres
def test_concurrent_moderators_first_writer_wins(session, demo, mods, clock, second):
    """Ben's session loaded the question before Anna approved it; his write learns of hers."""
    from sqlalchemy.orm import Session

    from moderation.extensions import db

    anna, ben = mods
    q = ask(session, demo, clock, text="Erste Frage?")
    ids = demo.id, ben.id, q.id
    session.rollback()  # on SQLite every transaction holds the write lock: end it
    stale = Session(db.engine, expire_on_commit=False)
    try:
        stale_talk, stale_ben, stale_q = stale.get(Talk, ids[0]), stale.get(User, ids[1]), stale.get(Question, ids[2])
        stale.commit()  # the objects stay loaded, with version 1

        questions.transition(session, demo, anna, "approve", q.id, now=clock())
        session.commit()
        entries = len(audit(session))
        session.rollback()

        if second == "approve":  # the same move: nothing to do, not an error
            same = questions.transition(stale, stale_talk, stale_ben, "approve", stale_q.id, now=clock())
            assert same.changed == [] and published(stale, stale_talk, same) == {} and same.question.status == "approved"
        elif second == "reject":
            error = refused(questions.transition, stale, stale_talk, stale_ben, "reject", stale_q.id, now=clock())
            assert error.code == "conflict" and error.detail["question"].status == "approved"
        else:
            error = refused(questions.edit, stale, stale_talk, stale_ben, stale_q.id, "Bens Fassung", version=1)
            assert error.code == "conflict" and error.detail["question"].version == 2
        stale.commit()
    finally:
        stale.close()
    session.expire_all()
    assert len(audit(session)) == entries
    assert (session.get(Question, q.id).status, session.get(Question, q.id).text) == ("approved", "Erste Frage?")


@pytest.mark.postgres
@pytest.mark.parametrize("move", ["edit", "merge"])
def test_the_same_edit_or_merge_by_a_concurrent_writer_is_ok(session, demo, mods, clock, move):
    """Ben's session loaded the question before Anna wrote; his identical write finds hers."""
    from sqlalchemy.orm import Session

    from moderation.extensions import db

    anna, ben = mods
    q = ask(session, demo, clock, text="Erste Frage?")
    target = ask(session, demo, clock, text="Zweite Frage?")
    ids, target_id = (demo.id, ben.id, q.id), target.id
    session.rollback()
    stale = Session(db.engine, expire_on_commit=False)
    try:
        stale_talk, stale_ben, stale_q = stale.get(Talk, ids[0]), stale.get(User, ids[1]), stale.get(Question, ids[2])
        stale.commit()
        if move == "edit":
            questions.edit(session, demo, anna, q.id, "Annas Fassung?", version=1)
        else:
            questions.merge(session, demo, anna, q.id, target.id)
        session.commit()
        entries = len(audit(session))
        session.rollback()
        if move == "edit":
            same = questions.edit(stale, stale_talk, stale_ben, stale_q.id, "Annas Fassung?", version=1)
        else:
            same = questions.merge(stale, stale_talk, stale_ben, stale_q.id, target_id, version=1)
        assert same.changed == [] and published(stale, stale_talk, same) == {}
        stale.commit()
    finally:
        stale.close()
    session.expire_all()
    assert len(audit(session)) == entries


def test_the_same_move_again_is_ok_whatever_version_it_carries(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock)
    target = ask(session, demo, clock, text="Eine andere Frage?")
    questions.transition(session, demo, anna, "approve", target.id, now=clock())  # public into public
    questions.transition(session, demo, anna, "approve", q.id, version=1, now=clock())
    questions.edit(session, demo, anna, q.id, "Neue Fassung?", version=2)
    session.commit()
    entries = len(audit(session))
    for write in (questions.transition(session, demo, ben, "approve", q.id, version=1, now=clock()),
                  questions.edit(session, demo, ben, q.id, "Neue Fassung?", version=1)):
        assert write.changed == [] and write.question.version == 3
    assert refused(questions.transition, session, demo, ben, "reject", q.id, version=1, now=clock()).code == "conflict"
    session.rollback()
    questions.merge(session, demo, anna, q.id, target.id, version=3)
    session.commit()
    assert questions.merge(session, demo, ben, q.id, target.id, version=1).changed == []
    assert refused(questions.merge, session, demo, ben, q.id, q.id).code == "invalid"
    session.rollback()
    assert len(audit(session)) == entries + 1


@pytest.mark.postgres
def test_concurrent_resend_of_the_same_message_is_answered_from_the_store(session, demo, clock, monkeypatch):
    """The unique (talk, client_msg_id) catches a resend that raced past the lookup."""
    msg_id = uuid.uuid4().hex
    first = ask(session, demo, clock, msg_id=msg_id)
    real_find = questions.find_by_msg_id
    calls = []

    def racing_find(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_find(*args)

    monkeypatch.setattr(questions, "find_by_msg_id", racing_find)
    again = questions.submit(session, demo, text="egal", name=None, client="client-a", client_msg_id=msg_id,
                             now=clock())
    assert (again.question.id, again.created, again.changed) == (first.id, False, [])
    calls.clear()
    error = refused(questions.submit, session, demo, text="egal", name=None, client="client-b",
                    client_msg_id=msg_id, now=clock())
    assert error.code == "invalid"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Question)) == 1


@pytest.mark.postgres
def test_transition_refuses_unknown_and_foreign_ids(session, demo, mods, clock):
    """Ids of the wrong type never reach a service: tests/live/test_events.py."""
    anna, _ = mods
    assert refused(questions.transition, session, demo, anna, "approve", 424242).code == "not_found"
    other_talk = talks.by_slug(session, "wohnen")
    foreign = Question(talk_id=other_talk.id, text="Anderswo?", client_msg_id="foreign-0001",
                       status="pending", created_at=clock())
    session.add(foreign)
    session.commit()
    assert refused(questions.transition, session, demo, anna, "approve", foreign.id).code == "not_found"


# --- edit ------------------------------------------------------------------------------------

def test_edit_keeps_original_text_and_is_audited(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock, text="Wie  teuer ist   das?")
    assert q.text == "Wie teuer ist das?"

    change = questions.edit(session, demo, anna, q.id, "Wie teuer ist das  Projekt?", version=1)
    session.commit()
    assert (q.text, q.original_text, q.version) == ("Wie teuer ist das Projekt?", "Wie teuer ist das?", 2)
    assert published(session, demo, change)["moderator"] == demo.seq
    entry = audit(session, q)[-1]
    assert (entry.action, entry.before, entry.after, entry.user_id) == (
        "edit", "Wie teuer ist das?", "Wie teuer ist das Projekt?", anna.id)

    questions.edit(session, demo, ben, q.id, "Was kostet das Projekt?", version=2)
    session.commit()
    assert (q.text, q.original_text, q.version) == ("Was kostet das Projekt?", "Wie teuer ist das?", 3)


@pytest.mark.postgres
def test_edit_with_stale_version_is_a_conflict(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock)
    questions.edit(session, demo, anna, q.id, "Fassung von Anna", version=1)
    session.commit()
    entries = len(audit(session))

    error = refused(questions.edit, session, demo, ben, q.id, "Fassung von Ben", version=1)
    session.rollback()
    assert error.code == "conflict"
    assert error.detail["question"].text == "Fassung von Anna"
    assert q.text == "Fassung von Anna" and q.version == 2
    assert len(audit(session)) == entries


def test_edit_requires_an_integer_current_version_and_a_valid_text(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock)
    assert refused(questions.edit, session, demo, anna, q.id, "Neu", version=7).code == "conflict"
    session.rollback()
    for body, code in (("", "empty"), ("  \n\t ", "empty"), ("x" * 501, "too_long")):
        assert refused(questions.edit, session, demo, anna, q.id, body, version=1).code == code, body
        session.rollback()
    assert (q.text, q.version, q.original_text) == ("Wie kommt der Bus ins Dorf?", 1, None)


def test_edit_to_the_same_text_is_a_noop(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock, text="Gleich bleibt gleich?")
    entries, seq = len(audit(session)), demo.seq
    change = questions.edit(session, demo, anna, q.id, "  Gleich   bleibt gleich? ", version=1)
    session.commit()
    assert change.changed == [] and published(session, demo, change) == {}
    assert (q.version, q.original_text, demo.seq, len(audit(session))) == (1, None, seq, entries)


# --- votes and upvotes -----------------------------------------------------------------------

@pytest.mark.postgres
def test_audience_votes_one_per_client_and_idempotent_toggling(session, demo, mods, clock):
    anna, _ = mods
    q = bring(session, demo, anna, clock, "approved")

    def votes() -> int:
        return questions.counts(session, demo).get(q.id, {}).get("votes", 0)

    for _ in range(3):
        write = questions.set_vote(session, demo, "client-1", q.id, 1)
        assert (write.changed, write.counted, published(session, demo, write)) == ([], [q.id], {}), \
            "votes travel in batches, not as changes"
    assert votes() == 1
    questions.set_vote(session, demo, "client-2", q.id, 1)
    session.commit()
    assert votes() == 2
    for _ in range(2):
        questions.set_vote(session, demo, "client-1", q.id, 0)
        session.commit()
    assert votes() == 1
    assert session.scalar(select(func.count()).select_from(Vote)) == 1


def test_vote_value_must_be_0_or_1(session, demo, mods, clock):
    anna, _ = mods
    q = bring(session, demo, anna, clock, "approved")
    for value in (2, -1):
        assert refused(questions.set_vote, session, demo, "client-1", q.id, value).code == "invalid", value
        assert refused(questions.set_upvote, session, demo, anna, q.id, value).code == "invalid", value
    assert questions.counts(session, demo) == {}


def test_audience_votes_only_on_public_questions(session, demo, mods, clock):
    anna, _ = mods
    for status in ("pending", "rejected", "merged"):
        q = bring(session, demo, anna, clock, status)
        assert refused(questions.set_vote, session, demo, "client-1", q.id, 1).code == "not_found", status
        session.rollback()
    for status in ("approved", "forwarded", "answered"):
        q = bring(session, demo, anna, clock, status)
        questions.set_vote(session, demo, "client-1", q.id, 1)
        session.commit()
        assert questions.counts(session, demo)[q.id] == {"upvotes": 0, "votes": 1}, status


def test_audience_votes_can_be_switched_off_per_talk(session, demo, mods, clock):
    anna, _ = mods
    q = bring(session, demo, anna, clock, "approved")
    demo.audience_votes = False
    session.commit()
    assert refused(questions.set_vote, session, demo, "client-1", q.id, 1).code == "closed"


@pytest.mark.postgres
def test_moderator_upvotes_one_per_moderator(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock)  # moderators may upvote pending questions too
    for _ in range(2):
        questions.set_upvote(session, demo, anna, q.id)
        session.commit()
    questions.set_upvote(session, demo, ben, q.id, 1)
    session.commit()
    assert questions.counts(session, demo)[q.id] == {"upvotes": 2, "votes": 0}
    questions.set_upvote(session, demo, anna, q.id, 0)
    questions.set_upvote(session, demo, anna, q.id, 0)
    session.commit()
    assert questions.counts(session, demo)[q.id] == {"upvotes": 1, "votes": 0}
    assert session.scalar(select(func.count()).select_from(Upvote)) == 1


@pytest.mark.postgres
def test_counts_per_question_and_filter(session, demo, mods, clock):
    anna, ben = mods
    a = bring(session, demo, anna, clock, "approved")
    b = bring(session, demo, anna, clock, "approved")
    c = bring(session, demo, anna, clock, "approved")
    for client in ("c1", "c2", "c3"):
        questions.set_vote(session, demo, client, a.id, 1)
    questions.set_vote(session, demo, "c1", b.id, 1)
    questions.set_upvote(session, demo, ben, b.id)
    session.commit()
    assert questions.counts(session, demo) == {
        a.id: {"upvotes": 0, "votes": 3}, b.id: {"upvotes": 1, "votes": 1}}
    assert questions.counts(session, demo, [b.id]) == {b.id: {"upvotes": 1, "votes": 1}}
    assert questions.counts(session, demo, [c.id]) == {}


# --- merge -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_merge_counts_votes_with_target_distinct_voters_and_undo_restores(session, demo, mods, clock):
    anna, ben = mods
    target = bring(session, demo, anna, clock, "approved")
    dup = bring(session, demo, anna, clock, "approved")
    for client in ("c1", "c2"):
        questions.set_vote(session, demo, client, target.id, 1)
    for client in ("c2", "c3"):  # c2 voted for both: counts once
        questions.set_vote(session, demo, client, dup.id, 1)
    questions.set_upvote(session, demo, anna, target.id)
    questions.set_upvote(session, demo, anna, dup.id)
    questions.set_upvote(session, demo, ben, dup.id)
    session.commit()
    seq, audience_seq = demo.seq, demo.audience_seq

    write = questions.merge(session, demo, anna, dup.id, target.id)
    session.commit()

    assert [c.question.id for c in write.changed] == [dup.id, target.id]
    assert published(session, demo, write) == {"moderator": seq + 1, "audience": audience_seq + 1}
    assert (dup.status, dup.merged_into_id, dup.text) == ("merged", target.id, dup.text)
    assert target.status == "approved"
    counts = questions.counts(session, demo)
    assert counts == {target.id: {"upvotes": 2, "votes": 3}}
    assert [q.id for q in questions.merged_children(session, demo)[target.id]] == [dup.id]
    entry = audit(session, dup)[-1]
    assert (entry.action, entry.from_status, entry.to_status, entry.after) == (
        "merge", "approved", "merged", str(target.id))

    undone = steps.undo(session, demo, anna, clock())
    session.commit()
    assert {c.question.id for c in undone.changed} == {dup.id, target.id}
    assert (dup.status, dup.merged_into_id) == ("approved", None)
    assert questions.counts(session, demo) == {
        target.id: {"upvotes": 1, "votes": 2}, dup.id: {"upvotes": 2, "votes": 2}}
    assert questions.merged_children(session, demo) == {}


def test_merge_moves_earlier_duplicates_along_and_undo_moves_them_back(session, demo, mods, clock):
    anna, _ = mods
    first = ask(session, demo, clock, text="Erste")
    second = ask(session, demo, clock, text="Zweite")
    third = ask(session, demo, clock, text="Dritte")
    questions.merge(session, demo, anna, third.id, second.id)
    questions.merge(session, demo, anna, second.id, first.id)
    session.commit()
    assert (second.merged_into_id, third.merged_into_id) == (first.id, first.id)
    assert sorted(q.id for q in questions.merged_children(session, demo)[first.id]) == [second.id, third.id]

    steps.undo(session, demo, anna, clock())
    session.commit()
    assert (second.status, second.merged_into_id, third.merged_into_id) == ("pending", None, second.id)


def test_merge_refusals(session, demo, mods, clock):
    anna, _ = mods
    a = ask(session, demo, clock, text="A")
    b = ask(session, demo, clock, text="B")
    c = ask(session, demo, clock, text="C")
    questions.merge(session, demo, anna, b.id, a.id)
    session.commit()
    done = bring(session, demo, anna, clock, "answered")
    entries = len(audit(session))
    cases = {
        "into itself": (a.id, a.id, "invalid"),
        "into a merged question": (c.id, b.id, "invalid"),
        "a merged question again": (b.id, c.id, "invalid"),
        "an answered question": (done.id, a.id, "invalid"),
        "into nothing": (a.id, 999999, "not_found"),
    }
    for case, (source, into, code) in cases.items():
        assert refused(questions.merge, session, demo, anna, source, into).code == code, case
        session.rollback()
    assert len(audit(session)) == entries
    assert [q.status for q in (a, b, c)] == ["pending", "merged", "pending"]


def test_a_public_question_is_merged_only_into_a_public_one(session, demo, mods, clock):
    anna, _ = mods
    public = bring(session, demo, anna, clock, "approved")
    for client in ("c1", "c2", "c3"):
        questions.set_vote(session, demo, client, public.id, 1)
    waiting = ask(session, demo, clock, text="Wartet noch", client="client-w")
    rejected = bring(session, demo, anna, clock, "rejected")
    session.commit()
    entries, seq = len(audit(session)), demo.seq
    for target in (waiting, rejected):
        error = refused(questions.merge, session, demo, anna, public.id, target.id)
        assert (error.code, error.detail["reason"]) == ("invalid", "merge_hidden")
        assert error.detail["question"] is public
        session.rollback()
    assert (public.status, len(audit(session)), demo.seq) == ("approved", entries, seq)
    assert questions.counts(session, demo)[public.id]["votes"] == 3

    other = bring(session, demo, anna, clock, "forwarded")
    questions.merge(session, demo, anna, public.id, other.id)  # public into public: as before
    questions.merge(session, demo, anna, waiting.id, other.id)  # a waiting one into any
    session.commit()
    assert (public.status, waiting.status) == ("merged", "merged")


def test_the_merge_refusal_says_why_in_german(app):
    from moderation import messages
    with app.test_request_context("/"):
        text = messages.message("invalid", {"reason": "merge_hidden"})
    assert "zuerst frei" in text and "Ungültig" not in text


def test_the_podium_order_puts_one_on_screen_now_and_keeps_the_rest(session, demo, mods, clock):
    anna, _ = mods
    forwarded = []
    for _ in range(3):
        clock.advance(seconds=30)
        forwarded.append(bring(session, demo, anna, clock, "forwarded"))
    first, second, third = forwarded
    waiting = bring(session, demo, anna, clock, "approved")

    def shown() -> list[int]:
        return [q.id for q in sorted(visible(session, demo, PODIUM, None), key=lambda q: (q.forwarded_at, q.id))
                if q.status == "forwarded"]

    times = sorted(q.forwarded_at for q in (first, second, third))
    assert shown() == [first.id, second.id, third.id]
    seq = (demo.seq, demo.podium_seq)
    write = questions.order_podium(session, demo, anna, [third.id])  # "Jetzt zeigen"
    told = published(session, demo, write)
    assert shown() == [third.id, first.id, second.id]
    assert sorted(q.forwarded_at for q in (first, second, third)) == times  # the same times, swapped
    assert (told["moderator"], told["podium"]) == (seq[0] + 1, seq[1] + 1)
    entry = audit(session)[-1]
    assert (entry.action, entry.question_id, entry.after) == (
        "podium_order", third.id, f"{third.id},{first.id},{second.id}")

    questions.order_podium(session, demo, anna, [third.id, second.id])  # one moved up
    session.commit()
    assert shown() == [third.id, second.id, first.id]
    entries = len(audit(session))
    assert questions.order_podium(session, demo, anna, [third.id]).changed == []  # already so
    for order in ([waiting.id], [third.id, third.id], [], [999999]):
        assert refused(questions.order_podium, session, demo, anna, order).code == "invalid", order
        session.rollback()
    assert len(audit(session)) == entries and shown() == [third.id, second.id, first.id]


def test_the_podium_order_of_questions_forwarded_in_one_instant(session, demo, mods, clock):
    anna, _ = mods
    first, second = (bring(session, demo, anna, clock, "forwarded") for _ in range(2))
    assert first.forwarded_at == second.forwarded_at  # the test clock stands still
    questions.order_podium(session, demo, anna, [second.id])
    session.commit()
    assert second.forwarded_at < first.forwarded_at


# --- undo ------------------------------------------------------------------------------------

def test_undo_reverts_the_last_transition_as_a_new_audited_entry(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    questions.transition(session, demo, anna, "forward", q.id, now=clock())
    session.commit()
    forward_entry = audit(session, q)[-1]
    seq = demo.seq

    write = steps.undo(session, demo, anna, clock())
    session.commit()
    assert q.status == "approved"
    assert write.changed[0].question.id == q.id and write.changed[0].old_status == "forwarded"
    assert published(session, demo, write)["moderator"] == seq + 1 == demo.seq
    entries = audit(session, q)
    undo_entry = entries[-1]
    assert (undo_entry.action, undo_entry.from_status, undo_entry.to_status) == ("undo", "forwarded", "approved")
    assert undo_entry.undoes_id == forward_entry.id and undo_entry.user_id == anna.id
    session.refresh(forward_entry)
    assert forward_entry.undone is True

    # a second undo reverts the step before: the approval
    steps.undo(session, demo, anna, clock())
    session.commit()
    assert q.status == "pending"
    assert len(audit(session, q)) == 4  # approve, forward, undo, undo: nothing was deleted


def test_undo_reverts_an_edit(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock, text="Original?")
    questions.edit(session, demo, anna, q.id, "Bearbeitet?", version=1)
    session.commit()
    steps.undo(session, demo, anna, clock())
    session.commit()
    assert (q.text, q.original_text, q.status) == ("Original?", None, "pending")
    entry = audit(session, q)[-1]
    assert (entry.action, entry.before, entry.after) == ("undo", "Bearbeitet?", "Original?")


def test_undo_is_per_moderator(session, demo, mods, clock):
    anna, ben = mods
    a = ask(session, demo, clock, text="Von Anna freigegeben")
    b = ask(session, demo, clock, text="Von Ben abgelehnt")
    questions.transition(session, demo, anna, "approve", a.id, now=clock())
    questions.transition(session, demo, ben, "reject", b.id, now=clock())
    session.commit()
    steps.undo(session, demo, anna, clock())
    session.commit()
    assert (a.status, b.status) == ("pending", "rejected")


@pytest.mark.postgres
def test_undo_works_purely_from_the_database_after_a_reload(make_app, app, session, demo, mods, clock):
    from moderation.extensions import db

    anna, _ = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "reject", q.id, now=clock())
    session.commit()
    qid, talk_id, user_id = q.id, demo.id, anna.id
    session.rollback()  # end the read transaction before another app writes

    restarted = make_app()
    with restarted.app_context():
        fresh = db.session
        write = steps.undo(fresh, fresh.get(Talk, talk_id), fresh.get(User, user_id), clock())
        fresh.commit()
        assert write.changed[0].question.id == qid
    session.expire_all()
    assert session.get(Question, qid).status == "pending"


def test_undo_with_nothing_to_undo_is_not_found(session, demo, mods, clock):
    anna, ben = mods
    assert refused(steps.undo, session, demo, anna, clock()).code == "not_found"
    q = ask(session, demo, clock)
    questions.transition(session, demo, ben, "approve", q.id, now=clock())
    session.commit()
    # Ben's move is not Anna's to undo
    assert refused(steps.undo, session, demo, anna, clock()).code == "not_found"
    steps.undo(session, demo, ben, clock())
    session.commit()
    assert refused(steps.undo, session, demo, ben, clock()).code == "not_found"
    # a talk-state change is not a question action
    windows.set_state(session, demo, anna, "closed", None, clock())
    session.commit()
    assert refused(steps.undo, session, demo, anna, clock()).code == "not_found"


def test_undo_of_a_question_changed_since_is_a_conflict(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    questions.transition(session, demo, ben, "forward", q.id, now=clock())
    session.commit()
    entries = len(audit(session))
    error = refused(steps.undo, session, demo, anna, clock())
    session.rollback()
    assert error.code == "conflict" and error.detail["question"].id == q.id
    assert q.status == "forwarded"
    assert len(audit(session)) == entries


def test_undo_of_an_edit_overwritten_since_is_a_conflict(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock, text="Ursprung")
    questions.edit(session, demo, anna, q.id, "Anna", version=1)
    questions.edit(session, demo, ben, q.id, "Ben", version=2)
    session.commit()
    assert refused(steps.undo, session, demo, anna, clock()).code == "conflict"
    session.rollback()
    assert q.text == "Ben"


# --- submit ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_submit_same_client_msg_id_three_times_stores_one_question(session, demo, clock):
    msg_id = uuid.uuid4().hex
    results = []
    for _ in range(3):
        results.append(questions.submit(session, demo, text="Einmal bitte?", name="Erika", client="client-a",
                                        client_msg_id=msg_id, now=clock()))
        session.commit()
    assert len({r.question.id for r in results}) == 1
    assert [r.created for r in results] == [True, False, False]
    assert [bool(r.changed) for r in results] == [True, False, False]
    assert session.scalar(select(func.count()).select_from(Question)) == 1


def test_submit_same_msg_id_from_another_client_is_invalid(session, demo, clock):
    msg_id = uuid.uuid4().hex
    ask(session, demo, clock, client="client-a", msg_id=msg_id)
    error = refused(questions.submit, session, demo, text="Fremd?", name=None, client="client-b",
                    client_msg_id=msg_id, now=clock())
    assert error.code == "invalid" and error.detail == {"field": "client_msg_id"}
    assert session.scalar(select(func.count()).select_from(Question)) == 1


def test_resend_is_answered_even_after_the_round_closed(session, demo, clock):
    msg_id = uuid.uuid4().hex
    first = ask(session, demo, clock, msg_id=msg_id)
    clock.advance(hours=6)
    assert not windows.is_open(demo, clock())
    again = questions.submit(session, demo, text="egal", name=None, client="client-a", client_msg_id=msg_id,
                             now=clock())
    assert again.question.id == first.id and again.created is False
    assert refused(questions.submit, session, demo, text="Neu?", name=None, client="client-a",
                   client_msg_id=uuid.uuid4().hex, now=clock()).code == "closed"


def test_submit_to_a_closed_talk_is_refused(session, seeded, clock):
    talk = talks.by_slug(session, "wohnen")
    error = refused(questions.submit, session, talk, text="Zu spät?", name=None, client="c",
                    client_msg_id=uuid.uuid4().hex, now=clock())
    assert error.code == "closed"
    assert session.scalar(select(func.count()).select_from(Question)) == 0


def test_submit_refuses_bad_client_msg_ids(session, demo, clock):
    for msg_id in ("kurz", "x" * 65, "äöüäöüäöü", "mit leerzeichen", "semi;colon;"):
        error = refused(questions.submit, session, demo, text="Frage?", name=None, client="c",
                        client_msg_id=msg_id, now=clock())
        assert error.code == "invalid", msg_id
    assert session.scalar(select(func.count()).select_from(Question)) == 0


def test_submit_stores_normalised_text_name_and_a_stable_client_hash(session, demo, clock, app):
    q = ask(session, demo, clock, text="  Gibt es\tWLAN\n\nim Rathaus?  ", name="  Erika  Mustermann ")
    assert (q.text, q.name, q.status, q.version) == ("Gibt es WLAN im Rathaus?", "Erika Mustermann", "pending", 1)
    assert q.created_at == clock()
    secret = app.config["SECRET_KEY"]
    assert questions.client_hash(secret, "abc-123") == questions.client_hash(secret, "abc-123")
    assert questions.client_hash(secret, "abc-123") != questions.client_hash(secret, "abc-124")
    assert "abc-123" not in questions.client_hash(secret, "abc-123")


# --- validation ------------------------------------------------------------------------------

def test_question_text_refusals(session, demo, clock):
    cases = (("", "empty"), ("   ", "empty"), ("\n\t\r ", "empty"), ("\u202e\u2066 \u200f", "empty"),
             ("x" * 501, "too_long"), ("  " + "x" * 501 + "  ", "too_long"), (None, "invalid"), (42, "invalid"),
             (["Frage"], "invalid"))
    for raw, code in cases:
        error = refused(questions.submit, session, demo, text=raw, name=None, client="c",
                        client_msg_id=uuid.uuid4().hex, now=clock())
        assert error.code == code, raw
        if code == "too_long":
            assert error.detail["max"] == 500
    assert session.scalar(select(func.count()).select_from(Question)) == 0


@pytest.mark.postgres
def test_exactly_500_characters_are_accepted(session, demo, clock):
    q = ask(session, demo, clock, text="x" * 500)
    assert len(q.text) == 500
    # the limit counts characters after normalisation: 500 decomposed umlauts are 500 characters
    decomposed = "a\u0308" * 500
    assert len(decomposed) == 1000
    q = ask(session, demo, clock, text=decomposed)
    assert q.text == "ä" * 500
    # 500 characters plus surrounding whitespace are still 500
    assert len(ask(session, demo, clock, text="  " + "y" * 500 + "\n").text) == 500


@pytest.mark.postgres
def test_name_limits(session, demo, clock):
    assert ask(session, demo, clock, name="n" * 80).name == "n" * 80
    error = refused(questions.submit, session, demo, text="Frage?", name="n" * 81, client="c",
                    client_msg_id=uuid.uuid4().hex, now=clock())
    assert error.code == "too_long" and error.detail == {"max": 80, "field": "name"}
    assert refused(questions.submit, session, demo, text="Frage?", name=7, client="c",
                   client_msg_id=uuid.uuid4().hex, now=clock()).code == "invalid"
    assert ask(session, demo, clock, name="   ").name is None
    assert ask(session, demo, clock, name="").name is None


@pytest.mark.parametrize("raw, expected", [
    ("Fra\u0308ulein", "Fräulein"),  # NFC
    ("Caf\u0065\u0301?", "Café?"),
    ("Hallo\x00Welt", "Hallo Welt"),  # control characters do not survive
    ("Klingel\x07ton\x1b[31m", "Klingel ton [31m"),
    ("abc\u202edef", "abcdef"),  # bidi override
    ("\u2066links\u2069 \u200frechts\u200e", "links rechts"),
    ("a \t b\n\nc", "a b c"),  # whitespace collapsed
    ("  vorne und hinten  ", "vorne und hinten"),
    ("geschütztes\u00a0Leerzeichen", "geschütztes Leerzeichen"),
])
def test_normalise(raw, expected):
    result = texts.normalise(raw)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)
    assert not any(unicodedata.category(ch) == "Cc" for ch in result)


# --- seed ------------------------------------------------------------------------------------

SERIES_TITLE = "Kleinstädte in Deutschland – Potenziale, Herausforderungen und neue Ideen"
SERIES_TALKS = [
    (date(2021, 3, 11), "Kleinstädte in Deutschland: Unterschätzte Größe?"),
    (date(2021, 3, 25), "Wohnen: Ist hier noch was frei?"),
    (date(2021, 4, 15), "Arbeit und Digitale Transformation: Kommt jetzt der Run auf die Kleinstädte?"),
    (date(2021, 4, 29), "Mobilität: Schon angebunden?"),
]


def test_seed_is_idempotent_and_matches_the_announcement(session, clock):
    first = talks.seed(session, clock())
    session.commit()
    assert first  # it reported what it created
    tokens = {t.slug: t.podium_token for t in session.scalars(select(Talk))}
    second = talks.seed(session, clock())
    session.commit()
    assert second == []

    assert [s.title for s in session.scalars(select(Series))] == [SERIES_TITLE]
    series = session.scalar(select(Series))
    assert "SLpB" in series.organisers and "BBSR" in series.organisers
    listed = [(t.starts_at.astimezone(windows.BERLIN), t.ends_at.astimezone(windows.BERLIN), t.title)
              for t in series.talks]
    assert [(s.date(), title) for s, _, title in listed] == SERIES_TALKS
    for starts, ends, _ in listed:
        assert (starts.time(), ends.time()) == (time(18, 30), time(20, 0))
    assert session.scalar(select(func.count()).select_from(Talk)) == 5  # four series talks + demo, no fifth
    demo = talks.by_slug(session, "demo")
    assert demo.series_id is None
    assert windows.is_open(demo, clock())
    assert demo.ends_at - clock() >= timedelta(hours=1)
    assert {t.slug: t.podium_token for t in session.scalars(select(Talk))} == tokens
    assert len(set(tokens.values())) == 5 and all(len(tok) >= 24 for tok in tokens.values())


def test_seed_reopens_a_demo_that_has_closed(session, clock):
    talks.seed(session, clock())
    session.commit()
    demo = talks.by_slug(session, "demo")
    clock.advance(days=2)
    assert not windows.is_open(demo, clock())
    talks.seed(session, clock())
    session.commit()
    assert windows.is_open(demo, clock())
    assert session.scalar(select(func.count()).select_from(Talk)) == 5


@pytest.mark.postgres
def test_lookups_refuse_junk(session, seeded):
    for slug in (None, "", 5, "x" * 81, "gibt-es-nicht"):
        assert refused(talks.by_slug, session, slug).code == "not_found"
    for token in (None, "", 5, "x" * 65, "falsch"):
        assert refused(talks.by_podium_token, session, token).code == "forbidden"
    demo = talks.by_slug(session, "demo")
    assert talks.by_podium_token(session, demo.podium_token).id == demo.id


# --- seq -------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_each_view_counts_the_changes_it_is_told_of_and_stores_them(app, session, demo, mods, clock):
    """moderator: every change; audience: public ones (and its own question under the current
    number); podium: forwarded and answered ones; votes, upvotes and no-ops take no number."""
    anna, _ = mods
    views = lambda: (demo.seq, demo.audience_seq, demo.podium_seq)  # noqa: E731
    assert views() == (0, 0, 0)
    seen = []

    def publish(write) -> None:
        published(session, demo, write, clock())
        seen.append(views())

    write = questions.submit(session, demo, text="Wie kommt der Bus ins Dorf?", name=None, client="c1",
                             client_msg_id=uuid.uuid4().hex, now=clock())
    q = write.question
    publish(write)  # pending: moderators only
    publish(questions.transition(session, demo, anna, "approve", q.id, now=clock()))
    publish(questions.set_upvote(session, demo, anna, q.id))
    publish(questions.set_vote(session, demo, "c1", q.id, 1))
    publish(questions.transition(session, demo, anna, "approve", q.id, now=clock()))  # no-op
    publish(questions.edit(session, demo, anna, q.id, "Anders gefragt?", version=q.version))
    publish(questions.transition(session, demo, anna, "forward", q.id, now=clock()))
    publish(windows.set_state(session, demo, anna, "closed", None, clock()))
    publish(steps.undo(session, demo, anna, clock()))  # forwarded -> approved: podium is told
    assert seen == [(1, 0, 0), (2, 1, 0), (2, 1, 0), (2, 1, 0), (2, 1, 0), (3, 2, 0), (4, 3, 1), (5, 4, 2),
                    (6, 5, 3)]
    assert stored_seq(app, demo.id) == (6, 5, 3)
    other = talks.by_slug(session, "wohnen")
    assert stored_seq(app, other.id) == (0, 0, 0)



# --- word list -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, flag", [
    ("Sie sind ein Idiot!", "insult"),
    ("IDIOTEN alle miteinander", "insult"),
    ("So ein Scheiß mit dem Bus", "insult"),
    ("Mehr dazu auf www.beispiel.de", "spam"),
    ("Siehe https://example.org/x", "spam"),
    ("Billig bei shop.xyz kaufen", "spam"),
    ("Wie steht es um den ÖPNV am Wochenende?", None),
    ("Was hält der Bürgermeister von Radwegen?", None),
])
def test_flag_for(body, flag):
    assert flag_for(body) == flag


def test_submitted_questions_are_flagged_not_hidden(session, demo, clock):
    rude = ask(session, demo, clock, text="Der Planer ist ein Trottel")
    assert (rude.flagged, rude.status) == ("insult", "pending")
    clean = ask(session, demo, clock, text="Gibt es Fördermittel?")
    assert clean.flagged is None
    again = ask(session, demo, clock, text="Gibt es Fördermittel?")
    assert again.flagged == "repeated"
    assert (again.status, again.merged_into_id) == ("merged", clean.id), "a repeat is folded into the first"
    assert audit(session, again)[-1].action == "fold"
    other_client = ask(session, demo, clock, text="Gibt es Fördermittel?", client="client-b")
    assert other_client.flagged is None
    shown = {q.id for q in visible(session, demo, MODERATOR)}
    assert shown == {rude.id, clean.id, again.id, other_client.id}


# --- visibility ------------------------------------------------------------------------------

def test_visible_per_view(session, demo, mods, clock):
    anna, _ = mods
    mine = ask(session, demo, clock, text="Meine", client="me")
    theirs = ask(session, demo, clock, text="Fremde", client="them")
    public = bring(session, demo, anna, clock, "approved")
    on_podium = bring(session, demo, anna, clock, "forwarded")
    rejected = bring(session, demo, anna, clock, "rejected")
    ids = lambda qs: {q.id for q in qs}  # noqa: E731
    assert ids(visible(session, demo, PODIUM)) == {on_podium.id}
    assert ids(visible(session, demo, AUDIENCE, "me")) == {mine.id, public.id, on_podium.id}
    assert ids(visible(session, demo, AUDIENCE)) == {public.id, on_podium.id}
    assert ids(visible(session, demo, MODERATOR)) == {
        mine.id, theirs.id, public.id, on_podium.id, rejected.id}


# --- retention -------------------------------------------------------------------------------

@pytest.mark.postgres
def test_purge_deletes_content_of_old_talks_and_keeps_the_rest(session, demo, mods, clock):
    anna, _ = mods
    old = talks.by_slug(session, "unterschaetzte-groesse")
    during = old.starts_at + timedelta(minutes=10)
    q1 = questions.submit(session, old, text="Alte Frage?", name="Alt", client="c1",
                          client_msg_id=uuid.uuid4().hex, now=during).question
    q2 = questions.submit(session, old, text="Alte Dublette?", name=None, client="c2",
                          client_msg_id=uuid.uuid4().hex, now=during).question
    session.commit()
    questions.transition(session, old, anna, "approve", q1.id, now=during)
    questions.set_vote(session, old, "c3", q1.id, 1)
    questions.set_vote(session, old, "c4", q1.id, 1)
    questions.set_upvote(session, old, anna, q1.id)
    questions.merge(session, old, anna, q2.id, q1.id)
    questions.edit(session, old, anna, q1.id, "Bearbeitete alte Frage?", version=q1.version)
    kept = bring(session, demo, anna, clock, "approved")
    questions.set_vote(session, demo, "c9", kept.id, 1)
    session.commit()
    old_id, old_entries = old.id, len(audit(session))

    result = retention.purge(session, datetime(2021, 3, 20, tzinfo=UTC))
    session.commit()
    session.expire_all()

    assert result == {"talks": 1, "questions": 2, "votes": 2}
    assert session.get(Talk, old_id) is not None
    assert session.scalar(select(func.count()).select_from(Question).where(Question.talk_id == old_id)) == 0
    assert session.scalar(select(func.count()).select_from(Upvote)) == 0
    assert session.scalar(select(func.count()).select_from(Vote)) == 1
    old_audit = list(session.scalars(select(AuditEntry).where(AuditEntry.talk_id == old_id)))
    assert len(old_audit) == 3
    assert all(e.before is None and e.after is None and e.question_id is None for e in old_audit)
    assert all(e.username == "anna" for e in old_audit)
    assert len(audit(session)) == old_entries
    assert session.get(Question, kept.id).text == kept.text


def test_purge_with_nothing_old_deletes_nothing(session, demo, clock):
    ask(session, demo, clock)
    assert retention.purge(session, datetime(2020, 1, 1, tzinfo=UTC)) == {"talks": 0, "questions": 0, "votes": 0}
    assert session.scalar(select(func.count()).select_from(Question)) == 1
