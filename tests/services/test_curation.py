"""Curation services: labels, private notes, written answers, blocking, the line to the podium."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation.models import AuditEntry, Block, Label, Question, QuestionLabel
from moderation.readmodel import payloads
from moderation.readmodel.snapshot import snapshot
from moderation.readmodel.views import AUDIENCE, MODERATOR, OVERLAY, PODIUM, STAFF_FIELDS
from moderation.services import accounts, curation, questions, retention, steps
from moderation.services.errors import DomainError
from tests.helpers import PASSWORD, approved, ask


def refused(fn, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    return info.value


def actions(session) -> list[str]:
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- labels ----------------------------------------------------------------------------------

def test_labels_are_created_inline_per_talk_and_matched_ignoring_case(session, demo, anna, clock):
    q1 = ask(session, demo, clock)
    q2 = ask(session, demo, clock, text="Was kostet Wohnen?")
    write = curation.set_labels(session, demo, anna, q1.id, ["Mobilität", "  an die   Politik "])
    session.commit()
    assert write.changed
    assert [label.name for label in q1.labels] == ["Mobilität", "an die Politik"]
    curation.set_labels(session, demo, anna, q2.id, ["mobilität", "Wohnen", "Wohnen", ""])
    session.commit()
    assert [label.name for label in q2.labels] == ["Mobilität", "Wohnen"]
    assert curation.talk_labels(session, demo) == ["Mobilität", "Wohnen", "an die Politik"]
    assert session.scalar(select(Label).where(Label.name == "mobilität")) is None
    # the same set again changes nothing; an empty list removes them, the talk keeps its labels
    assert curation.set_labels(session, demo, anna, q2.id, ["Wohnen", "Mobilität"]).changed == []
    curation.set_labels(session, demo, anna, q2.id, [])
    session.commit()
    assert q2.labels == []
    assert "Wohnen" in curation.talk_labels(session, demo)
    assert actions(session).count("labels") == 3


@pytest.mark.postgres
def test_label_limits(session, demo, anna, clock):
    q = ask(session, demo, clock)
    error = refused(curation.set_labels, session, demo, anna, q.id, ["x" * 41])
    assert (error.code, error.detail["field"]) == ("too_long", "label")
    assert refused(curation.set_labels, session, demo, anna, q.id, [f"L{i}" for i in range(11)]).code == "invalid"
    assert refused(curation.set_labels, session, demo, anna, 10**6, ["Wohnen"]).code == "not_found"


# --- notes -----------------------------------------------------------------------------------

def test_note_is_set_cleared_audited_and_only_for_moderators(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    curation.set_note(session, demo, anna, q.id, "Nachfragen, ob Kreis oder Gemeinde gemeint ist")
    session.commit()
    assert q.note == "Nachfragen, ob Kreis oder Gemeinde gemeint ist"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "note")).one()
    assert (entry.before, entry.after, entry.username) == (None, q.note, "anna")
    assert payloads.question(q, MODERATOR, payloads.Context())["note"] == q.note
    for view in (AUDIENCE, PODIUM):
        assert "note" not in payloads.question(q, view, payloads.Context(), own=True)
    assert refused(curation.set_note, session, demo, anna, q.id, "x" * 501).detail["field"] == "note"
    curation.set_note(session, demo, anna, q.id, "   ")
    session.commit()
    assert q.note is None


def test_shortlist_is_shared_audited_and_only_for_moderators(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    ben = accounts.create_or_update(session, "ben", PASSWORD)
    write = curation.set_shortlisted(session, demo, anna, q.id, True)
    session.commit()
    assert q.shortlisted is True and write.step is not None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "shortlist")).one()
    assert (entry.before, entry.after, entry.username) == ("nicht vorgemerkt", "vorgemerkt", "anna")
    assert payloads.question(q, MODERATOR, payloads.Context())["shortlisted"] is True
    for view in (AUDIENCE, PODIUM, OVERLAY):
        assert "shortlisted" not in payloads.question(q, view, payloads.Context(), own=True)
        assert not view.hears(write.changed[0])
    assert MODERATOR.hears(write.changed[0])
    assert all("shortlisted" not in item for item in snapshot(session, demo, AUDIENCE, clock(), "client-a")["questions"])
    assert curation.set_shortlisted(session, demo, ben, q.id, True).step is None  # already on it: no change
    curation.set_shortlisted(session, demo, ben, q.id, False)  # one list for the talk: ben takes it off
    session.commit()
    assert q.shortlisted is False
    assert session.scalars(select(AuditEntry.username).where(AuditEntry.action == "shortlist")).all() == ["anna", "ben"]


def test_a_star_keeps_the_version_the_next_move_is_sent_with(session, demo, anna, clock):
    """"Vormerken", then at once "Ans Podium" with the version the card had: not a conflict."""
    q = approved(session, demo, clock, anna)
    version = q.version
    curation.set_shortlisted(session, demo, anna, q.id, True)
    session.commit()
    session.expire_all()
    assert (q.version, q.shortlisted) == (version, True)
    questions.transition(session, demo, anna, "forward", q.id, version=version, now=clock())
    session.commit()
    assert q.status == "forwarded"


# --- written answers -------------------------------------------------------------------------

def test_answer_reaches_the_author_and_once_published_everybody(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    curation.set_answer(session, demo, anna, q.id, "Der Bus fährt ab Mai stündlich.", False)
    session.commit()
    assert "answer" not in payloads.question(q, AUDIENCE, payloads.Context())
    assert payloads.question(q, AUDIENCE, payloads.Context(), own=True)["answer"] == "Der Bus fährt ab Mai stündlich."
    mine = snapshot(session, demo, AUDIENCE, clock(), "client-a")["questions"]
    theirs = snapshot(session, demo, AUDIENCE, clock(), "client-b")["questions"]
    assert mine[0]["answer"] == q.answer and "answer" not in theirs[0]
    curation.set_answer(session, demo, anna, q.id, "Der Bus fährt ab Mai stündlich.", True)
    session.commit()
    assert payloads.question(q, AUDIENCE, payloads.Context())["answer"] == q.answer
    assert "answer" not in payloads.question(q, PODIUM, payloads.Context())
    assert payloads.question(q, MODERATOR, payloads.Context())["answer_published"] is True
    # withdrawn: empty text
    curation.set_answer(session, demo, anna, q.id, "", True)
    session.commit()
    assert (q.answer, q.answer_published) == (None, False)
    assert actions(session).count("answer") == 3


def test_answer_only_for_questions_past_moderation_and_undoable(session, demo, anna, clock):
    pending = ask(session, demo, clock, text="Noch nicht freigegeben")
    error = refused(curation.set_answer, session, demo, anna, pending.id, "Antwort", True)
    assert error.code == "invalid"
    session.rollback()
    q = approved(session, demo, clock, anna)
    questions.transition(session, demo, anna, "answered", q.id)
    curation.set_answer(session, demo, anna, q.id, "Erste Fassung", True)
    curation.set_answer(session, demo, anna, q.id, "Zweite Fassung", False)
    session.commit()
    write = steps.undo(session, demo, anna)
    session.commit()
    assert write.changed
    assert (q.answer, q.answer_published, q.status) == ("Erste Fassung", True, "answered")
    steps.undo(session, demo, anna)
    session.commit()
    assert q.answer is None
    undo = session.scalars(select(AuditEntry).where(AuditEntry.action == "undo").order_by(AuditEntry.id)).all()
    assert json.loads(undo[0].after) == {"text": "Erste Fassung", "published": True}
    assert refused(curation.set_answer, session, demo, anna, q.id, "x" * 1001, True).detail["field"] == "answer"


# --- blocking --------------------------------------------------------------------------------

@pytest.mark.postgres
def test_block_rejects_pending_refuses_submit_and_vote_and_undo_restores(session, demo, anna, clock):
    public = approved(session, demo, clock, anna, client="troll")
    pending = ask(session, demo, clock, text="Noch eine Frage", client="troll")
    other = approved(session, demo, clock, anna, text="Eine ganz andere Frage", client="nice")
    write = curation.block(session, demo, anna, pending.id)
    session.commit()
    assert {c.question.id for c in write.changed} == {public.id, pending.id}
    assert (pending.status, public.status, other.status) == ("rejected", "approved", "approved")
    error = refused(questions.submit, session, demo, text="Wieder da", name=None, client="troll",
                    client_msg_id=uuid.uuid4().hex, now=clock())
    assert error.code == "forbidden" and error.detail == {"blocked": True}
    assert refused(questions.set_vote, session, demo, "troll", other.id, 1).code == "forbidden"
    assert questions.set_vote(session, demo, "nice", public.id, 1).counted == [public.id]
    blocked = frozenset({"troll"})
    card = payloads.question(public, MODERATOR, payloads.Context(blocked=blocked))
    assert card["blocked"] is True
    assert payloads.question(other, MODERATOR, payloads.Context(blocked=blocked))["blocked"] is False
    for view in (AUDIENCE, PODIUM):
        shown = payloads.question(public, view, payloads.Context(blocked=blocked), own=True)
        assert not set(shown) & STAFF_FIELDS
        assert "troll" not in json.dumps(shown)
    # blocking again changes nothing; undo lifts the block and brings the pending question back
    assert curation.block(session, demo, anna, public.id).changed == []
    steps.undo(session, demo, anna)
    session.commit()
    assert pending.status == "pending"
    assert session.scalar(select(Block)) is None
    assert questions.submit(session, demo, text="Wieder da", name=None, client="troll",
                            client_msg_id=uuid.uuid4().hex, now=clock()).created
    assert actions(session)[-2:] == ["block", "undo"]


def test_unblock_and_its_undo(session, demo, anna, clock):
    q = ask(session, demo, clock, client="troll")
    curation.block(session, demo, anna, q.id)
    curation.unblock(session, demo, anna, q.id)
    session.commit()
    assert session.scalar(select(Block)) is None
    assert q.status == "rejected"  # stays rejected; undoing the block would restore it
    assert curation.unblock(session, demo, anna, q.id).changed == []
    steps.undo(session, demo, anna)
    session.commit()
    assert session.scalar(select(Block.client_hash)) == "troll"
    assert actions(session)[-3:] == ["block", "unblock", "undo"]


# --- the line to the podium ------------------------------------------------------------------

def test_backstage_line_is_set_cleared_audited_and_in_podium_and_moderator_snapshots(session, demo, anna, clock):
    assert curation.set_backstage(session, demo, anna, " Noch 5 Minuten ").backstage is True
    session.commit()
    assert (demo.backstage_text, demo.backstage_by) == ("Noch 5 Minuten", "anna")
    assert curation.set_backstage(session, demo, anna, "Noch 5 Minuten").backstage is False
    line = {"text": "Noch 5 Minuten", "by": "anna"}
    assert snapshot(session, demo, PODIUM, clock())["backstage"] == line
    assert snapshot(session, demo, MODERATOR, clock())["backstage"] == line
    assert "backstage" not in snapshot(session, demo, OVERLAY, clock())
    assert "backstage" not in snapshot(session, demo, AUDIENCE, clock(), "client-a")
    assert refused(curation.set_backstage, session, demo, anna, "x" * 201).detail["field"] == "backstage"
    curation.set_backstage(session, demo, anna, "")
    session.commit()
    assert (demo.backstage_text, demo.backstage_by) == (None, None)
    assert snapshot(session, demo, PODIUM, clock())["backstage"] == {"text": None, "by": None}
    assert actions(session) == ["backstage", "backstage"]


@pytest.mark.postgres
def test_retention_removes_blocks_labels_and_the_line_of_old_talks(session, demo, anna, clock):
    q = ask(session, demo, clock, client="troll")
    curation.set_labels(session, demo, anna, q.id, ["Wohnen"])
    curation.set_note(session, demo, anna, q.id, "Notiz")
    curation.block(session, demo, anna, q.id)
    curation.set_backstage(session, demo, anna, "Noch 5 Minuten")
    session.commit()
    result = retention.purge(session, demo.ends_at + timedelta(days=1))
    session.commit()
    assert result["questions"] >= 1
    assert session.scalar(select(Block)) is None
    assert session.scalar(select(QuestionLabel)) is None
    assert session.scalar(select(Question)) is None
    session.refresh(demo)
    assert demo.backstage_text is None and demo.backstage_by is None
