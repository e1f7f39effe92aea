"""Group commit: audience votes and submissions that arrive together share one transaction.

One committed transaction per vote capped a vote storm at a few hundred votes a second. Now a
handler hands its write (a function of a session) to the committer and waits. The committer
takes every write that has arrived (after a short window), runs each in a savepoint — a refused
write does not undo the others — commits once, publishes each write's outbox in order, and only
then wakes the handlers: an acknowledgement still means "on disk", and counts stay exact
because the writes run one after another inside the transaction.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from ..extensions import db
from ..readmodel.publish import Outbox
from ..services import DbSession
from ..services.errors import DomainError

log = logging.getLogger("fragerunde.live")

Work = Callable[[DbSession], tuple[Outbox, dict[str, Any]]]


@dataclass
class Pending:
    work: Work
    done: Any  # an Event of the async mode in use
    answer: dict[str, Any] | None = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, app: Flask, socketio: SocketIO, window: float, max_batch: int = 500,
                 wait_timeout: float = 30.0):
        self.app = app
        self.socketio = socketio
        self.window = window
        self.max_batch = max_batch
        self.wait_timeout = wait_timeout
        self.queue: list[Pending] = []
        self.lock = threading.Lock()
        self.wakeup: Any = None
        self.batches = 0

    def run(self, work: Work) -> dict[str, Any]:
        """Run work in the next group's transaction; return its answer once that is committed."""
        eio = self.socketio.server.eio
        pending = Pending(work, eio.create_event())
        with self.lock:
            start = self.wakeup is None
            if start:
                self.wakeup = eio.create_event()
            self.queue.append(pending)
        if start:
            self.socketio.start_background_task(self._loop)
        self.wakeup.set()
        if not pending.done.wait(timeout=self.wait_timeout):
            raise RuntimeError("group commit did not answer in time")
        if pending.error is not None:
            raise pending.error
        assert pending.answer is not None
        return pending.answer

    def _loop(self) -> None:
        while True:
            self.wakeup.wait()
            self.wakeup.clear()
            if self.window > 0:
                self.socketio.sleep(self.window)
            while True:
                with self.lock:
                    batch, self.queue = self.queue[:self.max_batch], self.queue[self.max_batch:]
                if not batch:
                    break
                try:
                    self.commit(batch)
                except BaseException as exc:  # a handler must never wait for nothing
                    log.exception("group commit failed")
                    for pending in batch:
                        if pending.answer is None and pending.error is None:
                            pending.error = exc
                finally:
                    for pending in batch:
                        pending.done.set()

    def commit(self, batch: list[Pending]) -> None:
        with self.app.app_context():
            session = db.session
            stored: list[tuple[Pending, Outbox, dict[str, Any]]] = []
            try:
                for pending in batch:
                    try:
                        with session.begin_nested():
                            box, answer = pending.work(session)
                        stored.append((pending, box, answer))
                    except DomainError as exc:
                        pending.error = exc
                    except Exception as exc:
                        log.exception("write failed in a group")
                        pending.error = exc
                session.commit()
            except Exception as exc:
                session.rollback()
                log.exception("group commit failed")
                for pending, _, _ in stored:
                    pending.error = exc  # none of them is on disk
                stored = []
            finally:
                self.batches += 1
            try:
                for pending, box, answer in stored:
                    pending.answer = answer
                    try:
                        box.send()
                    except Exception:
                        log.exception("publishing a committed write failed")
            finally:
                db.session.remove()
