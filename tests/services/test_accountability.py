"""Accountable moderation, the domain: reports ("Melden"), reject reasons and what each view
reads of them, where a merged question went, the consent to a name in the documentation, the
report's moderation figures, and the Probelauf."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from moderation.models import (
    AuditEntry,
    Block,
    Question,
    QuestionReport,
    SimilarSuggestion,
    Talk,
    Upvote,
    User,
    Vote,
)
from moderation.readmodel import payloads
from moderation.readmodel.snapshot import snapshot
from moderation.readmodel.views import AUDIENCE, MODERATOR, PODIUM
from moderation.services import accounts, curation, questions, rehearsal, report, reports, steps, windows
from tests.helpers import PASSWORD, approved, ask, refused


@pytest.fixture
def chefin(session) -> User:
    user = accounts.create_or_update(session, "chefin", PASSWORD, "admin")
    session.commit()
    return user


# --- Melden ----------------------------------------------------------------------------------

@pytest.mark.postgres  # ON CONFLICT, bulk deletes across foreign keys
def test_a_report_is_stored_once_per_person_and_question(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    first = reports.report(session, demo, "client-b", q.id, "beleidigend")
    assert [c.question.id for c in first.changed] == [q.id] and [c.fields for c in first.changed] == [frozenset({"reports"})]
    again = reports.report(session, demo, "client-b", q.id, "werbung")  # another reason: still the same report
    assert again.changed == [] and again.question is q
    reports.report(session, demo, "client-c", q.id, "werbung")
    session.commit()
    assert reports.counts(session, demo) == {q.id: {"beleidigend": 1, "werbung": 1}}
    assert reports.reported_by(session, demo, "client-b") == {q.id}
    assert reports.reported_by(session, demo, "client-z") == set()


def test_only_public_questions_of_the_talk_can_be_reported_for_a_known_reason(session, demo, anna, clock):
    pending = ask(session, demo, clock, "Noch nicht freigegeben?")
    rejected = ask(session, demo, clock, "Abgelehnt?")
    questions.transition(session, demo, anna, "reject", rejected.id, now=clock())
    public = approved(session, demo, clock, anna, text="Öffentlich?")
    other = session.scalar(select(Talk).where(Talk.slug == "wohnen"))
    assert refused(reports.report, session, demo, "c", pending.id, "thema").code == "not_found"
    assert refused(reports.report, session, demo, "c", rejected.id, "thema").code == "not_found"
    assert refused(reports.report, session, other, "c", public.id, "thema").code == "not_found"
    assert refused(reports.report, session, demo, "c", 2**31, "thema").code == "not_found"
    assert refused(reports.report, session, demo, "c", public.id, "doof").detail == {"field": "reason"}
    assert refused(reports.report, session, demo, "c", public.id, "sonstiges").code == "invalid"  # a reject reason
    curation.block(session, demo, anna, pending.id)  # client-a is blocked now
    assert refused(reports.report, session, demo, "client-a", public.id, "thema").detail == {"blocked": True}
    assert session.scalar(select(func.count()).select_from(QuestionReport)) == 0


def test_the_limit_counts_new_reports_only(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    admitted = []
    reports.report(session, demo, "client-b", q.id, "thema", admit=lambda: admitted.append(1))
    reports.report(session, demo, "client-b", q.id, "thema", admit=lambda: admitted.append(1))
    assert admitted == [1]


def test_reports_reach_moderators_only_and_never_hide_a_question(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    for n in range(reports.FLAG_AT + 3):
        reports.report(session, demo, f"client-{n}", q.id, "beleidigend")
    session.commit()
    assert q.status == "approved"  # never hidden by reports alone
    counts = reports.counts(session, demo)
    mod = payloads.question(q, MODERATOR, payloads.Context(reports=counts))
    assert mod["reports"] == {"beleidigend": reports.FLAG_AT + 3}
    for view in (AUDIENCE, PODIUM):
        assert "reports" not in payloads.question(q, view, payloads.Context(reports=counts), own=True)
    state = snapshot(session, demo, MODERATOR, clock())
    assert [item["reports"] for item in state["questions"]] == [{"beleidigend": reports.FLAG_AT + 3}]
    audience = snapshot(session, demo, AUDIENCE, clock(), client="client-1")
    assert [(item["reported"], "reports" in item) for item in audience["questions"]] == [(True, False)]


# --- reasons ---------------------------------------------------------------------------------

def test_a_reject_keeps_its_reason_for_the_asker_and_the_log(session, demo, anna, clock):
    q = approved(session, demo, clock, anna)
    write = questions.transition(session, demo, anna, "reject", q.id, now=clock(), reason="thema")
    session.commit()
    assert write.changed and q.reject_reason == "thema"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reject")).one()
    assert (entry.from_status, entry.to_status, entry.after) == ("approved", "rejected", "thema")
    assert payloads.question(q, MODERATOR, payloads.Context())["reason"] == "thema"
    assert payloads.question(q, AUDIENCE, payloads.Context(), own=True)["reason"] == "thema"
    assert "reason" not in payloads.question(q, AUDIENCE, payloads.Context())  # anybody else
    assert "reason" not in payloads.question(q, PODIUM, payloads.Context(), own=True)
    # back to approved: no reason is shown, and taking the approval back shows it again
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    assert payloads.question(q, MODERATOR, payloads.Context())["reason"] is None
    assert "reason" not in payloads.question(q, AUDIENCE, payloads.Context(), own=True)
    steps.undo(session, demo, anna, clock())
    assert payloads.question(q, AUDIENCE, payloads.Context(), own=True)["reason"] == "thema"


def test_reasons_are_checked_and_optional(session, demo, anna, clock):
    q = ask(session, demo, clock)
    assert refused(questions.transition, session, demo, anna, "reject", q.id, reason="egal").detail == \
        {"field": "reason"}
    assert refused(questions.transition, session, demo, anna, "approve", q.id, reason="thema").code == "invalid"
    questions.transition(session, demo, anna, "reject", q.id)
    assert q.reject_reason is None and "reason" not in payloads.question(q, AUDIENCE, payloads.Context(), own=True)
    # the same move again (with a reason now) is the same move: ok, nothing stored
    assert questions.transition(session, demo, anna, "reject", q.id, reason="werbung").changed == []
    assert q.reject_reason is None


def test_the_asker_learns_where_a_merged_question_went(session, demo, anna, clock):
    target = approved(session, demo, clock, anna, text="Wann kommt der Bus?", client="client-t")
    dup = ask(session, demo, clock, "Wann fährt der Bus?", client="client-d")
    questions.merge(session, demo, anna, dup.id, target.id)
    session.commit()
    assert payloads.question(dup, AUDIENCE, payloads.Context(), own=True)["merged_into"] == target.id
    assert "merged_into" not in payloads.question(dup, AUDIENCE, payloads.Context())
    assert "merged_into" not in payloads.question(target, AUDIENCE, payloads.Context(), own=True)  # nothing to say
    mine = snapshot(session, demo, AUDIENCE, clock(), client="client-d")["questions"]
    assert {q["id"]: q.get("merged_into") for q in mine} == {target.id: None, dup.id: target.id}


def test_consent_to_a_name_in_the_documentation_needs_a_name(session, demo, clock):
    assert ask(session, demo, clock, "Eins?", name="Erika", name_in_record=True).name_in_record is True
    assert ask(session, demo, clock, "Zwei?", name="Erika").name_in_record is False
    assert ask(session, demo, clock, "Drei?", name_in_record=True).name_in_record is False


# --- the report ------------------------------------------------------------------------------

def test_the_report_counts_rejections_and_reports_per_reason(session, demo, anna, clock):
    for reason, n in (("thema", 2), ("werbung", 1), (None, 1)):
        for i in range(n):
            q = ask(session, demo, clock, f"{reason} {i}?", client=f"c-{reason}-{i}")
            questions.transition(session, demo, anna, "reject", q.id, now=clock(), reason=reason)
    taken_back = ask(session, demo, clock, "Doch freigegeben?")
    questions.transition(session, demo, anna, "reject", taken_back.id, now=clock(), reason="doppelt")
    questions.transition(session, demo, anna, "approve", taken_back.id, now=clock())
    reports.report(session, demo, "x", taken_back.id, "falsch")
    reports.report(session, demo, "y", taken_back.id, "falsch")
    reports.report(session, demo, "z", taken_back.id, "werbung")
    session.commit()
    built = report.build(session, demo)
    assert built.reject_reasons == {"thema": 2, "doppelt": 0, "beleidigend": 0, "werbung": 1, "beantwortet": 0,
                                    "sonstiges": 0, "": 1}
    assert built.reports == {"beleidigend": 0, "falsch": 2, "werbung": 1, "thema": 0}


# --- Probelauf -------------------------------------------------------------------------------

@pytest.fixture
def planned(session, demo, clock) -> Talk:
    """`demo`, moved to start in an hour (a rehearsal is for before the talk), taking questions early."""
    demo.starts_at, demo.ends_at = clock() + timedelta(hours=1), clock() + timedelta(hours=3)
    demo.early_questions = True
    demo.backstage_text, demo.backstage_by = "Willkommen", "anna"
    demo.audience_peak = 7
    session.commit()
    return demo


def test_a_rehearsal_cannot_start_while_the_round_is_open_for_real(session, demo, chefin, clock):
    assert windows.is_open(demo, clock())
    assert refused(rehearsal.start, session, demo, chefin, clock()).detail == {"reason": "open"}
    assert demo.rehearsal_since is None


@pytest.mark.postgres  # ON CONFLICT, bulk deletes across foreign keys
def test_a_rehearsal_is_gone_when_it_ends_and_the_talk_is_as_before(session, planned, anna, chefin, clock):
    talk = planned
    real = approved(session, talk, clock, anna, text="Eine echte Frage von vorher?", client="real")
    session.add(Vote(question_id=real.id, client_hash="early-voter"))
    session.commit()
    assert not windows.is_open(talk, clock())

    write = rehearsal.start(session, talk, chefin, clock())
    session.commit()
    assert write.talk_changed and windows.is_open(talk, clock()) and payloads.talk(talk, clock())["rehearsal"]
    assert rehearsal.start(session, talk, chefin, clock()).talk_changed is False  # again: nothing

    # the team tries everything
    tried = ask(session, talk, clock, "Hört man mich?", client="team-1", name="Tester", name_in_record=True)
    other = ask(session, talk, clock, "Und mich?", client="team-2")
    assert tried.rehearsal and other.rehearsal and not real.rehearsal
    for move in ("approve", "forward", "answered"):
        questions.transition(session, talk, anna, move, tried.id, now=clock())
    questions.set_upvote(session, talk, anna, tried.id)
    questions.set_vote(session, talk, "team-2", tried.id, 1)
    questions.set_vote(session, talk, "team-2", real.id, 1)  # a real question gets a rehearsal vote
    reports.report(session, talk, "team-1", real.id, "thema")
    curation.set_labels(session, talk, anna, tried.id, ["Test"])
    curation.set_answer(session, talk, anna, tried.id, "Ja.", True)
    curation.block(session, talk, anna, other.id)
    curation.set_backstage(session, talk, anna, "Probe!")
    windows.set_state(session, talk, anna, "open", (clock() + timedelta(hours=5)).isoformat(), clock())
    questions.merge(session, talk, anna, real.id, tried.id)  # a real question merged into a rehearsal's
    session.add(SimilarSuggestion(question_id=tried.id, talk_id=talk.id, items=[]))
    session.commit()
    # reports never include a rehearsal, even while it runs
    during = report.build(session, talk)
    assert during.total == 1 and during.reports == dict.fromkeys(reports.per_reason(session, talk), 0)
    assert during.actions == {"anna": {"approve": 1, "merge": 1}}  # the steps on the real question only

    write, removed = rehearsal.end(session, talk, chefin)
    session.commit()
    assert write.talk_changed and removed == 2
    session.expire_all()
    assert [q.text for q in session.scalars(select(Question).where(Question.talk_id == talk.id))] == \
        ["Eine echte Frage von vorher?"]
    real = session.get(Question, real.id)
    assert (real.status, real.merged_into_id) == ("pending", None)  # stands alone again, for the moderators
    assert [v.client_hash for v in session.scalars(select(Vote))] == ["early-voter"]
    for model in (Upvote, QuestionReport, Block, SimilarSuggestion):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model
    kept = [(e.action, e.question_id) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert kept == [("approve", real.id), ("rehearsal_start", None), ("merge", real.id), ("rehearsal_end", None)]
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "rehearsal_end")).one().after == "2"
    # the round and the talk are as before; its settings were never touched
    assert (talk.manual_state, talk.manual_until, talk.rehearsal_since, talk.rehearsal_saved) == (None, None, None, None)
    assert (talk.backstage_text, talk.backstage_by, talk.audience_peak) == ("Willkommen", "anna", 7)
    assert not windows.is_open(talk, clock()) and not payloads.talk(talk, clock())["rehearsal"]
    assert (talk.title, talk.premoderation, talk.audience_votes) == ("Demo: Fragerunde ausprobieren", True, True)
    again, none = rehearsal.end(session, talk, chefin)  # no rehearsal: nothing
    assert (again.talk_changed, none) == (False, 0)


def test_a_round_closed_by_hand_before_the_rehearsal_is_so_again(session, planned, anna, chefin, clock):
    windows.set_state(session, planned, anna, "closed", None, clock())
    session.commit()
    rehearsal.start(session, planned, chefin, clock())
    session.commit()
    assert windows.is_open(planned, clock())
    rehearsal.end(session, planned, chefin)
    session.commit()
    assert (planned.manual_state, planned.manual_until) == ("closed", None)
