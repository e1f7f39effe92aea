"""Group commit: audience writes that arrive together share one transaction.

At the question round's peak (everyone votes or asks in the last minutes) one transaction per
vote costs a commit (an fsync, the SQLite writer lock, a PostgreSQL round trip) each. Here a
handler hands its work to one writer per process and waits; the writer runs everything queued
meanwhile in one transaction, each piece in a savepoint (a refused one changes nothing), commits
once, then publishes each piece and wakes its handler. Nothing is acknowledged before the commit.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from .. import clock
from ..extensions import db
from ..models import Talk
from ..readmodel import publish
from ..services import DbSession
from ..services.errors import DomainError
from ..services.writes import Write
from .loop import Loop

log = logging.getLogger("fragerunde.group")
BUSY_RETRY_AFTER = 5  # seconds: what a write withdrawn from an overfull queue tells its client

Work = Callable[[DbSession, Talk], tuple[Write, dict[str, Any]]]


@dataclass
class _Pending:
    talk_id: int
    work: Work
    done: Any  # an Event of the server's async mode
    answer: dict[str, Any] | None = None
    error: BaseException | None = None
    savepoint: bool = True
    state: str = "queued"  # queued → taken (by the writer) | withdrawn (by its handler)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.state == "withdrawn":
                return False
            self.state = "taken"
            return True

    def withdraw(self) -> bool:
        with self.lock:
            if self.state == "taken":
                return False
            self.state = "withdrawn"
            return True


class GroupCommit:
    def __init__(self, app: Flask, socketio: SocketIO, max_batch: int, wait_seconds: float = 30.0):
        self.app = app
        self.socketio = socketio
        self.max_batch = max_batch
        self.wait_seconds = wait_seconds
        self.queue: Any = socketio.server.eio.create_queue()
        self.writer = Loop("group commit", socketio, self._round, every=0)
        self.transactions = 0
        self.writes = 0

    def run(self, talk_id: int, work: Work, savepoint: bool = True) -> dict[str, Any]:
        """Run `work(session, talk)` in the next group transaction; its answer once committed.

        Each piece runs in a savepoint, so that one refused midway leaves no trace; a piece that
        refuses (DomainError) only before it writes may do without (`savepoint=False`: two round
        trips less per vote on PostgreSQL). The caller must hold no transaction (on SQLite it
        would hold the writer lock)."""
        self.writer.start()
        pending = _Pending(talk_id, work, self.socketio.server.eio.create_event(), savepoint=savepoint)
        self.queue.put(pending)
        if not pending.done.wait(self.wait_seconds):
            if pending.withdraw():  # still queued: it will never be written, so say so
                log.warning("group commit: a write waited %.0f s in the queue and was withdrawn", self.wait_seconds)
                raise DomainError("rate_limited", {"retry_after": BUSY_RETRY_AFTER, "busy": True})
            pending.done.wait()  # being written now: its answer comes with the commit
        if pending.error is not None:
            raise pending.error
        assert pending.answer is not None
        return pending.answer

    def _round(self) -> None:
        """Wait for the next write, take whatever else is queued behind it, write them together."""
        empty = self.socketio.server.eio.get_queue_empty_exception()
        batch = [self.queue.get()]
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
            except empty:
                break
        batch = [pending for pending in batch if pending.take()]
        try:
            if batch:
                self._write(batch)
        finally:  # a failed batch (the loop logs it) answers its handlers all the same
            for pending in batch:
                if pending.answer is None and pending.error is None:
                    pending.error = RuntimeError("not written")
                pending.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        with self.app.app_context():
            session = db.session
            written: list[tuple[_Pending, publish.Outbox, dict[str, Any]]] = []
            try:
                now = clock.now()
                talks: dict[int, Talk | None] = {}
                for pending in batch:
                    try:
                        with session.begin_nested() if pending.savepoint else contextlib.nullcontext():
                            if pending.talk_id not in talks:
                                talks[pending.talk_id] = session.get(Talk, pending.talk_id)
                            talk = talks[pending.talk_id]
                            if talk is None:
                                raise DomainError("not_found")
                            write, answer = pending.work(session, talk)
                            written.append((pending, publish.outbox(session, talk, write, now), answer))
                    except DomainError as exc:
                        pending.error = exc
                    except Exception as exc:
                        if not pending.savepoint:  # it may have written part: the batch fails whole
                            raise
                        log.exception("group commit: one write failed")  # the others go on
                        pending.error = exc
                try:
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    for pending, _box, _answer in written:
                        pending.error = exc
                    raise
                self.transactions += 1
                self.writes += len(written)
                for pending, box, answer in written:
                    box.send()
                    pending.answer = answer
            finally:
                db.session.remove()
