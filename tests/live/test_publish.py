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
from moderation.services.writes import Changed, Write
from moderation.workers.similar import SUGGESTIONS
from tests.helpers import PASSWORD, another_process_first, events, submit

pytestmark = pytest.mark.postgres  # the numbers: one UPDATE … RETURNING


@contextmanager
def statements():
    """The SQL statements the block runs; one read in chunks from a server-side cursor (psycopg's
    named cursor: DECLARE, FETCH … and CLOSE, a round trip each) is marked `DECLARE `."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(("DECLARE " if getattr(cursor, "name", None) else "") + statement)

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


def test_a_question_read_before_another_write_was_told_is_published_as_it_is_now(session, seeded, clock):
    """The similar worker reads a question, then finds its suggestions changed. On PostgreSQL a
    moderator may approve it and be told in between; the worker's broadcast is numbered after the
    approval's, so it must show the question approved (bench/scale.py saw a moderator's screen
    left on "pending")."""
    demo = session.get(Talk, seeded)
    q = ask(session, demo, clock).question
    session.commit()
    assert q.status == "pending"  # as the worker read it
    write = Write(q, [Changed(q, q.status, SUGGESTIONS)])
    with another_process_first(session.get_bind(), "UPDATE talk",
                               "UPDATE question SET status = 'approved', version = version + 1 WHERE id = :q",
                               {"q": q.id}) as raced:
        box = publish.outbox(session, demo, write, clock())
    session.commit()
    told = {data["question"]["status"] for event, data, _room, _ns in box.messages if event == "question"}
    assert told == ({"approved"} if raced else {"pending"})
    assert raced == ([True] if session.get_bind().dialect.name == "postgresql" else [])


def test_a_moderators_answer_is_the_question_as_the_moderators_are_told_it_read_once(
        app, moderator_client, audience_client):
    """Its counts, suggestions and blocks are read once for both, after the numbers are taken; the
    talk once for the whole event, and the step an undo would take back is the one just written."""
    audience = audience_client()
    acting, other = moderator_client(), moderator_client()
    qid = submit(audience, "Wie kommt der Bus ins Dorf?")["question"]["id"]
    events(other, "/moderator")
    with app.app_context(), statements() as seen:
        ack = acting.emit("approve", {"question_id": qid}, namespace="/moderator", callback=True)
    told = [e["args"][0]["question"] for e in events(other, "/moderator", "question")]
    assert ack["ok"] and ack["question"]["status"] == "approved"
    assert told == [ack["question"]]
    assert sum("count(distinct(upvote.user_id))" in s for s in seen) == 1, seen
    assert sum(s.lstrip().startswith("SELECT talk.") for s in seen) == 1, seen
    assert sum("question_label" in s for s in seen) == 1, seen  # with the question, after the numbers
    assert not any(s.lstrip().startswith("SELECT") and "FROM audit_entry" in s for s in seen), seen
    assert not any(s.startswith("DECLARE ") for s in seen), seen  # the suggestions of one question: one read
    assert ack["step"]["action"] == "approve" and ack["step"]["question_id"] == qid
