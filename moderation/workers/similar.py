"""Similar-question suggestions and the topic map, computed after commit by one background worker
per process.

A write only notes which questions changed (`mark`); the worker brings its per-talk index up to
date with the database, computes the suggestions of those questions (and of the questions they
meet or left), stores them and publishes the questions whose suggestions changed as ordinary
question changes. Snapshots and broadcasts only read what is stored. The scoring yields to other
work after each question (a few ms each at 1,500 questions): in a native thread (eventlet.tpool)
it held the GIL against the hub, and an approval after a burst of 300 questions took 590 ms
instead of 130 ms to reach 2,000 sockets. With the embedding backend only the encoding of new
texts runs off the hub (services/meaning.py: numpy in a native thread); vectors are read back from
the database on a restart.

Themen (services/topics.py): after a round that changed a talk's questions, at most every
TOPICS_SECONDS, the worker clusters the talk's questions again (starting from the last map, so topics
keep their ids) and sends `topics {topics}` to the talk's moderators when the map changed; a
moderator's page asks for the current map with the `topics` event.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from flask_socketio import SocketIO

from .. import clock
from ..extensions import begin_read_only, db
from ..models import Question, Talk
from ..readmodel import publish
from ..services import meaning, similar, topics
from ..services.similar import Suggestion, TalkIndex
from ..services.writes import Changed, Write
from .loop import Loop

log = logging.getLogger("fragerunde.similar")
BACKLOG_SLICE = 50
BACKLOG_PAUSE = 0.25  # seconds between slices: the backlog yields to live traffic
WRITES_FIRST = 0.1  # seconds a pause waits at most for the audience's writes (group commit) to be done
WRITES_FIRST_STEP = 0.002
SUGGESTIONS = frozenset({"similar"})  # what a new suggestion changes (moderators' payloads only)


def compute(index: TalkIndex, ids: set[int], skip: dict[int, set[int]],
            pause: Callable[[], None] = lambda: None) -> dict[int, list[Suggestion]]:
    """Suggestions of the given questions, then of every question they suggest (the new question
    may belong in their lists too); `pause` after each."""
    found: dict[int, list[Suggestion]] = {}
    for qid in ids:
        if qid in index:
            found[qid] = index.suggest(qid, exclude=skip.get(qid, ()))
            pause()
    for qid in {s.id for suggestions in list(found.values()) for s in suggestions} - found.keys():
        found[qid] = index.suggest(qid, exclude=skip.get(qid, ()))
        pause()
    return found


class SimilarWorker:
    def __init__(self, app: Flask, socketio: SocketIO, delay: float):
        self.app = app
        self.socketio = socketio
        self.delay = delay
        self.meaning = similar.backend(app.config.get("SIMILAR_BACKEND")) == "embedding"
        if self.meaning:
            meaning.one_blas_thread()
            meaning.cache_in(Path(app.instance_path) / "cache")
        self.topic_seconds = float(app.config["TOPICS_SECONDS"])
        self.maps: dict[int, topics.TopicMap] = {}
        self.drawn_from: dict[int, list[tuple[int, str]]] = {}  # talk → the (id, text) its map was drawn from
        self.drawn: dict[int, float] = {}  # talk → when its map was last drawn (monotonic)
        self.due: set[int] = set()  # talks whose map waits for its turn (a later round of the loop)
        self.indexes: dict[int, TalkIndex] = {}
        self.versions: dict[int, dict[int, int]] = {}
        self.pending: dict[int, set[int]] = {}
        self.lock = threading.Lock()
        self.working = threading.Lock()
        self.backlog = False
        self.loop = Loop("similar suggestions", socketio, self._round, delay)
        self.runs = 0

    def mark(self, talk_id: int, question_ids: list[int]) -> None:
        """Note written questions (after commit): their suggestions are computed soon after.
        No ids: bring the whole talk up to date (a moderator connected)."""
        with self.lock:
            self.pending.setdefault(talk_id, set()).update(question_ids)
        if self.delay <= 0:
            try:
                self.flush()
            except Exception:  # the write it follows is committed and answered regardless
                log.exception("similar suggestions failed")
        else:
            self.loop.start()

    def _round(self) -> float | None:
        self.flush()
        return BACKLOG_PAUSE if self.backlog else None  # the backlog yields to live traffic, but goes on

    def flush(self) -> None:
        """Bring the noted talks up to date; draw the maps that waited for their turn."""
        with self.working:  # one round at a time: the indexes are not shared between threads
            with self.lock:
                pending, self.pending = self.pending, {}
            turn = [talk_id for talk_id in list(self.due) if talk_id not in pending and self._turn_came(talk_id)]
            if pending or turn:
                self._flush(pending, turn)

    def _flush(self, pending: dict[int, set[int]], turn: list[int]) -> None:
        if has_app_context():  # run inline (tests): on the caller's session, after its commit
            self._work(pending, turn)
            return
        with self.app.app_context():
            try:
                self._work(pending, turn)
            finally:
                db.session.remove()

    def _work(self, pending: dict[int, set[int]], turn: list[int]) -> None:
        for talk_id, question_ids in pending.items():
            self._refresh(talk_id, question_ids)
        for talk_id in turn:
            self._draw_topics(talk_id)

    def _pause(self) -> None:
        """Between two questions: others run, and queued writes go first. A write's round trips to
        the database each let the hub run a piece of scoring; through nginx with 2,000 connected,
        one question's write took 25-55 ms instead of about 10 beside the worker's rounds."""
        self.socketio.sleep(0)
        if self.delay <= 0:  # run inline by the write that noted the questions (mark): nothing to let go first
            return
        writer = self.app.extensions.get("group_commit")
        for _ in range(round(WRITES_FIRST / WRITES_FIRST_STEP)):
            if writer is None or writer.idle():
                break
            self.socketio.sleep(WRITES_FIRST_STEP)

    def _refresh(self, talk_id: int, question_ids: set[int]) -> None:
        session = db.session
        session.rollback()
        begin_read_only(session)  # read, then score holding no transaction, then write
        talk = session.get(Talk, talk_id)
        if talk is None:
            self.indexes.pop(talk_id, None)
            self.due.discard(talk_id)
            return
        first = talk_id not in self.versions
        index = self.indexes.setdefault(talk_id, TalkIndex(meaning=self.meaning))
        known = self.versions.setdefault(talk_id, {})
        current = similar.open_versions(session, talk_id)
        gone = set(known) - set(current)
        renewed = {qid for qid, version in current.items() if known.get(qid) != version}
        new_texts = similar.texts(session, renewed)
        skip = similar.dismissed(session, talk_id)
        pause = self._pause
        changed_texts = {qid: text for qid, (text, _v) in new_texts.items() if index.texts.get(qid) != text
                         or (self.meaning and index.vector(qid) is None)}
        # Suggestions depend on the open questions' texts alone: one that stayed open with its text
        # (approved, forwarded, merged into) changes no suggestion, its own or another's.
        arrived = set(current) - set(known)  # new to this index
        fresh = set(changed_texts) | arrived
        # Whoever pointed to a question that left or changed is looked at again; nobody points to
        # a new one. Only then are the stored lists themselves read (a whole talk's: 600 JSON lists).
        edited = set(changed_texts) & set(known)
        left = gone | (set(question_ids) if first else (question_ids - set(current)) | edited)
        stored = similar.stored(session, talk_id) if left else {}
        has_stored = set(stored) if left else similar.stored_ids(session, talk_id)
        vectors = topics.stored_vectors(session, changed_texts, pause) if self.meaning else {}
        session.rollback()
        encoded: dict[int, Any] = {}
        if self.meaning:
            missing = [qid for qid in changed_texts if qid not in vectors]
            if missing:
                encoded = dict(zip(missing, meaning.embed([changed_texts[qid] for qid in missing])))
        for qid in gone:
            index.remove(qid)
        for qid, (text, _version) in new_texts.items():
            index.add(qid, text, vectors.get(qid, encoded.get(qid)))
        # Behind nginx another process wrote some of the new questions: its worker scores them and
        # stores their lists with their vectors. Here they only join the index (unless not stored
        # yet), and are scored again only if a question scored here suggests them.
        theirs = (arrived - question_ids) & has_stored
        ids = question_ids & set(current) if first else fresh - theirs
        # Questions stored before suggestions were (an upgrade): a slice per round, so that no
        # single round holds the database or a broadcast for long.
        missing = sorted(set(current) - has_stored - ids)
        ids |= set(missing[:BACKLOG_SLICE])
        found = compute(index, ids, skip, pause)
        for qid, items in stored.items():
            if qid in current and qid not in found and any(item["id"] in left for item in items):
                found[qid] = index.suggest(qid, exclude=skip.get(qid, ()))
                pause()
        self.backlog = len(missing) > BACKLOG_SLICE
        if self.backlog:
            with self.lock:
                self.pending.setdefault(talk_id, set())
        known.clear()
        known.update(current)
        for qid in gone & has_stored:
            found[qid] = []  # stored only if it was not empty
        topics.save_vectors(session, talk_id, changed_texts, encoded)
        before = similar.save(session, talk_id, found)
        self.runs += 1
        if gone or renewed or question_ids or first:
            self.due.add(talk_id)

        def shown(items: list[dict[str, Any]]) -> list[tuple[int, tuple[str, ...]]]:
            return [(item["id"], tuple(item["words"])) for item in items if item["id"] in current]

        # A stored list that only lost questions no longer open looks the same on every screen.
        changed_ids = [qid for qid, items in before.items() if qid in current and shown(items)
                       != [(s.id, s.words) for s in found[qid]]]
        if not changed_ids:
            session.commit()
        else:
            questions = list(session.query(Question).filter(Question.id.in_(changed_ids)))
            write = Write(questions[0], [Changed(q, q.status, SUGGESTIONS) for q in questions])
            publish.commit(publish.outbox(session, talk, write, clock.now()))
        self._draw_topics(talk_id)

    # --- Themen ---------------------------------------------------------------------------------

    def _draw_topics(self, talk_id: int) -> None:
        """Draw the talk's map again if its questions changed and its turn has come (else a later
        round of the loop draws it: `flush`)."""
        if talk_id not in self.due:
            return
        if self.delay > 0 and not self._turn_came(talk_id):
            return
        self.due.discard(talk_id)
        self.drawn[talk_id] = time.monotonic()
        before = self.maps.get(talk_id)
        started = time.monotonic()
        drawn = self.topic_map(talk_id, self._pause)
        if drawn is before:
            return
        log.info("topics drawn in %d ms", round((time.monotonic() - started) * 1000),
                 extra={"talk": talk_id, "count": len(drawn.topics)})
        if drawn.payload() != (before.payload() if before is not None else []):
            publish.topics(talk_id, drawn.payload()).send()  # moderators only (views.py)

    def _turn_came(self, talk_id: int) -> bool:
        """At most one map per talk every TOPICS_SECONDS."""
        return self.drawn.get(talk_id, -1e9) + self.topic_seconds <= time.monotonic()

    def topic_map(self, talk_id: int, pause: Callable[[], None] | None = None) -> topics.TopicMap:
        """The live map of a talk: its pending, approved, forwarded and answered questions. The
        same map as before while they and their texts are the same: a moderator's step that moves
        a question between these statuses changes its counts, which the screens count themselves."""
        session = db.session
        session.rollback()
        begin_read_only(session)
        rows = topics.questions_of(session, talk_id, pause=pause)
        drawn_from = [(qid, text) for qid, _, text in rows]
        if self.drawn_from.get(talk_id) == drawn_from:  # set only beside its map
            session.rollback()
            return self.maps[talk_id]
        ids, texts = [qid for qid, _ in drawn_from], [text for _, text in drawn_from]
        if not topics.how_many(len(ids)):
            session.rollback()
            self.maps[talk_id], self.drawn_from[talk_id] = topics.TopicMap([]), drawn_from
            return self.maps[talk_id]
        index = self.indexes.get(talk_id)
        vectors: dict[int, Any] | None = None
        if self.meaning:
            vectors = {qid: v for qid in ids if index is not None and (v := index.vector(qid)) is not None}
            rest = {qid: text for qid, text in zip(ids, texts) if qid not in vectors}
            vectors |= topics.stored_vectors(session, rest, pause)
            session.rollback()
            missing = [qid for qid in rest if qid not in vectors]
            if missing:  # answered before vectors were stored: encoded once, kept
                fresh = dict(zip(missing, meaning.embed([rest[qid] for qid in missing])))
                topics.save_vectors(session, talk_id, rest, fresh)
                session.commit()
                vectors |= fresh
        session.rollback()
        previous = self.maps.get(talk_id)
        drawn = meaning.off_hub(topics.draw, ids, texts, vectors, previous)
        self.maps[talk_id], self.drawn_from[talk_id] = drawn, drawn_from
        return drawn

    def current_map(self, talk_id: int) -> topics.TopicMap:
        """The talk's map for a moderator who asks: the last one drawn; if none yet, an empty one
        now and `topics` to the talk's moderators as soon as the worker has drawn it (it never
        waits for the worker: a caller inside a transaction would hold SQLite's writer)."""
        drawn = self.maps.get(talk_id)
        if drawn is None:
            self.due.add(talk_id)
            self.mark(talk_id, [])
            drawn = self.maps.get(talk_id, topics.TopicMap([]))
        return drawn
