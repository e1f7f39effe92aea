"""Coalesced vote counts: at most one `votes` broadcast per talk every interval.

Votes do not take a seq of their own: every batch carries the exact stored counts of the
questions touched since the last one, so screens converge however many batches they miss
in between (a resync snapshot carries counts too).
"""
from __future__ import annotations

import logging
import threading

from flask import Flask
from flask_socketio import SocketIO

from ..extensions import db
from ..models import Question, Talk
from ..services import questions as question_service
from .sequence import current
from .views import VIEWS

log = logging.getLogger("fragerunde.votes")


class VoteBatcher:
    def __init__(self, app: Flask, socketio: SocketIO, interval: float):
        self.app = app
        self.socketio = socketio
        self.interval = interval
        self.dirty: dict[int, set[int]] = {}
        self.lock = threading.Lock()
        self.started = False
        self.broadcasts = 0

    def mark(self, talk_id: int, question_id: int) -> None:
        """Note a changed count (after commit); sent with the next batch."""
        with self.lock:
            self.dirty.setdefault(talk_id, set()).add(question_id)
            start = not self.started and self.interval > 0
            self.started = self.started or start
        if self.interval <= 0:
            self.flush()
        elif start:
            self.socketio.start_background_task(self._run)

    def _run(self) -> None:
        while True:
            self.socketio.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # a failed batch must not stop later ones
                log.exception("vote batch failed")

    def flush(self) -> int:
        with self.lock:
            dirty, self.dirty = self.dirty, {}
        sent = 0
        if not dirty:
            return sent
        with self.app.app_context():
            try:
                for talk_id, question_ids in dirty.items():
                    sent += self._send(talk_id, question_ids)
            finally:
                db.session.remove()
        return sent

    def _send(self, talk_id: int, question_ids: set[int]) -> int:
        session = db.session
        talk = session.get(Talk, talk_id)
        if talk is None:
            return 0
        owners = {q.merged_into_id or q.id: q for q in
                  session.query(Question).filter(Question.id.in_(question_ids))}
        targets = {q.id: q for q in session.query(Question).filter(Question.id.in_(list(owners)))}
        counts = question_service.counts(session, talk, list(targets))
        for view in VIEWS:
            shown = {str(qid): counts.get(qid, {"upvotes": 0, "votes": 0})
                     for qid, q in targets.items() if view.sees(q.status)}
            if shown:
                self.socketio.emit("votes", {"counts": shown, "seq": current(talk, view)}, to=view.room(talk_id),
                                   namespace=view.namespace)
        self.broadcasts += 1
        return 1
