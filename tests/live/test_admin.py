"""The organiser's changes as open sockets see them: who may moderate (at connect and at every
event), settings and window changes on open pages, a renewed podium link, the audience peak."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from moderation.extensions import db, socketio
from moderation.models import Talk, TalkModerator
from moderation.services import accounts, organiser, talks
from tests.helpers import PASSWORD, Clock, ended_with, events, submit


def mod(client, event: str, data: dict) -> dict:
    return client.emit(event, data, namespace="/moderator", callback=True)


def named(client, namespace: str, name: str) -> list[dict]:
    return [e["args"][0] if e["args"] else None for e in events(client, namespace, name)]


@pytest.fixture
def clock(request) -> Clock:
    """Noon in Berlin today, or the hour a test asks for (`indirect` parametrize): the demo window
    runs from half an hour before now to four hours after, so from 20:00 it ends the next day."""
    hour = getattr(request, "param", 12)
    at = datetime.now(talks.BERLIN).replace(hour=hour, minute=0, second=0, microsecond=0)
    return Clock(at.astimezone(UTC))


@pytest.fixture
def chefin(app, seeded, login):
    """An admin's HTTP client; moderators `mod` (the fixture's) and `anna`; the demo window on whole
    minutes, as the form gives it."""
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.starts_at = talk.starts_at.replace(second=0, microsecond=0)
        talk.ends_at = talk.ends_at.replace(second=0, microsecond=0)
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        accounts.create_or_update(db.session, "anna", PASSWORD, "moderator")
        db.session.commit()
    return login("chefin")


def user_id(app, name: str) -> int:
    with app.app_context():
        return accounts.by_name(db.session, name).id


def assign(app, *names: str) -> None:
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        organiser.assign(db.session, talk, [accounts.by_name(db.session, n).id for n in names])
        db.session.commit()


@pytest.mark.parametrize("clock", [21], indirect=True)
def test_a_demo_opened_at_nine_in_the_evening_saves_unchanged(app, chefin, clock):
    """Seeded at 21:00 in Berlin, the demo runs from 20:30 until 01:00: its form shows 20:30 and 01:00
    and saving it unchanged keeps the window (it was refused as "Das Ende muss nach dem Beginn liegen")."""
    with app.app_context():
        before = talks.by_slug(db.session, "demo")
        window = (before.starts_at, before.ends_at)
    form = demo_form(app)
    assert (form["begins"], form["ends"]) == ("20:30", "01:00")
    assert chefin.post("/admin/talks/demo", data=form).status_code == 303
    with app.app_context():
        after = talks.by_slug(db.session, "demo")
        assert (after.starts_at, after.ends_at) == window


def demo_form(app, **changes) -> dict:
    """The demo talk's form as stored, with changes."""
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        local_start = talk.starts_at.astimezone(talks.BERLIN)
        local_end = talk.ends_at.astimezone(talks.BERLIN)
        ids = list(db.session.scalars(select(TalkModerator.user_id).where(TalkModerator.talk_id == talk.id)))
        data = {"title": talk.title, "slug": talk.slug, "series": "0", "day": local_start.date().isoformat(),
                "begins": local_start.strftime("%H:%M"), "ends": local_end.strftime("%H:%M"),
                "description": talk.description, "moderators": ids,
                "audience_votes": "y" if talk.audience_votes else None,
                "premoderation": "y" if talk.premoderation else None}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_only_assigned_moderators_and_admins_connect(app, chefin, login, moderator_client):
    assign(app, "anna")
    assert not moderator_client().is_connected("/moderator")  # `mod` is not assigned
    assert moderator_client(http=login("anna")).is_connected("/moderator")
    assert moderator_client(http=chefin).is_connected("/moderator")
    assert moderator_client("wohnen").is_connected("/moderator")  # nobody assigned there


def test_removed_assignment_ends_the_open_socket_and_says_why(app, chefin, moderator_client, audience_client):
    assign(app, "mod", "anna")
    moderator = moderator_client()
    elsewhere = moderator_client("wohnen")  # the same account on a talk it still moderates
    assert moderator.is_connected("/moderator")
    response = chefin.post("/admin/talks/demo", data=demo_form(app, moderators=[user_id(app, "anna")]))
    assert response.status_code == 303
    assert not moderator.is_connected("/moderator")
    assert ended_with(moderator, "/moderator") == [{"why": "removed"}]  # its page says why
    assert elsewhere.is_connected("/moderator") and ended_with(elsewhere, "/moderator") == []
    assert not moderator_client().is_connected("/moderator")


def test_on_another_process_the_next_event_is_refused(app, chefin, moderator_client, audience_client):
    """Assignment changed where no socket of this process heard of it: every event checks again."""
    assign(app, "mod")
    moderator = moderator_client()
    qid = submit(audience_client(), "Noch da?")["question"]["id"]
    assert mod(moderator, "upvote", {"question_id": qid})["ok"] is True
    assign(app, "anna")
    ack = mod(moderator, "approve", {"question_id": qid})
    assert ack["ok"] is False and ack["error"] == "forbidden" and ack["message"]
    assert not moderator.is_connected("/moderator")


def test_disabling_an_account_closes_its_sockets(app, chefin, moderator_client):
    moderator = moderator_client()
    assert chefin.post(f"/admin/users/{user_id(app, 'mod')}/active", data={"active": "0"}).status_code == 303
    assert not moderator.is_connected("/moderator")
    assert ended_with(moderator, "/moderator") == [{"why": "deactivated"}]


def test_a_demoted_admin_keeps_only_the_talks_assigned(app, chefin, login, moderator_client):
    """A role change ends what the account may no longer see, on one process too: an admin made a
    moderator loses the feed of a talk others moderate, and keeps the talks it may still moderate
    (assigned to it, or assigned to nobody)."""
    with app.app_context():
        zweite = accounts.create_or_update(db.session, "zweite", PASSWORD, "admin")
        organiser.assign(db.session, talks.by_slug(db.session, "mobilitaet"), [zweite.id])
        db.session.commit()
    assign(app, "anna")
    other = login("zweite")
    on_demo, on_wohnen, on_own = (moderator_client(slug, http=other) for slug in ("demo", "wohnen", "mobilitaet"))
    assert all(c.is_connected("/moderator") for c in (on_demo, on_wohnen, on_own))  # an admin: everywhere
    response = chefin.post(f"/admin/users/{user_id(app, 'zweite')}/role", data={"role": "moderator"})
    assert response.status_code == 303
    assert not on_demo.is_connected("/moderator") and ended_with(on_demo, "/moderator") == [{"why": "role"}]
    for kept in (on_wohnen, on_own):
        assert kept.is_connected("/moderator") and ended_with(kept, "/moderator") == []
    assert other.get("/moderate/wohnen").status_code == 200 and other.get("/moderate/demo").status_code == 403


def test_votes_switched_off_and_on_reach_open_pages(app, chefin, moderator_client, audience_client):
    audience = audience_client()
    qid = submit(audience, "Stimmen?")["question"]["id"]
    moderator = moderator_client()
    assert mod(moderator, "approve", {"question_id": qid})["ok"]
    events(audience, "/audience")
    with app.app_context():
        seq = talks.by_slug(db.session, "demo").audience_seq

    assert chefin.post("/admin/talks/demo", data=demo_form(app, audience_votes=None)).status_code == 303
    got = named(audience, "/audience", "talk")
    assert len(got) == 1 and got[0]["talk"]["audience_votes"] is False and got[0]["seq"] == seq + 1
    assert named(moderator, "/moderator", "talk")[-1]["talk"]["audience_votes"] is False
    ack = audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)
    assert ack["ok"] is False and ack["error"] == "closed"

    assert chefin.post("/admin/talks/demo", data=demo_form(app, audience_votes="y")).status_code == 303
    assert named(audience, "/audience", "talk")[-1]["talk"]["audience_votes"] is True
    ack = audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)
    assert ack["ok"] is True


def test_a_new_window_moves_the_countdown(app, chefin, audience_client, podium_client):
    audience, podium = audience_client(), podium_client()
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        new_end = (talk.ends_at + timedelta(minutes=30)).astimezone(talks.BERLIN)
    events(audience, "/audience")
    assert chefin.post("/admin/talks/demo", data=demo_form(app, ends=new_end.strftime("%H:%M"))).status_code == 303
    closes = named(audience, "/audience", "talk")[-1]["talk"]["closes_at"]
    assert closes == new_end.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert named(podium, "/podium", "talk")[-1]["talk"]["ends_at"] == closes


def test_a_description_change_sends_nothing(app, chefin, audience_client):
    audience = audience_client()
    events(audience, "/audience")
    assert chefin.post("/admin/talks/demo", data=demo_form(app, description="Nur ein Text.")).status_code == 303
    assert named(audience, "/audience", "talk") == []


def test_renewed_podium_link_closes_open_screens(app, chefin, podium_client):
    with app.app_context():
        old = talks.by_slug(db.session, "demo").podium_token
    podium = podium_client(old)
    assert podium.is_connected("/podium")
    overlay = socketio.test_client(app, namespace="/podium", auth={"token": old, "overlay": True})
    assert chefin.post("/admin/talks/demo/podium").status_code == 303
    assert not podium.is_connected("/podium") and not overlay.is_connected("/podium")
    assert ended_with(podium, "/podium") == ended_with(overlay, "/podium") == [{"why": "podium_link"}]
    assert not podium_client(old).is_connected("/podium")
    with app.app_context():
        new = talks.by_slug(db.session, "demo").podium_token
    assert podium_client(new).is_connected("/podium")


def test_audience_peak_is_recorded_while_the_round_is_open(app, seeded, audience_client):
    clients = [audience_client() for _ in range(3)]
    clients[0].disconnect("/audience")
    audience_client()  # back to three, not a new peak
    closed = [audience_client("wohnen") for _ in range(4)]
    assert all(c.is_connected("/audience") for c in closed)
    with app.app_context():
        peaks = dict(db.session.execute(select(Talk.slug, Talk.audience_peak)).all())
    assert peaks["demo"] == 3 and peaks["wohnen"] == 0
