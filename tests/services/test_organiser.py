"""The organiser's services on a real session: talks and their window, assignments, accounts
with their guards, the talk settings' effect on submissions and votes, the report's figures."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy.event
from sqlalchemy import select

from moderation.models import AccountEntry, AuditEntry, Question, Talk, TalkModerator, User
from moderation.readmodel.snapshot import visible
from moderation.readmodel.views import AUDIENCE
from moderation.services import accounts, curation, demo, organiser, questions, report, talks, windows
from moderation.services.errors import DomainError
from moderation.services.writes import Sessions
from tests.helpers import PASSWORD

UTC = UTC


@pytest.fixture
def demo_talk(session, seeded) -> Talk:
    return session.get(Talk, seeded)


@pytest.fixture
def people(session) -> dict[str, User]:
    made = {"chefin": accounts.create_or_update(session, "chefin", PASSWORD, "admin")}
    for name in ("anna", "ben", "cem"):
        made[name] = accounts.create_or_update(session, name, PASSWORD, "moderator")
    session.commit()
    return made


def refused(fn, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    return info.value


def talk_input(**changes) -> organiser.TalkInput:
    values = dict(title="Energie", slug="energie", day=date(2021, 5, 20), begins=time(18, 30), ends=time(20, 0))
    values.update(changes)
    return organiser.TalkInput(**values)


# --- talks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("day, begins, expected", [
    (date(2021, 3, 27), time(18, 30), datetime(2021, 3, 27, 17, 30, tzinfo=UTC)),  # CET, day before the switch
    (date(2021, 3, 28), time(18, 30), datetime(2021, 3, 28, 16, 30, tzinfo=UTC)),  # CEST from that morning
    (date(2021, 10, 31), time(18, 30), datetime(2021, 10, 31, 17, 30, tzinfo=UTC)),  # back to CET
])
def test_wall_clock_times_are_dst_correct(day, begins, expected):
    assert organiser.wall_clock(day, begins) == expected


def test_a_time_skipped_by_the_switch_is_refused(session, seeded, people):
    error = refused(organiser.save, session, None, talk_input(day=date(2021, 3, 28), begins=time(2, 15),
                                                             ends=time(4, 0)), people["chefin"])
    assert error.detail == {"field": "begins", "reason": "dst_gap"}


def test_the_doubled_hour_in_october_counts_once(session, seeded, people):
    """31 October 2021: 02:00–03:00 happens twice; 01:30 to 03:30 is three hours."""
    saved = organiser.save(session, None, talk_input(day=date(2021, 10, 31), begins=time(1, 30), ends=time(3, 30)),
                           people["chefin"])
    assert saved.talk.ends_at - saved.talk.starts_at == timedelta(hours=3)


def test_a_round_past_midnight_ends_on_the_next_day(session, seeded, people):
    """The form holds one day and two times: an end before the beginning is the next day's, for a
    round of up to twelve hours (a demo opened at 21:30 until 01:30); longer is a typo."""
    saved = organiser.save(session, None, talk_input(begins=time(21, 30), ends=time(1, 30)), people["chefin"])
    assert saved.talk.starts_at == datetime(2021, 5, 20, 19, 30, tzinfo=UTC)
    assert saved.talk.ends_at == datetime(2021, 5, 20, 23, 30, tzinfo=UTC)
    assert refused(organiser.save, session, None, talk_input(slug="lang", begins=time(18, 30), ends=time(6, 31)),
                   people["chefin"]).detail == {"field": "ends", "reason": "before_start"}
    assert organiser.save(session, None, talk_input(slug="nachts", begins=time(18, 30), ends=time(6, 30)),
                          people["chefin"]).talk.ends_at == datetime(2021, 5, 21, 4, 30, tzinfo=UTC)
    # 31 October 2021, the night the clocks go back: 22:00 CEST to 03:30 CET is six and a half hours
    overnight = organiser.save(session, None, talk_input(slug="herbst", day=date(2021, 10, 30), begins=time(22, 0),
                                                         ends=time(3, 30)), people["chefin"]).talk
    assert overnight.ends_at - overnight.starts_at == timedelta(hours=6, minutes=30)


@pytest.mark.parametrize("begins, ends, days", [
    (time(18, 30), time(20, 0), 0), (time(23, 0), time(1, 0), 1), (time(18, 30), time(6, 30), 1),
    (time(18, 30), time(6, 31), None), (time(18, 30), time(18, 30), None), (time(20, 0), time(19, 0), None)])
def test_the_day_an_end_falls_on(begins, ends, days):
    assert organiser.days_to_end(begins, ends) == days


def test_end_before_begin_bad_slug_and_taken_slug_are_refused(session, seeded, people):
    chefin = people["chefin"]
    assert refused(organiser.save, session, None, talk_input(ends=time(18, 30)), chefin).detail == \
        {"field": "ends", "reason": "before_start"}
    assert refused(organiser.save, session, None, talk_input(slug="Groß"), chefin).detail["field"] == "slug"
    assert refused(organiser.save, session, None, talk_input(slug="-a"), chefin).detail["field"] == "slug"
    assert refused(organiser.save, session, None, talk_input(slug="wohnen"), chefin).detail == \
        {"field": "slug", "reason": "taken"}
    assert refused(organiser.save, session, None, talk_input(title="  "), chefin).detail["field"] == "title"


def test_saving_audits_and_reports_live_changes(session, demo_talk, people):
    saved = organiser.save(session, None, talk_input(moderator_ids=[people["anna"].id]), people["chefin"])
    assert saved.created and not saved.live_changed and saved.talk.podium_token
    same = organiser.save(session, saved.talk, talk_input(moderator_ids=[people["anna"].id],
                                                          description="nur Text"), people["chefin"])
    assert not same.live_changed and not same.write.talk_changed
    off = organiser.save(session, saved.talk, talk_input(audience_votes=False, moderator_ids=[people["ben"].id]),
                         people["chefin"])
    assert off.live_changed and off.write.talk_changed and not off.write.changed
    assert off.write.ended == [(Sessions("account", people["anna"].id), "removed")]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.talk_id == saved.talk.id)).all()
    assert actions == ["talk_created", "talk_changed", "talk_changed"]


# --- who moderates ---------------------------------------------------------------------------

def test_admins_always_moderate_assigned_moderators_only_once_anyone_is_assigned(session, demo_talk, people):
    anna, ben, chefin = people["anna"], people["ben"], people["chefin"]
    assert organiser.may_moderate(session, anna, demo_talk) and organiser.may_moderate(session, ben, demo_talk)
    organiser.assign(session, demo_talk, [anna.id])
    assert organiser.may_moderate(session, anna, demo_talk)
    assert not organiser.may_moderate(session, ben, demo_talk)
    assert organiser.may_moderate(session, chefin, demo_talk)
    anna.active = False
    assert not organiser.may_moderate(session, anna, demo_talk)
    assert organiser.assign(session, demo_talk, []) == [anna.id]
    assert session.scalars(select(TalkModerator)).all() == []


def test_a_moderator_screens_seat_is_checked_in_one_statement(session, demo_talk, people):
    """organiser.seat, the check at every event of a moderator's screen, says what accounts.load
    and may_moderate say, in one statement."""
    anna, ben, chefin = people["anna"], people["ben"], people["chefin"]
    seen: list[str] = []
    listen = (session.get_bind(), "before_cursor_execute", lambda *args: seen.append(args[2]))

    def seat(login: str, talk_id: int = demo_talk.id) -> tuple[Talk | None, User | None, bool]:
        session.flush()
        session.expire_all()
        seen.clear()
        sqlalchemy.event.listen(*listen)
        try:
            return organiser.seat(session, login, talk_id)
        finally:
            sqlalchemy.event.remove(*listen)
            assert len(seen) == 1, seen

    assert seat(ben.get_id()) == (demo_talk, ben, True)  # nobody assigned: every moderator
    organiser.assign(session, demo_talk, [anna.id])
    assert seat(anna.get_id()) == (demo_talk, anna, True)
    assert seat(ben.get_id()) == (demo_talk, ben, False)
    assert seat(chefin.get_id()) == (demo_talk, chefin, True)  # admins moderate every talk
    stale = anna.get_id()
    accounts.log_out_everywhere(session, anna)
    assert seat(stale) == (demo_talk, None, False)
    assert seat(anna.get_id()) == (demo_talk, anna, True)
    anna.active = False
    assert seat(anna.get_id()) == (demo_talk, None, False)
    assert seat("no login") == (demo_talk, None, False)
    assert seat(ben.get_id(), demo_talk.id + 1000) == (None, None, False)


# --- accounts --------------------------------------------------------------------------------

def test_create_needs_a_free_name_and_twelve_characters(session, people):
    chefin = people["chefin"]
    assert refused(accounts.create, session, chefin, "dora", "a" * 11, "moderator").detail["field"] == "password"
    assert refused(accounts.create, session, chefin, "anna", "a" * 12, "moderator").detail["reason"] == "taken"
    assert refused(accounts.create, session, chefin, "dora", "a" * 12, "root").detail["field"] == "role"
    dora = accounts.create(session, chefin, "dora", "a" * 12, "moderator")
    assert accounts.authenticate(session, "dora", "a" * 12) is dora


def test_guards_keep_the_admin_side_reachable(session, people):
    chefin, anna = people["chefin"], people["anna"]
    assert refused(accounts.set_active, session, chefin, chefin, False).detail["reason"] == "self"
    assert refused(accounts.set_role, session, chefin, chefin, "moderator").detail["reason"] == "self"
    accounts.set_role(session, chefin, anna, "admin")
    accounts.set_active(session, anna, chefin, False)
    # anna is now the last active admin: nobody can demote or disable her (nor she herself).
    assert refused(accounts.set_role, session, anna, anna, "moderator").code == "forbidden"
    accounts.set_active(session, anna, chefin, True)
    accounts.set_role(session, chefin, anna, "moderator")
    assert accounts.active_admins(session) == 1
    log = [(e.action, e.target, e.username) for e in session.scalars(select(AccountEntry).order_by(AccountEntry.id))]
    assert log == [("role", "anna", "chefin"), ("disabled", "chefin", "anna"), ("enabled", "chefin", "anna"),
                   ("role", "anna", "chefin")]


def test_disabling_ends_sessions_and_reset_gives_a_new_password(session, people):
    anna = people["anna"]
    login = anna.get_id()
    accounts.set_active(session, people["chefin"], anna, False)
    assert accounts.load(session, login) is None
    accounts.set_active(session, people["chefin"], anna, True)
    login = anna.get_id()
    password = accounts.reset_password(session, None, anna)
    assert len(password) >= 16 and accounts.load(session, login) is None
    assert accounts.authenticate(session, "anna", password) is anna
    assert accounts.authenticate(session, "anna", PASSWORD) is None
    assert accounts.generate_password() != accounts.generate_password()


# --- settings that change what the audience can do ------------------------------------------

def submit(session, talk, clock, text="Wie kommt der Bus ins Dorf?"):
    return questions.submit(session, talk, text=text, name=None, client="client-a",
                            client_msg_id=uuid.uuid4().hex, now=clock())


def test_without_premoderation_questions_are_public_at_once_and_still_removable(session, demo_talk, people, clock):
    demo_talk.premoderation = False
    change = submit(session, demo_talk, clock)
    assert change.question.status == "approved"
    assert change.question in visible(session, demo_talk, AUDIENCE, "someone-else")
    removed = questions.transition(session, demo_talk, people["anna"], "reject", change.question.id)
    assert removed.question.status == "rejected"


def test_without_premoderation_a_flagged_question_still_waits_for_a_moderator(session, demo_talk, clock):
    demo_talk.premoderation = False
    insult = submit(session, demo_talk, clock, "Sie sind doch alle Idioten, oder?").question
    spam = submit(session, demo_talk, clock, "Jetzt Bitcoin kaufen bei www.example.xyz!").question
    first = submit(session, demo_talk, clock, "Wann kommt der Bus?").question
    assert (insult.flagged, insult.status) == ("insult", "pending")
    assert (spam.flagged, spam.status) == ("spam", "pending")
    assert (first.flagged, first.status) == (None, "approved")
    for question in (insult, spam):
        assert question not in visible(session, demo_talk, AUDIENCE, "someone-else")


def test_questions_in_advance_only_before_the_window(session, demo_talk, clock):
    demo_talk.starts_at = clock() + timedelta(days=1)
    demo_talk.ends_at = clock() + timedelta(days=1, hours=1)
    assert refused(submit, session, demo_talk, clock).code == "closed"
    demo_talk.early_questions = True
    assert windows.accepts_questions(demo_talk, clock()) and not windows.is_open(demo_talk, clock())
    assert submit(session, demo_talk, clock).question.status == "pending"
    demo_talk.manual_state = "closed"  # closed by hand stays closed
    assert refused(submit, session, demo_talk, clock, "Noch eine?").code == "closed"
    demo_talk.manual_state = None
    clock.advance(days=2)  # after the talk: closed again
    assert refused(submit, session, demo_talk, clock, "Zu spät?").code == "closed"


def test_votes_switched_off_are_refused_with_closed(session, demo_talk, people, clock):
    q = submit(session, demo_talk, clock).question
    questions.transition(session, demo_talk, people["anna"], "approve", q.id)
    demo_talk.audience_votes = False
    assert refused(questions.set_vote, session, demo_talk, "client-b", q.id, 1).code == "closed"
    demo_talk.audience_votes = True
    questions.set_vote(session, demo_talk, "client-b", q.id, 1)


def test_audience_peak_only_rises(session, demo_talk):
    organiser.note_audience(session, demo_talk.id, 5)
    organiser.note_audience(session, demo_talk.id, 3)
    session.commit()
    assert session.get(Talk, demo_talk.id).audience_peak == 5


# --- report ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_report_figures(session, demo_talk, people, clock):
    made = demo.generate(session, demo_talk, 100, [people["anna"], people["ben"]], seed=5)
    session.commit()
    figures = report.build(session, demo_talk)
    assert figures.total == 100 == sum(figures.by_status.values())
    merged = figures.by_status["merged"]
    assert figures.answered_share == pytest.approx(figures.by_status["answered"] / (100 - merged))
    assert sum(b.count for b in figures.buckets) == 100
    assert figures.buckets[0].starts == demo_talk.starts_at
    assert all(b2.starts - b1.starts == timedelta(minutes=10) for b1, b2 in zip(figures.buckets, figures.buckets[1:]))
    assert len(figures.top_unanswered) == 10
    votes = [v for _q, v, _u in figures.top_unanswered]
    assert votes == sorted(votes, reverse=True)
    assert all(q.status not in ("answered", "merged") for q, _v, _u in figures.top_unanswered)
    best_open = max(v for q, v, _u in ((q, *_counts(session, demo_talk, q)) for q in made)
                    if q.status not in ("answered", "merged"))
    assert votes[0] == best_open
    assert set(figures.actions) == {"anna", "ben"}
    answered = sum(counts.get("answered", 0) for counts in figures.actions.values())
    assert answered == figures.by_status["answered"]


def _counts(session, talk, q):
    c = questions.counts(session, talk, [q.id]).get(q.id, {})
    return c.get("votes", 0), c.get("upvotes", 0)


def test_report_of_a_talk_without_questions(session, demo_talk):
    figures = report.build(session, demo_talk)
    assert figures.total == 0 and figures.answered_share is None and figures.top_unanswered == []
    assert sum(b.count for b in figures.buckets) == 0 and len(figures.buckets) >= 1


def test_a_question_before_the_window_widens_the_chart(session, seeded, people):
    talk = talks.by_slug(session, "wohnen")
    early = Question(talk_id=talk.id, text="Vorab", client_msg_id=uuid.uuid4().hex,
                     created_at=talk.starts_at - timedelta(minutes=25))
    session.add(early)
    session.flush()
    buckets = report.build(session, talk).buckets
    assert buckets[0].starts == early.created_at and buckets[0].count == 1
    assert buckets[-1].starts < talk.ends_at <= buckets[-1].starts + timedelta(minutes=10)


@pytest.mark.parametrize("span", [timedelta(days=3), timedelta(days=400), timedelta(days=365 * 30)])
def test_the_chart_keeps_to_a_few_hundred_bars_whatever_the_span(session, seeded, span):
    talk = talks.by_slug(session, "wohnen")
    times = [talk.starts_at - span, talk.starts_at, talk.ends_at + span]
    for i, at in enumerate(times):
        session.add(Question(talk_id=talk.id, text=f"Frage {i}", client_msg_id=uuid.uuid4().hex, created_at=at))
    session.flush()
    figures = report.build(session, talk)
    assert 1 < len(figures.buckets) <= report.MAX_BUCKETS and sum(b.count for b in figures.buckets) == 3
    assert figures.buckets[0].starts == times[0] and figures.buckets[0].count == 1
    assert figures.buckets[-1].starts <= times[-1] < figures.buckets[-1].starts + figures.bucket_width
    assert all(b2.starts - b1.starts == figures.bucket_width for b1, b2 in zip(figures.buckets, figures.buckets[1:]))


def test_report_counts_questions_and_answers_per_label(session, demo_talk, people, clock):
    anna = people["anna"]
    asked = [questions.submit(session, demo_talk, text=f"Frage {i}?", name=None, client=f"c{i}",
                              client_msg_id=uuid.uuid4().hex, now=clock()).question for i in range(3)]
    for q in asked:
        questions.transition(session, demo_talk, anna, "approve", q.id, now=clock())
    curation.set_labels(session, demo_talk, anna, asked[0].id, ["Mobilität", "Wohnen"])
    curation.set_labels(session, demo_talk, anna, asked[1].id, ["Mobilität"])
    questions.transition(session, demo_talk, anna, "answered", asked[1].id, now=clock())
    session.commit()
    assert report.build(session, demo_talk).labels == [("Mobilität", 2, 1), ("Wohnen", 1, 0)]
