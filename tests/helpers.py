"""Helpers shared by the tests (fixtures live in conftest.py)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from moderation.readmodel import publish

IN_CI = bool(os.environ.get("CI"))
PASSWORD = "richtig-geheim-123"


def require_or_skip(variable: str, what: str) -> str:
    """Tests needing a real service run in CI, never skip there."""
    value = os.environ.get(variable)
    if not value:
        if IN_CI:
            pytest.fail(f"{variable} is not set in CI: {what} tests must run there")
        pytest.skip(f"{variable} not set: {what} tests skipped")
    return value


class Clock:
    """The app's notion of now; tests move it."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def ask(session, talk, clock, text: str = "Wie kommt der Bus ins Dorf?", client: str = "client-a",
        msg_id: str | None = None, name: str | None = None, name_in_record: bool = False):
    """A question from the page, committed."""
    from moderation.services import questions
    write = questions.submit(session, talk, text=text, name=name, client=client,
                             client_msg_id=msg_id or uuid.uuid4().hex, now=clock(),
                             name_in_record=name_in_record)
    session.commit()
    assert write.question is not None
    return write.question


def approved(session, talk, clock, moderator, **kw):
    """A question from the page, approved by `moderator`."""
    from moderation.services import questions
    q = ask(session, talk, clock, **kw)
    questions.transition(session, talk, moderator, "approve", q.id, now=clock())
    session.commit()
    return q


def events(client, namespace: str, name: str | None = None) -> list:
    """Received events of a test client (optionally only one name), in order."""
    got = client.get_received(namespace)
    return [e for e in got if name is None or e["name"] == name]


def ended_with(client, namespace: str) -> list[dict]:
    """What a test client heard of `session_ended` (readable after the server closed it too)."""
    return [pkt["args"][0] for pkt in client.queue
            if pkt["namespace"] == namespace and pkt["name"] == "session_ended"]


def submit(client, text: str, name: str | None = None, msg_id: str | None = None) -> dict:
    return client.emit("submit", {"text": text, "name": name, "client_msg_id": msg_id or str(uuid.uuid4())},
                       namespace="/audience", callback=True)


def refused(fn, *args, **kwargs):
    """The DomainError a service call raises (the test fails if it raises none)."""
    from moderation.services.errors import DomainError

    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    return info.value


def published(session, talk, write, now: datetime | None = None) -> dict[str, int]:
    """Publish a write as the edge does (without sending, then commit): the seq each view was told."""
    box = publish.outbox(session, talk, write, now or datetime.now(UTC))
    session.commit()
    return box.told


def signed_id(app) -> str:
    """A new audience id as the question page hands it out (signed with the app's SECRET_KEY)."""
    from moderation import audience_ids
    return audience_ids.issue(app.config["SECRET_KEY"])


@contextlib.contextmanager
def another_process_first(engine, before: str, sql: str, params: dict) -> Iterator[list[bool]]:
    """On PostgreSQL, another process's `sql` committed just before this session's first statement
    that starts with `before` (SQLite's writers queue, so there the race cannot happen): yields
    [True] once it did."""
    raced: list[bool] = []

    def other_process(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(before) and not raced:
            raced.append(True)
            with engine.connect() as other:
                other.execute(sqlalchemy.text(sql), params)
                other.commit()

    postgres = engine.dialect.name == "postgresql"
    if postgres:
        sqlalchemy.event.listen(engine, "before_cursor_execute", other_process)
    try:
        yield raced
    finally:
        if postgres:
            sqlalchemy.event.remove(engine, "before_cursor_execute", other_process)
