"""Snapshots of a full talk: read in a transaction that holds up no writer, in chunks that give
other work its turn, and consistent with the seq they carry."""
from __future__ import annotations

import threading

import pytest

from moderation.extensions import begin_read_only, db
from moderation.models import Question, Talk
from moderation.readmodel import snapshot as snapshots
from moderation.readmodel.views import AUDIENCE, MODERATOR
from moderation.services import talks as talk_service

pytestmark = pytest.mark.postgres

QUESTIONS = 450


def fill(app, clock) -> int:
    with app.app_context():
        talk = talk_service.by_slug(db.session, "demo")
        db.session.add_all(Question(talk_id=talk.id, text=f"Frage Nummer {i}?", status="approved" if i % 2 else "pending",
                                    client_msg_id=f"snapshot-{i}", created_at=clock())
                           for i in range(QUESTIONS))
        db.session.commit()
        return talk.id


def test_a_snapshot_pauses_between_chunks_and_misses_no_question(app, seeded, clock):
    talk_id = fill(app, clock)
    pauses = []
    with app.app_context():
        talk = db.session.get(Talk, talk_id)
        state = snapshots.snapshot(db.session, talk, MODERATOR, clock(), pause=lambda: pauses.append(1))
        public = snapshots.snapshot(db.session, talk, AUDIENCE, clock())
    assert len(state["questions"]) == QUESTIONS
    assert len({q["id"] for q in state["questions"]}) == QUESTIONS
    assert len(public["questions"]) == QUESTIONS // 2
    # rows read in chunks of CHUNK, payloads built in chunks of CHUNK: a pause after each full one
    assert len(pauses) == 2 * (QUESTIONS // snapshots.CHUNK)


def test_a_write_commits_while_a_snapshot_is_being_read_which_stays_consistent(app, seeded, clock):
    """On SQLite every other transaction queues on the process's writer lock: a reader that took
    it would hold every write (and /healthz) for the length of a full talk's snapshot."""
    talk_id = fill(app, clock)
    written: list[object] = []

    def write() -> None:
        with app.app_context():
            try:
                talk = db.session.get(Talk, talk_id)
                db.session.add(Question(talk_id=talk.id, text="Noch eine Frage?", status="approved",
                                        client_msg_id="snapshot-late", created_at=clock()))
                talk.seq += 1
                db.session.commit()
                written.append("committed")
            except Exception as exc:  # recorded, asserted below
                written.append(exc)
            finally:
                db.session.remove()

    with app.app_context():
        begin_read_only(db.session)
        talk = db.session.get(Talk, talk_id)
        seq = talk.seq
        first = db.session.query(Question).filter_by(talk_id=talk_id).count()
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive() and written == ["committed"], written
        state = snapshots.snapshot(db.session, talk, MODERATOR, clock())
        db.session.rollback()
        dialect = db.engine.dialect.name
    assert first == QUESTIONS
    if dialect == "sqlite":
        # one consistent state: the write that committed meanwhile is in neither the rows nor the seq
        assert (len(state["questions"]), state["seq"]) == (QUESTIONS, seq)
    with app.app_context():
        assert db.session.query(Question).filter_by(talk_id=talk_id).count() == QUESTIONS + 1
