"""Ending access in one process: an ended session's sockets are told why and closed before any later
broadcast, whatever ended it (logout, new password, role change, deactivation), and the sweep
closes those whose end no message carried. Two processes over Redis: test_trust_server.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import User
from moderation.readmodel import access
from moderation.services import accounts
from tests.helpers import PASSWORD, ended_with, events, submit


def account(app, name: str = "mod") -> User:
    return db.session.scalar(select(User).where(User.username == name))


def end_by(app, how: str) -> str:
    """What the logout view, the CLI and the organiser's pages do: change, commit, end the
    sessions; the reason the page is given."""
    why = {"logout": "logged_out", "deactivated": "deactivated"}.get(how, "password")
    with app.app_context():
        user = account(app)
        if how == "password":
            accounts.reset_password(db.session, None, user)
        elif how == "create-user":
            accounts.create_or_update(db.session, "mod", "ein-neues-passwort", "moderator")
        else:
            user.active = how != "deactivated"
            accounts.log_out_everywhere(db.session, user)
        db.session.commit()
        access.end_sessions(access.account(user.id), why)
    return why


@pytest.mark.parametrize("how", ["password", "create-user", "logout", "deactivated"])
def test_an_ended_session_hears_no_broadcast_after_its_end(app, seeded, login, moderator_client, audience_client, how):
    with app.app_context():
        accounts.create_or_update(db.session, "kollegin", PASSWORD, "moderator")
        db.session.commit()
    old_cookie = login()
    ended = moderator_client(http=old_cookie)
    colleague = moderator_client(http=login("kollegin"))
    for client in (ended, colleague):
        events(client, "/moderator")
    why = end_by(app, how)
    assert not ended.is_connected("/moderator"), "the socket stayed open"
    assert ended_with(ended, "/moderator") == [{"why": why}]
    assert submit(audience_client(), "Nach dem Ende der Sitzung")["ok"]
    assert [e["args"][0]["question"]["text"] for e in events(colleague, "/moderator", "question")] == \
        ["Nach dem Ende der Sitzung"]
    assert colleague.is_connected("/moderator")
    assert old_cookie.get("/moderate/demo").status_code == 302
    assert old_cookie.get("/moderate/demo/export.csv").status_code == 302
    assert not moderator_client(http=old_cookie).is_connected("/moderator")


def test_the_sweep_closes_sockets_whose_session_ended_without_a_message(app, seeded, login, moderator_client):
    with app.app_context():
        accounts.create_or_update(db.session, "kollegin", PASSWORD, "moderator")
        db.session.commit()
    ended, colleague = moderator_client(), moderator_client(http=login("kollegin"))
    with app.app_context():  # as a CLI command without REDIS_URL: nothing reaches the server
        accounts.log_out_everywhere(db.session, account(app))
        db.session.commit()
    assert ended.is_connected("/moderator")
    assert app.extensions["access"].sweep() == 1
    assert not ended.is_connected("/moderator") and colleague.is_connected("/moderator")
    assert ended_with(ended, "/moderator") == [{"why": "logged_out"}]
    assert app.extensions["access"].sweep() == 0


def test_other_events_to_an_account_room_close_nothing(app, seeded, moderator_client):
    from moderation.extensions import socketio
    from moderation.readmodel import rooms
    moderator = moderator_client()
    with app.app_context():
        socketio.emit("editing", {}, to=rooms.user(account(app).id), namespace="/moderator")
    assert moderator.is_connected("/moderator")


def test_the_sweep_checks_assignments_and_podium_links_too(app, seeded, login, moderator_client, podium_client):
    """Changes no order carried (straight in the database): the sweep finds them all."""
    from moderation.models import Talk
    from moderation.services import organiser, talks
    with app.app_context():
        accounts.create_or_update(db.session, "kollegin", PASSWORD, "moderator")
        db.session.commit()
    removed, colleague, podium = moderator_client(), moderator_client(http=login("kollegin")), podium_client()
    with app.app_context():
        demo = db.session.scalar(select(Talk).where(Talk.slug == "demo"))
        organiser.assign(db.session, demo, [account(app, "kollegin").id])
        demo.podium_token = talks.new_podium_token()
        db.session.commit()
    assert removed.is_connected("/moderator") and podium.is_connected("/podium")
    assert app.extensions["access"].sweep() == 2
    assert ended_with(removed, "/moderator") == [{"why": "removed"}]
    assert ended_with(podium, "/podium") == [{"why": "podium_link"}]
    assert colleague.is_connected("/moderator")


def test_an_order_for_sockets_that_may_stay_closes_nothing_and_reaches_no_client(app, seeded, moderator_client):
    moderator = moderator_client()
    events(moderator, "/moderator")
    with app.app_context():
        access.end_sessions(access.account(account(app).id), "role")
    assert moderator.is_connected("/moderator")
    assert events(moderator, "/moderator") == []
