"""Session windows: 18:30–20:00 Europe/Berlin on both sides of the 2021 DST switch, opening
early, closing and extending by hand, parsing `until`, and the next talk."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from moderation.models import AuditEntry, Talk
from moderation.services import talks, windows
from moderation.services.errors import DomainError

UTC = UTC
WINTER = date(2021, 3, 11)  # UTC+1
SUMMER = date(2021, 4, 15)  # UTC+2: the clocks went forward on 2021-03-28


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def scheduled(day: date) -> Talk:
    """A talk in memory, 18:30–20:00 Berlin on that day, following its schedule."""
    return Talk(slug=f"t-{day}", title="T", starts_at=windows.berlin(day, time(18, 30)),
                ends_at=windows.berlin(day, time(20, 0)), manual_state=None, manual_until=None)


# --- the schedule, in UTC ---------------------------------------------------------------------

@pytest.mark.parametrize("day, start, end", [
    (WINTER, utc(2021, 3, 11, 17, 30), utc(2021, 3, 11, 19, 0)),
    (date(2021, 3, 25), utc(2021, 3, 25, 17, 30), utc(2021, 3, 25, 19, 0)),
    (date(2021, 3, 28), utc(2021, 3, 28, 16, 30), utc(2021, 3, 28, 18, 0)),  # the day of the switch
    (SUMMER, utc(2021, 4, 15, 16, 30), utc(2021, 4, 15, 18, 0)),
    (date(2021, 4, 29), utc(2021, 4, 29, 16, 30), utc(2021, 4, 29, 18, 0)),
])
def test_berlin_wall_clock_to_utc(day, start, end):
    assert windows.berlin(day, time(18, 30)) == start
    assert windows.berlin(day, time(20, 0)) == end
    assert windows.berlin(day, time(18, 30)).utcoffset() == timedelta(0)


@pytest.mark.parametrize("day, start", [(WINTER, utc(2021, 3, 11, 17, 30)), (SUMMER, utc(2021, 4, 15, 16, 30))])
def test_is_open_edges(day, start):
    talk = scheduled(day)
    end = start + timedelta(minutes=90)
    second = timedelta(seconds=1)
    assert not windows.is_open(talk, start - second)  # 18:29:59 Berlin
    assert windows.is_open(talk, start)  # 18:30:00
    assert windows.is_open(talk, end - second)  # 19:59:59
    assert not windows.is_open(talk, end)  # 20:00:00
    assert not windows.is_open(talk, start - timedelta(days=1) + timedelta(minutes=30))
    assert windows.closes_at(talk, start) == end
    assert windows.closes_at(talk, end) is None


def test_summer_talk_is_not_shifted_by_an_hour():
    """A winter offset (UTC+1) applied in April would open at 19:30 and close at 21:00 Berlin."""
    talk = scheduled(SUMMER)
    assert windows.is_open(talk, utc(2021, 4, 15, 16, 45))  # 18:45 Berlin
    assert not windows.is_open(talk, utc(2021, 4, 15, 18, 30))  # 20:30 Berlin
    winter = scheduled(WINTER)
    assert not windows.is_open(winter, utc(2021, 3, 11, 16, 45))  # 17:45 Berlin
    assert windows.is_open(winter, utc(2021, 3, 11, 18, 30))  # 19:30 Berlin


@pytest.mark.postgres
def test_seeded_talks_store_the_exact_utc_instants(session, seeded):
    expected = {
        "unterschaetzte-groesse": (utc(2021, 3, 11, 17, 30), utc(2021, 3, 11, 19, 0)),
        "wohnen": (utc(2021, 3, 25, 17, 30), utc(2021, 3, 25, 19, 0)),
        "arbeit-digitale-transformation": (utc(2021, 4, 15, 16, 30), utc(2021, 4, 15, 18, 0)),
        "mobilitaet": (utc(2021, 4, 29, 16, 30), utc(2021, 4, 29, 18, 0)),
    }
    for slug, (start, end) in expected.items():
        talk = talks.by_slug(session, slug)
        assert (talk.starts_at, talk.ends_at) == (start, end), slug
        assert talk.starts_at.tzinfo is not None
        assert talk.starts_at.astimezone(windows.BERLIN).strftime("%H:%M") == "18:30"
        assert talk.ends_at.astimezone(windows.BERLIN).strftime("%H:%M") == "20:00"
        second = timedelta(seconds=1)
        assert [windows.is_open(talk, t) for t in (start - second, start, end - second, end)] == [
            False, True, True, False], slug


# --- by hand ----------------------------------------------------------------------------------

def test_manual_open_early_and_back(session, seeded, anna, clock):
    talk = talks.by_slug(session, "unterschaetzte-groesse")
    clock.now = utc(2021, 3, 11, 17, 0)  # 18:00 Berlin, half an hour early
    assert not windows.is_open(talk, clock())
    write = windows.set_state(session, talk, anna, "open", None, clock())
    session.commit()
    assert windows.is_open(talk, clock())
    assert windows.closes_at(talk, clock()) is None  # open by hand, no end given
    assert (talk.manual_state, talk.manual_until, write.talk_changed) == ("open", None, True)
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.question_id, entry.user_id) == ("talk_state", None, anna.id)
    assert entry.before.startswith("schedule") and entry.after.startswith("open")
    # open by hand without an end stays open after the schedule ends, until closed
    assert windows.is_open(talk, utc(2021, 3, 11, 21, 0))


def test_manual_open_early_with_until_then_the_schedule_takes_over(session, seeded, anna, clock):
    talk = talks.by_slug(session, "unterschaetzte-groesse")
    clock.now = utc(2021, 3, 11, 17, 0)  # 18:00 Berlin
    windows.set_state(session, talk, anna, "open", "2021-03-11T18:15", clock())
    session.commit()
    assert talk.manual_until == utc(2021, 3, 11, 17, 15)
    assert windows.closes_at(talk, clock()) == utc(2021, 3, 11, 17, 15)
    assert windows.is_open(talk, utc(2021, 3, 11, 17, 14, 59))
    assert not windows.is_open(talk, utc(2021, 3, 11, 17, 15))
    assert windows.is_open(talk, utc(2021, 3, 11, 17, 30))  # 18:30: the schedule
    assert windows.closes_at(talk, utc(2021, 3, 11, 17, 30)) == talk.ends_at
    assert not windows.is_open(talk, utc(2021, 3, 11, 19, 0))


def test_manual_close_inside_the_window(session, seeded, anna, clock):
    talk = talks.by_slug(session, "arbeit-digitale-transformation")
    clock.now = utc(2021, 4, 15, 17, 0)  # 19:00 Berlin, in the window
    assert windows.is_open(talk, clock())
    windows.set_state(session, talk, anna, "closed", "2021-04-15T19:45", clock())
    session.commit()
    assert (talk.manual_state, talk.manual_until) == ("closed", None)  # until means nothing when closing
    assert not windows.is_open(talk, clock())
    assert not windows.is_open(talk, utc(2021, 4, 15, 17, 59, 59))
    assert windows.closes_at(talk, clock()) is None
    windows.set_state(session, talk, anna, "open", None, clock())
    session.commit()
    assert windows.is_open(talk, clock())


def test_extend_with_until_in_summer(session, seeded, anna, clock):
    talk = talks.by_slug(session, "arbeit-digitale-transformation")
    clock.now = utc(2021, 4, 15, 17, 50)  # 19:50 Berlin
    windows.set_state(session, talk, anna, "open", "2021-04-15T20:30", clock())  # naive: Berlin
    session.commit()
    assert talk.manual_until == utc(2021, 4, 15, 18, 30)
    assert windows.closes_at(talk, clock()) == utc(2021, 4, 15, 18, 30)
    assert windows.is_open(talk, utc(2021, 4, 15, 18, 0))  # 20:00, the schedule's end
    assert windows.is_open(talk, utc(2021, 4, 15, 18, 29, 59))
    assert not windows.is_open(talk, utc(2021, 4, 15, 18, 30))
    assert windows.closes_at(talk, utc(2021, 4, 15, 18, 30)) is None


def test_extend_with_a_utc_until_in_winter(session, seeded, anna, clock):
    talk = talks.by_slug(session, "unterschaetzte-groesse")
    clock.now = utc(2021, 3, 11, 18, 55)  # 19:55 Berlin
    windows.set_state(session, talk, anna, "open", "2021-03-11T19:40:00Z", clock())
    session.commit()
    assert talk.manual_until == utc(2021, 3, 11, 19, 40)
    assert windows.is_open(talk, utc(2021, 3, 11, 19, 39, 59))
    assert not windows.is_open(talk, utc(2021, 3, 11, 19, 40))


@pytest.mark.parametrize("state, until", [
    ("auf", None), (None, None), ("OPEN", None), (1, None),
    ("open", "2021-03-11T17:00"),  # in the past
    ("open", "2021-03-11T18:00"),  # exactly now (18:00 Berlin)
    ("open", "morgen"), ("open", "2021-13-01T10:00"), ("open", "x" * 41),
])
def test_set_state_refusals_change_nothing(session, seeded, anna, clock, state, until):
    talk = talks.by_slug(session, "unterschaetzte-groesse")
    clock.now = utc(2021, 3, 11, 17, 0)
    entries = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(DomainError) as info:
        windows.set_state(session, talk, anna, state, until, clock())
    session.rollback()
    assert info.value.code == "invalid"
    assert talk.manual_state is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    assert session.scalar(select(AuditEntry)) is None


# --- parse_until ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2021-03-11T20:30", utc(2021, 3, 11, 19, 30)),  # naive: Berlin, winter
    ("2021-03-11 20:30:15", utc(2021, 3, 11, 19, 30, 15)),
    ("2021-04-15T20:30", utc(2021, 4, 15, 18, 30)),  # naive: Berlin, summer
    ("2021-04-15T20:30:00Z", utc(2021, 4, 15, 20, 30)),
    ("2021-04-15T20:30:00+00:00", utc(2021, 4, 15, 20, 30)),
    ("2021-04-15T20:30:00+02:00", utc(2021, 4, 15, 18, 30)),
    (None, None),
    ("", None),
])
def test_parse_until(value, expected):
    now = utc(2021, 3, 1, 12, 0)
    parsed = windows.parse_until(value, now)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [
    "2021-03-01T12:59",  # 12:59 Berlin is 11:59 UTC: before now
    "2021-03-01T13:00",  # 12:00 UTC: exactly now
    "2021-03-01T11:00:00Z", "2020-12-24T18:00", "gestern", "12:00",
])
def test_parse_until_refuses_past_and_junk(value):
    with pytest.raises(DomainError) as info:
        windows.parse_until(value, utc(2021, 3, 1, 12, 0))
    assert (info.value.code, info.value.detail) == ("invalid", {"field": "until"})


# --- next talk --------------------------------------------------------------------------------

def test_next_talk(session, seeded, clock):
    demo = talks.by_slug(session, "demo")
    at = lambda *a: windows.next_talk(session, utc(*a))  # noqa: E731
    assert at(2021, 1, 1).slug == "unterschaetzte-groesse"
    assert at(2021, 3, 11, 17, 45).slug == "wohnen"  # during the first talk: the one after it
    assert at(2021, 3, 25, 17, 29, 59).slug == "wohnen"
    assert at(2021, 3, 25, 17, 30).slug == "arbeit-digitale-transformation"  # once started, it is not next
    assert at(2021, 4, 29, 16, 29).slug == "mobilitaet"
    assert windows.next_talk(session, utc(2021, 4, 29, 16, 30)).id == demo.id  # only the demo is left
    assert windows.next_talk(session, utc(2021, 4, 29, 16, 30), exclude_id=demo.id) is None
    first = talks.by_slug(session, "unterschaetzte-groesse")
    assert windows.next_talk(session, utc(2021, 1, 1), exclude_id=first.id).slug == "wohnen"
    assert windows.next_talk(session, clock() + timedelta(days=1)) is None
