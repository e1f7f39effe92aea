"""Issue 10, finding 5, in one process: an ended session's sockets are closed before any later
broadcast, whatever ended it (logout, new password, role change, deactivation), and the sweep
closes those whose end no message carried. Two processes over Redis: test_trust_server.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import User
from moderation.readmodel.publish import notify_logout
from moderation.services import accounts
from tests.helpers import PASSWORD, events, submit


def account(app, name: str = "mod") -> User:
    return db.session.scalar(select(User).where(User.username == name))


def end_by(app, how: str) -> None:
    """What the logout view, the CLI and the organiser's pages do: change, commit, notify."""
    with app.app_context():
        user = account(app)
        if how == "password":
            accounts.reset_password(db.session, None, user)
        elif how == "create-user":
            accounts.create_or_update(db.session, "mod", "ein-neues-passwort", "moderator")
        elif how == "role":
            user.role = "admin"
            accounts.end_sessions(db.session, user)
        elif how == "deactivated":
            user.active = False
            accounts.end_sessions(db.session, user)
        db.session.commit()
        notify_logout(user)


@pytest.mark.parametrize("how", ["password", "create-user", "role", "deactivated"])
def test_an_ended_session_hears_no_broadcast_after_its_end(app, seeded, login, moderator_client, audience_client, how):
    with app.app_context():
        accounts.create_or_update(db.session, "kollegin", PASSWORD, "moderator")
        db.session.commit()
    old_cookie = login()
    ended = moderator_client(http=old_cookie)
    colleague = moderator_client(http=login("kollegin"))
    for client in (ended, colleague):
        events(client, "/moderator")
    end_by(app, how)
    assert not ended.is_connected("/moderator"), "the socket stayed open"
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
        accounts.end_sessions(db.session, account(app))
        db.session.commit()
    assert ended.is_connected("/moderator")
    assert app.extensions["session_sweep"].sweep() == 1
    assert not ended.is_connected("/moderator") and colleague.is_connected("/moderator")
    assert app.extensions["session_sweep"].sweep() == 0


def test_other_events_to_an_account_room_close_nothing(app, seeded, moderator_client):
    from moderation.extensions import socketio
    from moderation.readmodel import rooms
    moderator = moderator_client()
    with app.app_context():
        socketio.emit("editing", {}, to=rooms.user(account(app).id), namespace="/moderator")
    assert moderator.is_connected("/moderator")
