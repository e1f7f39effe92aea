"""Publishing a write (readmodel/publish.py): what it reads, and who hears of it, from the typed
change record alone."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from moderation.extensions import db
from moderation.models import Talk
from moderation.readmodel import publish
from moderation.services import accounts, curation, questions
from tests.helpers import PASSWORD

pytestmark = pytest.mark.postgres  # the numbers: one UPDATE … RETURNING


@contextmanager
def statements():
    """The SQL statements the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def ask(session, talk, clock, client: str | None = None):
    return questions.submit(session, talk, text=f"Frage {uuid.uuid4().hex[:6]}?", name=None,
                            client=client or "c-" + uuid.uuid4().hex, client_msg_id=uuid.uuid4().hex, now=clock())


def test_a_new_questions_broadcast_reads_nothing_but_takes_its_numbers(session, seeded, clock):
    """No counts, merged questions, suggestions or blocks: the hot path at the round's peak."""
    demo = session.get(Talk, seeded)
    write = ask(session, demo, clock)
    with statements() as seen:
        box = publish.outbox(session, demo, write, clock())
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("UPDATE TALK"), seen
    assert box.told == {"moderator": 1}
    assert [(room.rsplit(":", 1)[-1] if "client" not in room else "author", ns) for _e, _d, room, ns in box.messages] \
        == [("moderators", "/moderator"), ("author", "/audience")]
    session.rollback()


def test_a_change_only_moderators_see_reads_and_tells_only_them(session, seeded, clock):
    demo = session.get(Talk, seeded)
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    q = ask(session, demo, clock).question
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    session.commit()
    box = publish.outbox(session, demo, curation.set_note(session, demo, anna, q.id, "Landrat fragen"), clock())
    assert set(box.told) == {"moderator"}
    assert [ns for _e, _d, _room, ns in box.messages] == ["/moderator"]
    assert box.messages[0][1]["by"] == "anna" and box.messages[0][1]["action"] == "note"
    assert box.questions == []  # a note changes no suggestion
    session.rollback()
