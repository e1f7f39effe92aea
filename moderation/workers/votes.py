"""Coalesced vote counts: at most one `votes` broadcast per talk and view every interval (the
moderators'), or every few intervals (`View.vote_batches`: the audience's and the podium's).

Votes do not take a seq of their own: every batch carries the exact stored counts of the
questions touched since the view's last one, so screens converge however many batches they miss
in between (a resync snapshot carries counts too). In a vote storm with a thousand people
connected, each audience batch is a thousand messages: the public screens get one a second.
"""
from __future__ import annotations

import threading

from flask import Flask
from flask_socketio import SocketIO
from sqlalchemy import select

from ..extensions import db
from ..models import Question, Talk
from ..readmodel.sequence import current
from ..readmodel.views import VIEWS, View
from ..services import questions as question_service
from .loop import Loop

BATCHED = tuple(view for view in VIEWS if view.vote_batches)  # the views that hear vote counts



class VoteBatcher:
    def __init__(self, app: Flask, socketio: SocketIO, interval: float):
        self.app = app
        self.socketio = socketio
        self.interval = interval
        self.dirty: dict[str, dict[int, set[int]]] = {view.name: {} for view in BATCHED}
        self.lock = threading.Lock()
        self.loop = Loop("vote batches", socketio, self._tick, interval)
        self.ticks = 0
        self.broadcasts = 0

    def mark(self, talk_id: int, question_id: int) -> None:
        """Note a changed count (after commit); sent with each view's next batch."""
        with self.lock:
            for dirty in self.dirty.values():
                dirty.setdefault(talk_id, set()).add(question_id)
        if self.interval <= 0:
            self.flush()
        else:
            self.loop.start()

    def _tick(self) -> None:
        self.ticks += 1
        self.flush([view for view in BATCHED if self.ticks % view.vote_batches == 0])

    def flush(self, views: tuple[View, ...] | list[View] = BATCHED) -> int:
        """Send the given views (all: now) what changed since their last batch; the number of talks
        that got a broadcast."""
        with self.lock:
            due = {view: self.dirty[view.name] for view in views if self.dirty[view.name]}
            for view in due:
                self.dirty[view.name] = {}
        if not due:
            return 0
        talks: dict[int, list[tuple[View, set[int]]]] = {}
        for view, dirty in due.items():
            for talk_id, question_ids in dirty.items():
                talks.setdefault(talk_id, []).append((view, question_ids))
        sent = 0
        with self.app.app_context():
            try:
                for talk_id, marked in talks.items():
                    sent += self._send(talk_id, marked)
            finally:
                db.session.remove()
        return sent

    def _send(self, talk_id: int, marked: list[tuple[View, set[int]]]) -> int:
        session = db.session
        talk = session.get(Talk, talk_id)
        if talk is None:
            return 0
        question_ids = set().union(*(ids for _, ids in marked))
        owner = {qid: merged_into or qid for qid, merged_into in
                 session.execute(select(Question.id, Question.merged_into_id).where(Question.id.in_(question_ids)))}
        status = {qid: st for qid, st in session.execute(select(Question.id, Question.status).where(
            Question.id.in_(set(owner.values()))))}
        counts = question_service.counts(session, talk, list(status))
        for view, ids in marked:
            mine = {owner[qid] for qid in ids if qid in owner}
            shown = {str(qid): counts.get(qid, {"upvotes": 0, "votes": 0})
                     for qid in status if qid in mine and view.sees(status[qid])}
            if shown:
                self.socketio.emit("votes", {"counts": shown, "seq": current(talk, view)}, to=view.room(talk_id),
                                   namespace=view.namespace)
        self.broadcasts += 1
        return 1
