"""Group commit: audience writes that arrive together share one transaction.

At the question round's peak (everyone votes or asks in the last minutes) one transaction per
vote costs a commit (an fsync, the SQLite writer lock, a PostgreSQL round trip) each. Here a
handler hands its work to one writer per process and waits; the writer runs everything queued
meanwhile in one transaction, each piece in a savepoint (a refused one changes nothing), commits
once, then publishes each piece and wakes its handler. Nothing is acknowledged before the commit.

Votes and questions go further (`Together`): those queued side by side are written by one call
for all of them (questions.set_votes, questions.submit_all), in a constant number of statements
per group, not per vote: on PostgreSQL each statement is a round trip.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

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
# Writes many items of one kind, answering each in order with its write or refusal, refusing
# before it writes anything.
WriteAll = Callable[[DbSession, Talk, list[Any]], Sequence[Write | DomainError]]


@dataclass(frozen=True)
class Together:
    """A piece written by one `write_all` call with the pieces of the same kind queued beside it;
    `answer(write)` is its handler's answer (read before the commit)."""

    write_all: WriteAll
    item: Any
    answer: Callable[[Write], dict[str, Any]]


@dataclass
class _Pending:
    talk_id: int
    work: Work | Together
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
        self.writing = False

    def idle(self) -> bool:
        """No write queued or being written: background work (the similar worker) lets writes go first."""
        return not self.writing and self.queue.empty()

    def run(self, talk_id: int, work: Work | Together, savepoint: bool = True) -> dict[str, Any]:
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
        self.writing = True
        try:
            if batch:
                self._write(batch)
        finally:  # a failed batch (the loop logs it) answers its handlers all the same
            self.writing = False
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
                i = 0
                while i < len(batch):
                    first = batch[i]
                    if isinstance(first.work, Together):
                        run = [first]
                        while i + len(run) < len(batch) and _same_kind(batch[i + len(run)], first):
                            run.append(batch[i + len(run)])
                        written += self._together(session, run, talks, now, alone=len(run) == len(batch))
                        i += len(run)
                        continue
                    i += 1
                    try:
                        with session.begin_nested() if first.savepoint else contextlib.nullcontext():
                            talk = _talk(session, talks, first.talk_id)
                            write, answer = first.work(session, talk)
                            written.append((first, publish.outbox(session, talk, write, now), answer))
                    except DomainError as exc:
                        first.error = exc
                    except Exception as exc:
                        if not first.savepoint:  # it may have written part: the batch fails whole
                            raise
                        log.exception("group commit: one write failed")  # the others go on
                        first.error = exc
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

    def _together(self, session: DbSession, run: list[_Pending], talks: dict[int, Talk | None],
                  now: Any, alone: bool = False) -> list[tuple[_Pending, publish.Outbox, dict[str, Any]]]:
        """Write a run of pieces of one kind with one call; should that call fail unexpectedly, each
        piece alone (so that one piece's failure spares the others).

        A run `alone` in its transaction (a question asked while nothing else is queued: most of a
        talk) goes without a savepoint, two round trips less; should its call fail, the transaction
        is rolled back and the pieces are written one by one all the same."""
        pieces = [cast(Together, pending.work) for pending in run]
        write_all = pieces[0].write_all
        talk = _talk_of(session, talks, run)
        if talk is None:
            return []
        results: list[Write | BaseException]
        try:
            with contextlib.nullcontext() if alone else session.begin_nested():
                results = list(write_all(session, talk, [piece.item for piece in pieces]))
        except Exception:
            log.exception("group commit: a group of %d failed together, written one by one", len(run))
            if alone:
                session.rollback()
                talks.clear()
                talk = _talk_of(session, talks, run)
                if talk is None:
                    return []
            results = []
            for piece in pieces:
                try:
                    with session.begin_nested():
                        results.append(write_all(session, talk, [piece.item])[0])
                except Exception as exc:
                    results.append(exc)
        done = [(pending, piece, result) for pending, piece, result in zip(run, pieces, results, strict=True)
                if isinstance(result, Write)]
        for pending, result in zip(run, results, strict=True):
            if not isinstance(result, Write):
                pending.error = result
        boxes = publish.outboxes(session, talk, [result for _, _, result in done], now)
        return [(pending, box, piece.answer(result)) for (pending, piece, result), box in zip(done, boxes, strict=True)]


def _same_kind(pending: _Pending, first: _Pending) -> bool:
    return isinstance(pending.work, Together) and isinstance(first.work, Together) \
        and pending.work.write_all == first.work.write_all and pending.talk_id == first.talk_id


def _talk_of(session: DbSession, talks: dict[int, Talk | None], run: list[_Pending]) -> Talk | None:
    """The talk of a run of pieces; None, each piece refused with `not_found`, when it is gone."""
    try:
        return _talk(session, talks, run[0].talk_id)
    except DomainError as exc:
        for pending in run:
            pending.error = exc
        return None


def _talk(session: DbSession, talks: dict[int, Talk | None], talk_id: int) -> Talk:
    if talk_id not in talks:
        talks[talk_id] = session.get(Talk, talk_id)
    talk = talks[talk_id]
    if talk is None:
        raise DomainError("not_found")
    return talk
