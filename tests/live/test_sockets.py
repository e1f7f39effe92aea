"""The three Socket.IO namespaces through Flask-SocketIO's test client: who may connect, what
each room receives, the acknowledgement of every event, rate limits and vote batches."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation import audience_ids
from moderation.extensions import db, socketio
from moderation.models import AuditEntry, Question, Talk
from moderation.services import accounts, talks
from moderation.workers.votes import VoteBatcher
from tests.helpers import PASSWORD, events, signed_id, submit

AUDIENCE_KEYS = {"id", "text", "name", "status", "upvotes", "votes", "created_at", "version", "forwarded_at"}
QUESTION_EVENTS = ("upvote", "approve", "reject", "forward", "answered", "edit", "merge")


# --- helpers ---------------------------------------------------------------------------------

def received(client, namespace: str) -> list[tuple[str, dict]]:
    """Everything a test client received since the last call, as (event, first argument)."""
    return [(e["name"], e["args"][0] if e["args"] else None) for e in events(client, namespace)]


def mod(client, event: str, data=None) -> dict:
    if data is None:
        return client.emit(event, namespace="/moderator", callback=True)
    return client.emit(event, data, namespace="/moderator", callback=True)


def refusal(ack: dict, code: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"] == code, ack
    assert isinstance(ack["message"], str) and ack["message"].strip(), ack


def question_events(got: list[tuple[str, dict]]) -> list[dict]:
    return [data["question"] for name, data in got if name == "question"]


@pytest.fixture
def second_login(app):
    """A Flask test client logged in as a second moderator, "ben"."""
    with app.app_context():
        accounts.create_or_update(db.session, "ben", PASSWORD)
        db.session.commit()

    def log_in():
        client = app.test_client()
        assert client.post("/login", data={"username": "ben", "password": PASSWORD}).status_code == 303
        return client
    return log_in


@pytest.fixture
def foreign_question(app, seeded, clock) -> int:
    """A question of another talk ("wohnen"), stored directly."""
    with app.app_context():
        talk = talks.by_slug(db.session, "wohnen")
        q = Question(talk_id=talk.id, text="Frage aus einem anderen Vortrag", status="approved",
                     client_msg_id="foreign-question-1", created_at=clock(), client_hash="x")
        db.session.add(q)
        db.session.commit()
        return q.id


# --- the whole flow ------------------------------------------------------------------------

@pytest.mark.postgres
def test_whole_flow_across_the_three_namespaces(app, audience_client, moderator_client, podium_client, second_login):
    author = audience_client()
    other = audience_client()
    moderator = moderator_client()
    colleague = moderator_client(http=second_login())
    podium = podium_client()

    for client, ns in ((author, "/audience"), (other, "/audience"), (moderator, "/moderator"),
                       (colleague, "/moderator"), (podium, "/podium")):
        got = received(client, ns)
        assert [name for name, _ in got] == ["snapshot"], ns
        snap = got[0][1]
        assert (snap["seq"], snap["questions"], snap["talk"]["slug"], snap["talk"]["open"]) == (0, [], "demo", True)

    ack = submit(author, "Wie geht es mit dem Bahnhof weiter?", "Erika")
    assert ack["ok"] is True, ack
    asked = ack["question"]
    assert (asked["text"], asked["name"], asked["status"], asked["version"], asked["mine"]) == (
        "Wie geht es mit dem Bahnhof weiter?", "Erika", "pending", 1, True)
    qid = asked["id"]

    for client in (moderator, colleague):
        got = received(client, "/moderator")
        assert [(n, d["seq"], d["question"]["id"], d["question"]["status"]) for n, d in got] == [
            ("question", 1, qid, "pending")]
        assert got[0][1]["question"]["original_text"] is None  # moderators see the moderation fields
    # the author hears of its own question under the audience's current number; nobody else hears
    # of a change they cannot see (per-view seq: the cost of a question does not grow with the audience)
    assert [(n, d["seq"], d["question"]["status"]) for n, d in received(author, "/audience")] == [
        ("question", 0, "pending")]
    assert received(other, "/audience") == []
    assert received(podium, "/podium") == []

    ack = mod(moderator, "approve", {"question_id": qid})
    assert ack["ok"] is True and ack["question"]["status"] == "approved"
    for client in (author, other):
        got = received(client, "/audience")
        assert [(n, d["seq"], d["question"]["status"]) for n, d in got] == [("question", 1, "approved")]
        assert set(got[0][1]["question"]) == AUDIENCE_KEYS
    assert received(podium, "/podium") == []
    assert [d["question"]["status"] for _, d in received(colleague, "/moderator")] == ["approved"]

    ack = mod(colleague, "forward", {"question_id": qid})
    assert ack["ok"] is True and ack["question"]["status"] == "forwarded"
    got = received(podium, "/podium")
    assert [(n, d["seq"], d["question"]["id"], d["question"]["status"]) for n, d in got] == [
        ("question", 1, qid, "forwarded")]
    assert set(got[0][1]["question"]) == AUDIENCE_KEYS
    assert got[0][1]["question"]["forwarded_at"] is not None

    assert mod(moderator, "answered", {"question_id": qid})["ok"] is True
    assert [(d["seq"], d["question"]["status"]) for _, d in received(podium, "/podium")] == [(2, "answered")]
    assert [(d["seq"], d["question"]["status"]) for _, d in received(other, "/audience")] == [
        (2, "forwarded"), (3, "answered")]
    assert [d["question"]["status"] for _, d in received(moderator, "/moderator")] == [
        "approved", "forwarded", "answered"]


# --- connections -----------------------------------------------------------------------------

def test_right_credentials_connect(app, audience_client, moderator_client, podium_client):
    assert audience_client().is_connected("/audience")
    assert moderator_client().is_connected("/moderator")
    assert podium_client().is_connected("/podium")


def test_moderator_without_login_is_refused(app, seeded):
    client = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"})
    assert not client.is_connected("/moderator")


def test_moderator_with_failed_login_is_refused(app, seeded, moderator_user):
    http = app.test_client()
    assert http.post("/login", data={"username": "mod", "password": "falsch-falsch"}).status_code == 401
    client = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)
    assert not client.is_connected("/moderator")


@pytest.mark.parametrize("auth", [{"talk": "gibt-es-nicht"}, {}, None, "demo", {"talk": 5}])
def test_moderator_with_bad_auth_is_refused(app, seeded, login, auth):
    client = socketio.test_client(app, namespace="/moderator", auth=auth, flask_test_client=login())
    assert not client.is_connected("/moderator")


@pytest.mark.parametrize("auth", [
    {"talk": "gibt-es-nicht", "client_id": audience_ids.issue("test-secret")},  # conftest's SECRET_KEY
    {"talk": "demo"},
    {"talk": "demo", "client_id": ""},
    {"talk": "demo", "client_id": "kurz"},
    {"talk": "demo", "client_id": "x" * 65},
    {"talk": "demo", "client_id": 12345678901},
    {"talk": "demo", "client_id": "äöüäöüäöüäöü"},
    {"client_id": audience_ids.issue("test-secret")},
    None,
])
def test_audience_with_bad_auth_is_refused(app, seeded, auth):
    client = socketio.test_client(app, namespace="/audience", auth=auth)
    assert not client.is_connected("/audience")


def test_podium_with_wrong_token_is_refused(app, seeded, podium_client):
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    for auth in ({"token": "falsch"}, {"token": token[:-1]}, {"token": ""}, {}, None, {"token": 5}):
        client = socketio.test_client(app, namespace="/podium", auth=auth)
        assert not client.is_connected("/podium"), auth
    assert podium_client(token).is_connected("/podium")


def test_podium_token_of_another_talk_shows_that_talk(app, seeded, podium_client):
    with app.app_context():
        token = talks.by_slug(db.session, "wohnen").podium_token
    podium = podium_client(token)
    (name, snap), = received(podium, "/podium")
    assert (name, snap["talk"]["slug"], snap["talk"]["open"]) == ("snapshot", "wohnen", False)


# --- acknowledgements for bad input ----------------------------------------------------------

@pytest.mark.parametrize("event", QUESTION_EVENTS)
@pytest.mark.postgres
def test_every_question_event_refuses_bad_input(app, audience_client, moderator_client, foreign_question, event):
    moderator = moderator_client()
    asked = submit(audience_client(), "Eine gültige Frage?")["question"]
    extra = {"edit": {"text": "Neu", "version": 1}, "merge": {"into_id": asked["id"]}}.get(event, {})
    cases = [
        ({**extra}, "invalid"),  # question_id missing
        ({"question_id": str(asked["id"]), **extra}, "invalid"),
        ({"question_id": True, **extra}, "invalid"),
        ({"question_id": None, **extra}, "invalid"),
        ({"question_id": 987654, **extra}, "not_found"),
        ({"question_id": foreign_question, **extra}, "not_found"),
        ("approve", "invalid"),  # not a dict
        ([asked["id"]], "invalid"),
        (asked["id"], "invalid"),
    ]
    received(moderator, "/moderator")
    for payload, code in cases:
        refusal(mod(moderator, event, payload), code)
    assert received(moderator, "/moderator") == []  # nothing changed, nothing was sent
    with app.app_context():
        assert db.session.get(Talk, db.session.get(Question, asked["id"]).talk_id).seq == 1
        assert db.session.get(Question, foreign_question).status == "approved"


def test_event_specific_refusals(app, audience_client, moderator_client, foreign_question):
    moderator = moderator_client()
    audience = audience_client()
    a = submit(audience, "Erste Frage?")["question"]["id"]
    b = submit(audience, "Zweite Frage?")["question"]["id"]
    refusal(mod(moderator, "edit", {"question_id": a, "text": "Neu"}), "invalid")  # version is required
    refusal(mod(moderator, "edit", {"question_id": a, "text": "Neu", "version": "1"}), "invalid")
    refusal(mod(moderator, "edit", {"question_id": a, "text": "   ", "version": 1}), "empty")
    refusal(mod(moderator, "edit", {"question_id": a, "text": "x" * 501, "version": 1}), "too_long")
    refusal(mod(moderator, "merge", {"question_id": a}), "invalid")
    refusal(mod(moderator, "merge", {"question_id": a, "into_id": a}), "invalid")
    refusal(mod(moderator, "merge", {"question_id": a, "into_id": 987654}), "not_found")
    refusal(mod(moderator, "merge", {"question_id": a, "into_id": foreign_question}), "not_found")
    refusal(mod(moderator, "answered", {"question_id": b}), "invalid")  # pending cannot be answered
    refusal(mod(moderator, "upvote", {"question_id": a, "value": 2}), "invalid")
    refusal(mod(moderator, "undo", {}), "not_found")
    refusal(mod(moderator, "undo", "bitte"), "invalid")
    refusal(mod(moderator, "talk_state", {"state": "vielleicht"}), "invalid")
    refusal(mod(moderator, "talk_state", {}), "invalid")
    refusal(mod(moderator, "talk_state", {"state": "open", "until": "gestern"}), "invalid")
    refusal(mod(moderator, "talk_state", {"state": "open", "until": "2020-01-01T10:00:00Z"}), "invalid")
    refusal(mod(moderator, "talk_state", ["open"]), "invalid")
    refusal(mod(moderator, "editing", {"question_id": "1"}), "invalid")
    refusal(mod(moderator, "gibt_es_nicht", {"question_id": a}), "invalid")
    refusal(mod(moderator, "delete", {"question_id": a}), "invalid")
    with app.app_context():
        statuses = [db.session.get(Question, i).status for i in (a, b)]
        texts = [db.session.get(Question, i).text for i in (a, b)]
        talk = talks.by_slug(db.session, "demo")
        assert (statuses, texts, talk.manual_state, talk.seq) == (
            ["pending", "pending"], ["Erste Frage?", "Zweite Frage?"], None, 2)


def test_audience_and_podium_refuse_foreign_and_bad_events(app, audience_client, podium_client, moderator_client):
    audience = audience_client()
    podium = podium_client()
    moderator = moderator_client()
    qid = submit(audience, "Darf ich mich selbst freigeben?")["question"]["id"]
    for event in ("approve", "forward", "talk_state", "undo", "gibt_es_nicht"):
        refusal(audience.emit(event, {"question_id": qid, "state": "closed"}, namespace="/audience", callback=True),
                "invalid")
        refusal(podium.emit(event, {"question_id": qid}, namespace="/podium", callback=True), "invalid")
    refusal(podium.emit("submit", {"text": "Hallo", "client_msg_id": uuid.uuid4().hex}, namespace="/podium",
                        callback=True), "invalid")
    refusal(audience.emit("submit", "Frage als Text", namespace="/audience", callback=True), "invalid")
    refusal(audience.emit("submit", {"text": "Ohne Kennung"}, namespace="/audience", callback=True), "invalid")
    refusal(audience.emit("vote", {"question_id": str(qid), "value": 1}, namespace="/audience", callback=True),
            "invalid")
    refusal(audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True),
            "not_found")  # still pending
    refusal(audience.emit("vote", {"question_id": 987654, "value": 1}, namespace="/audience", callback=True),
            "not_found")
    assert mod(moderator, "approve", {"question_id": qid})["ok"] is True
    refusal(audience.emit("vote", {"question_id": qid, "value": 5}, namespace="/audience", callback=True),
            "invalid")
    refusal(audience.emit("vote", {"question_id": qid}, namespace="/audience", callback=True), "invalid")
    with app.app_context():
        q = db.session.get(Question, qid)
        talk = db.session.get(Talk, q.talk_id)
        assert (q.status, talk.manual_state) == ("approved", None)


# --- who sees what ---------------------------------------------------------------------------

def test_audience_sees_its_own_pending_questions_but_not_those_of_others(app, audience_client):
    me = signed_id(app)
    phone, laptop = audience_client(client_id=me), audience_client(client_id=me)  # one person, two screens
    stranger = audience_client()
    for client in (phone, laptop, stranger):
        received(client, "/audience")

    ack = submit(phone, "Nur für mich und die Moderation?")
    qid = ack["question"]["id"]
    for client in (phone, laptop):
        assert [(n, d["question"]["id"], d["question"]["status"]) for n, d in received(client, "/audience")
                if n == "question"] == [("question", qid, "pending")]
    assert received(stranger, "/audience") == []

    later = audience_client()  # a new stranger's snapshot does not hold it either
    (name, snap), = received(later, "/audience")
    assert (name, snap["questions"], snap["seq"]) == ("snapshot", [], 0)
    again = audience_client(client_id=me)  # the author's new tab does
    (name, snap), = received(again, "/audience")
    assert [(q["id"], q["status"], q["mine"]) for q in snap["questions"]] == [(qid, "pending", True)]


def test_rejected_question_reaches_only_its_author(app, audience_client, moderator_client, podium_client):
    author, stranger = audience_client(), audience_client()
    moderator, podium = moderator_client(), podium_client()
    qid = submit(author, "Bitte ablehnen")["question"]["id"]
    for client, ns in ((author, "/audience"), (stranger, "/audience"), (podium, "/podium")):
        received(client, ns)
    assert mod(moderator, "reject", {"question_id": qid})["ok"] is True
    assert [(d["question"]["status"], d["seq"]) for n, d in received(author, "/audience") if n == "question"] == [
        ("rejected", 0)]
    assert received(stranger, "/audience") == []
    assert received(podium, "/podium") == []


@pytest.mark.postgres
def test_each_view_hears_only_of_changes_it_can_see_gap_free(app, audience_client, moderator_client, podium_client):
    author, stranger = audience_client(), audience_client()
    moderator, podium = moderator_client(), podium_client()
    for client, ns in ((author, "/audience"), (stranger, "/audience"), (podium, "/podium"), (moderator, "/moderator")):
        received(client, ns)
    a = submit(author, "Eins?")["question"]["id"]
    b = submit(author, "Zwei?")["question"]["id"]
    mod(moderator, "approve", {"question_id": a})
    mod(moderator, "edit", {"question_id": b, "text": "Zwei, bearbeitet?", "version": 1})
    mod(moderator, "upvote", {"question_id": b})  # votes carry no seq
    mod(moderator, "forward", {"question_id": a})

    def seqs(client, ns):
        return [d["seq"] for n, d in received(client, ns) if n in ("question", "seq")]

    assert seqs(moderator, "/moderator") == [1, 2, 3, 4, 5]
    assert seqs(stranger, "/audience") == [1, 2]  # approve a, forward a: b is still pending
    assert seqs(author, "/audience") == [0, 0, 1, 1, 2]  # its own pending questions under the current number
    assert seqs(podium, "/podium") == [1]
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        assert (demo.seq, demo.audience_seq, demo.podium_seq) == (5, 2, 1)


def test_podium_receives_only_forwarded_and_answered(app, audience_client, moderator_client, podium_client):
    audience, moderator = audience_client(), moderator_client()
    ids = [submit(audience, f"Frage {i}?")["question"]["id"] for i in range(4)]
    mod(moderator, "approve", {"question_id": ids[0]})
    mod(moderator, "reject", {"question_id": ids[1]})
    for action in ("approve", "forward"):
        mod(moderator, action, {"question_id": ids[2]})
    for action in ("approve", "forward", "answered"):
        mod(moderator, action, {"question_id": ids[3]})

    podium = podium_client()  # late: the snapshot
    (name, snap), = received(podium, "/podium")
    assert [(q["id"], q["status"]) for q in snap["questions"]] == [(ids[2], "forwarded"), (ids[3], "answered")]
    assert all(set(q) == AUDIENCE_KEYS for q in snap["questions"])

    new = submit(audience, "Noch eine?")["question"]["id"]
    mod(moderator, "approve", {"question_id": new})
    mod(moderator, "reject", {"question_id": ids[0]})
    assert question_events(received(podium, "/podium")) == []
    mod(moderator, "forward", {"question_id": new})
    assert [(q["id"], q["status"]) for q in question_events(received(podium, "/podium"))] == [(new, "forwarded")]


def test_snapshot_on_connect_and_on_resync(app, audience_client, moderator_client, podium_client):
    audience, moderator, podium = audience_client(), moderator_client(), podium_client()
    qid = submit(audience, "Was steht im Snapshot?", "Max")["question"]["id"]
    mod(moderator, "approve", {"question_id": qid})
    mod(moderator, "upvote", {"question_id": qid})
    assert audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)["ok"]
    pending = submit(audience_client(), "Noch nicht freigegeben")["question"]["id"]
    for client, ns in ((audience, "/audience"), (moderator, "/moderator"), (podium, "/podium")):
        received(client, ns)

    assert mod(moderator, "resync", {}) == {"ok": True}
    (name, snap), = received(moderator, "/moderator")
    assert (name, snap["seq"], snap["talk"]["slug"]) == ("snapshot", 3, "demo")
    by_id = {q["id"]: q for q in snap["questions"]}
    assert set(by_id) == {qid, pending}
    assert (by_id[qid]["upvotes"], by_id[qid]["votes"], by_id[qid]["name"]) == (1, 1, "Max")
    assert {"original_text", "flagged", "merged"} <= set(by_id[qid])

    assert audience.emit("resync", {}, namespace="/audience", callback=True) == {"ok": True}
    (name, snap), = received(audience, "/audience")
    assert (name, snap["seq"]) == ("snapshot", 1)
    assert [(q["id"], q["votes"], q["mine"], q["voted"]) for q in snap["questions"]] == [(qid, 1, True, True)]
    assert set(snap["questions"][0]) == AUDIENCE_KEYS | {"mine", "voted", "reported"}

    assert podium.emit("resync", namespace="/podium", callback=True) == {"ok": True}
    (name, snap), = received(podium, "/podium")
    assert (name, snap["seq"], snap["questions"]) == ("snapshot", 0, [])


# --- conflicts, undo, merge ------------------------------------------------------------------

@pytest.mark.postgres
def test_conflict_on_stale_version_returns_the_fresh_question(app, audience_client, moderator_client, second_login):
    anna, ben = moderator_client(), moderator_client(http=second_login())
    qid = submit(audience_client(), "Ursprüngliche Frage?")["question"]["id"]
    assert mod(anna, "edit", {"question_id": qid, "text": "Annas Fassung?", "version": 1})["ok"] is True
    received(ben, "/moderator")

    ack = mod(ben, "edit", {"question_id": qid, "text": "Bens Fassung?", "version": 1})
    refusal(ack, "conflict")
    assert (ack["question"]["id"], ack["question"]["text"], ack["question"]["version"]) == (qid, "Annas Fassung?", 2)
    assert ack["question"]["original_text"] == "Ursprüngliche Frage?"

    ack = mod(ben, "approve", {"question_id": qid, "version": 1})
    refusal(ack, "conflict")
    assert (ack["question"]["status"], ack["question"]["version"]) == ("pending", 2)
    assert received(ben, "/moderator") == []
    ack = mod(ben, "edit", {"question_id": qid, "text": "Bens Fassung?", "version": 2})
    assert ack["ok"] is True and ack["question"]["version"] == 3


@pytest.mark.postgres
def test_the_same_move_from_two_moderators_is_ok_for_both_and_stored_once(
        app, audience_client, moderator_client, second_login, podium_client):
    """Ben presses "Freigeben" a moment after Anna pressed `a`: his card still carries the old
    version, both wanted the same. A different move on his stale card is a conflict."""
    anna, ben, podium = moderator_client(), moderator_client(http=second_login()), podium_client()
    audience = audience_client()
    qid = submit(audience_client(), "Wann kommt der Bus?")["question"]["id"]
    other = submit(audience_client(), "Und wann die Bahn?")["question"]["id"]
    for client, ns in ((anna, "/moderator"), (ben, "/moderator"), (audience, "/audience"), (podium, "/podium")):
        received(client, ns)

    def seqs() -> tuple[int, int, int]:
        with app.app_context():
            talk = talks.by_slug(db.session, "demo")
            return talk.seq, talk.audience_seq, talk.podium_seq

    before = seqs()
    first = mod(anna, "approve", {"question_id": qid, "version": 1})
    second = mod(ben, "approve", {"question_id": qid, "version": 1})
    assert first["ok"] is True and second["ok"] is True
    assert second["question"]["status"] == "approved" and second["question"]["version"] == 2
    assert seqs() == (before[0] + 1, before[1] + 1, before[2])
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry.action).where(AuditEntry.question_id == qid)).all()
    assert entries == ["approve"]
    assert len([e for e in received(ben, "/moderator") if e[0] == "question"]) == 1  # Anna's, not a second
    assert len([e for e in received(audience, "/audience") if e[0] == "question"]) == 1

    # the same for a merge and an edit: the same result again is ok, whatever version it carries
    assert mod(anna, "merge", {"question_id": other, "into_id": qid, "version": 1})["ok"] is True
    assert mod(ben, "merge", {"question_id": other, "into_id": qid, "version": 1})["ok"] is True
    assert mod(anna, "edit", {"question_id": qid, "text": "Wann kommt der Bus?", "version": 1})["ok"] is True
    # a different move on the stale card is a conflict
    refusal(mod(ben, "reject", {"question_id": qid, "version": 1}), "conflict")
    assert seqs() == (before[0] + 2, before[1] + 2, before[2])


@pytest.mark.postgres
def test_undo_and_merge_over_the_socket(app, audience_client, moderator_client, podium_client):
    audience, moderator, podium = audience_client(), moderator_client(), podium_client()
    a = submit(audience, "Gibt es ein Bürgerbüro?")["question"]["id"]
    b = submit(audience_client(), "Kommt ein Bürgerbüro?")["question"]["id"]
    for action in ("approve", "forward"):
        mod(moderator, action, {"question_id": a})
    for client, ns in ((moderator, "/moderator"), (podium, "/podium")):
        received(client, ns)

    ack = mod(moderator, "undo", {})
    assert ack["ok"] is True and (ack["question"]["id"], ack["question"]["status"]) == (a, "approved")
    assert [(q["id"], q["status"]) for q in question_events(received(podium, "/podium"))] == [(a, "approved")]

    ack = mod(moderator, "merge", {"question_id": b, "into_id": a})
    assert ack["ok"] is True and (ack["question"]["id"], ack["question"]["status"]) == (b, "merged")
    got = received(moderator, "/moderator")
    merged = question_events(got)
    assert [(q["id"], q["status"]) for q in merged[-2:]] == [(b, "merged"), (a, "approved")]
    assert merged[-1]["merged"] == [{"id": b, "text": "Kommt ein Bürgerbüro?", "name": None, "source": "web",
                                     "source_label": None}]
    assert got[-1][1]["seq"] == got[-2][1]["seq"]  # one change of the talk

    ack = mod(moderator, "undo", {})
    assert ack["ok"] is True and (ack["question"]["id"], ack["question"]["status"]) == (b, "pending")
    ack = mod(moderator, "undo", {})  # the forward was undone already: next is the approval of a
    assert ack["ok"] is True and (ack["question"]["id"], ack["question"]["status"]) == (a, "pending")
    refusal(mod(moderator, "undo", {}), "not_found")  # submitting is no moderator's action


def test_undo_conflict_returns_the_fresh_question(app, audience_client, moderator_client, second_login):
    anna, ben = moderator_client(), moderator_client(http=second_login())
    qid = submit(audience_client(), "Wer war zuerst?")["question"]["id"]
    mod(anna, "approve", {"question_id": qid})
    mod(ben, "forward", {"question_id": qid})
    ack = mod(anna, "undo", {})
    refusal(ack, "conflict")
    assert (ack["question"]["id"], ack["question"]["status"]) == (qid, "forwarded")


def test_editing_presence(app, audience_client, moderator_client, second_login):
    anna, ben = moderator_client(), moderator_client(http=second_login())
    qid = submit(audience_client(), "Wer bearbeitet mich?")["question"]["id"]
    received(anna, "/moderator")
    received(ben, "/moderator")
    assert mod(anna, "editing", {"question_id": qid}) == {"ok": True}
    assert received(ben, "/moderator") == [("editing", {"question_id": qid, "user": "mod"})]
    assert received(anna, "/moderator") == []
    anna.disconnect("/moderator")
    assert received(ben, "/moderator") == [("editing", {"question_id": qid, "user": None})]


# --- sessions end --------------------------------------------------------------------------

def test_logout_ends_the_open_moderator_sockets_of_the_account(app, audience_client, moderator_client, login):
    http = login()
    moderator = moderator_client(http=http)
    colleague = moderator_client()  # another session of the same account: logout ends it too
    qid = submit(audience_client(), "Noch da?")["question"]["id"]
    assert mod(moderator, "upvote", {"question_id": qid})["ok"] is True

    response = http.post("/logout")
    assert response.status_code == 303
    assert not moderator.is_connected("/moderator")
    assert not colleague.is_connected("/moderator")
    again = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)
    assert not again.is_connected("/moderator")
    assert moderator_client().is_connected("/moderator")  # a fresh login works


def test_socket_of_a_logged_out_user_is_refused_on_the_next_event(app, audience_client, moderator_client,
                                                                   moderator_user):
    """A logout on another server process only changes the account's epoch: the next event here is refused."""
    moderator = moderator_client()
    qid = submit(audience_client(), "Noch da?")["question"]["id"]
    assert mod(moderator, "upvote", {"question_id": qid})["ok"] is True
    with app.app_context():
        from moderation.models import User
        accounts.log_out_everywhere(db.session, db.session.get(User, moderator_user))
        db.session.commit()

    refusal(mod(moderator, "approve", {"question_id": qid}), "forbidden")
    assert not moderator.is_connected("/moderator")
    with app.app_context():
        assert db.session.get(Question, qid).status == "pending"


def test_deactivated_account_is_refused_on_the_next_event(app, audience_client, moderator_client, moderator_user):
    moderator = moderator_client()
    qid = submit(audience_client(), "Noch da?")["question"]["id"]
    with app.app_context():
        from moderation.models import User
        db.session.get(User, moderator_user).active = False
        db.session.commit()
    refusal(mod(moderator, "approve", {"question_id": qid}), "forbidden")
    assert not moderator.is_connected("/moderator")
    with app.app_context():
        assert db.session.get(Question, qid).status == "pending"


# --- the round's window ----------------------------------------------------------------------

def test_submit_when_closed(app, audience_client, clock):
    audience = audience_client()
    early = submit(audience, "Noch rechtzeitig?", msg_id="early-message-1")
    assert early["ok"] is True
    clock.advance(hours=5)  # the demo is open for four hours from seeding
    ack = submit(audience, "Zu spät?")
    refusal(ack, "closed")
    assert "geschlossen" in ack["message"]
    again = submit(audience, "Noch rechtzeitig?", msg_id="early-message-1")  # a resend is still answered
    assert again["ok"] is True and again["question"]["id"] == early["question"]["id"]
    with app.app_context():
        assert db.session.query(Question).count() == 1


def test_moderator_closes_and_reopens_the_round(app, audience_client, moderator_client, podium_client, clock):
    audience, moderator, podium = audience_client(), moderator_client(), podium_client()
    for client, ns in ((audience, "/audience"), (moderator, "/moderator"), (podium, "/podium")):
        received(client, ns)

    ack = mod(moderator, "talk_state", {"state": "closed"})
    assert ack["ok"] is True and ack["talk"]["open"] is False and ack["talk"]["manual_state"] == "closed"
    for client, ns in ((audience, "/audience"), (moderator, "/moderator"), (podium, "/podium")):
        got = received(client, ns)
        assert [(n, d["talk"]["open"], d["seq"]) for n, d in got] == [("talk", False, 1)], ns
    refusal(submit(audience, "Geht das noch?"), "closed")

    until = (clock() + timedelta(hours=8)).isoformat().replace("+00:00", "Z")
    ack = mod(moderator, "talk_state", {"state": "open", "until": until})
    assert ack["ok"] is True and ack["talk"]["open"] is True
    assert ack["talk"]["closes_at"] == until
    assert [(n, d["talk"]["open"], d["seq"]) for n, d in received(audience, "/audience")] == [("talk", True, 2)]
    assert submit(audience, "Und jetzt?")["ok"] is True


# --- rate limits -----------------------------------------------------------------------------

def test_sixth_submission_in_a_minute_is_rate_limited_and_resends_never_count(app, audience_client):
    audience = audience_client()
    first = submit(audience, "Frage 1?", msg_id="message-number-1")
    assert first["ok"] is True
    for i in range(2, 5):
        assert submit(audience, f"Frage {i}?", msg_id=f"message-number-{i}")["ok"] is True
    for _ in range(5):  # resends of an acknowledged message: answered from the store, not counted
        again = submit(audience, "Frage 1?", msg_id="message-number-1")
        assert again == first
    assert submit(audience, "Frage 5?", msg_id="message-number-5")["ok"] is True

    ack = submit(audience, "Frage 6?", msg_id="message-number-6")
    refusal(ack, "rate_limited")
    seconds = re.search(r"(\d+) Sekunden?\b", ack["message"])
    assert seconds and 1 <= int(seconds.group(1)) <= 60, ack["message"]

    assert submit(audience, "Frage 1?", msg_id="message-number-1") == first  # still answered
    assert submit(audience, "Frage 5?", msg_id="message-number-5")["ok"] is True
    other = audience_client()  # the limit is per client
    assert submit(other, "Ich darf noch?")["ok"] is True
    tab = audience_client(client_id=None)
    assert submit(tab, "Ich auch?")["ok"] is True
    with app.app_context():
        assert db.session.query(Question).count() == 7


def test_per_address_limit_and_exempt_addresses(make_app, clock):
    def run(**config):
        app = make_app(LIMIT_SUBMIT_PER_ADDRESS="2 per minute", **config)
        with app.app_context():
            talks.seed(db.session, clock())
            db.session.commit()
        results = []
        for _ in range(3):  # three people behind one address
            client = socketio.test_client(app, namespace="/audience", flask_test_client=app.test_client(),
                                          auth={"talk": "demo", "client_id": signed_id(app)})
            results.append(submit(client, "Vom selben Anschluss?"))
        return results

    limited = run()
    assert [r["ok"] for r in limited] == [True, True, False]
    assert limited[-1]["error"] == "rate_limited"
    exempt = run(RATE_LIMIT_EXEMPT=["127.0.0.1"])
    assert [r["ok"] for r in exempt] == [True, True, True]


# --- votes -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_votes_events_carry_exact_counts(app, audience_client, moderator_client, podium_client):
    moderator, podium = moderator_client(), podium_client()
    voters = [audience_client() for _ in range(3)]
    qid = submit(voters[0], "Wer stimmt zu?")["question"]["id"]
    assert mod(moderator, "approve", {"question_id": qid})["ok"] is True
    for client, ns in [(v, "/audience") for v in voters] + [(moderator, "/moderator"), (podium, "/podium")]:
        received(client, ns)

    def vote(client, value):
        ack = client.emit("vote", {"question_id": qid, "value": value}, namespace="/audience", callback=True)
        assert ack == {"ok": True, "question_id": qid, "value": value}

    def last_votes(client, ns):
        batches = [d for n, d in received(client, ns) if n == "votes"]
        assert batches, ns
        return batches[-1]["counts"][str(qid)]

    vote(voters[0], 1)
    assert last_votes(moderator, "/moderator") == {"upvotes": 0, "votes": 1}
    vote(voters[1], 1)
    vote(voters[1], 1)  # twice from one client: counted once
    vote(voters[2], 1)
    assert last_votes(moderator, "/moderator") == {"upvotes": 0, "votes": 3}
    assert last_votes(voters[2], "/audience") == {"upvotes": 0, "votes": 3}
    vote(voters[0], 0)
    assert last_votes(voters[1], "/audience") == {"upvotes": 0, "votes": 2}
    ack = mod(moderator, "upvote", {"question_id": qid})
    assert ack == {"ok": True, "question_id": qid, "upvotes": 1, "votes": 2}
    assert last_votes(moderator, "/moderator") == {"upvotes": 1, "votes": 2}
    assert [n for n, _ in received(podium, "/podium")] == []  # not forwarded: the podium hears nothing
    assert mod(moderator, "upvote", {"question_id": qid, "value": 0})["upvotes"] == 0

    mod(moderator, "forward", {"question_id": qid})
    received(podium, "/podium")
    vote(voters[0], 1)
    assert last_votes(podium, "/podium") == {"upvotes": 0, "votes": 3}
    with app.app_context():
        assert talks.by_slug(db.session, "demo").seq == 3  # submit, approve, forward: votes take no seq


@pytest.mark.postgres
def test_votes_on_a_duplicate_count_with_its_target(app, audience_client, moderator_client):
    moderator = moderator_client()
    alice, bob, carol = audience_client(), audience_client(), audience_client()
    target = submit(alice, "Radwege?")["question"]["id"]
    dup = submit(bob, "Wann kommen Radwege?")["question"]["id"]
    for qid in (target, dup):
        mod(moderator, "approve", {"question_id": qid})
    for client, qid in ((alice, target), (bob, target), (bob, dup), (carol, dup)):
        ack = client.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)
        assert ack["ok"], ack
    ack = mod(moderator, "merge", {"question_id": dup, "into_id": target})
    assert ack["ok"] is True
    received(moderator, "/moderator")
    refusal(carol.emit("vote", {"question_id": dup, "value": 1}, namespace="/audience", callback=True), "not_found")
    assert carol.emit("vote", {"question_id": target, "value": 1}, namespace="/audience", callback=True)["ok"]
    batches = [d for n, d in received(moderator, "/moderator") if n == "votes"]
    assert batches[-1]["counts"] == {str(target): {"upvotes": 0, "votes": 3}}  # alice, bob, carol


class RecordingSocketIO:
    """Stands in for Flask-SocketIO in a VoteBatcher: records emits, never starts a timer."""

    def __init__(self):
        self.emitted: list[tuple[str, dict, str, str]] = []
        self.tasks: list = []

    def emit(self, event, data, to, namespace):
        self.emitted.append((event, data, to, namespace))

    def start_background_task(self, target):
        self.tasks.append(target)

    def sleep(self, seconds):  # pragma: no cover - the timer is never started here
        raise AssertionError("no sleeping in tests")


def test_vote_batcher_sends_one_broadcast_per_talk_per_flush(app, seeded, audience_client, moderator_client):
    moderator = moderator_client()
    ids = [submit(audience_client(), f"Frage {i}?")["question"]["id"] for i in range(3)]
    mod(moderator, "approve", {"question_id": ids[0]})
    for action in ("approve", "forward"):
        mod(moderator, action, {"question_id": ids[1]})  # ids[2] stays pending
    with app.app_context():
        from moderation.services import questions
        demo = db.session.get(Talk, seeded)
        for i in range(7):
            questions.set_vote(db.session, demo, f"client-{i}", ids[0], 1)
        for i in range(2):
            questions.set_vote(db.session, demo, f"client-{i}", ids[1], 1)
        other = talks.by_slug(db.session, "wohnen")
        foreign = Question(talk_id=other.id, text="Anderswo", status="approved", client_msg_id="foreign-votes-1",
                           created_at=demo.starts_at)
        db.session.add(foreign)
        db.session.commit()
        foreign_id, other_id = foreign.id, other.id

    fake = RecordingSocketIO()
    batcher = VoteBatcher(app, fake, 0.25)
    for n in range(1000):
        batcher.mark(seeded, ids[n % 3])
    batcher.mark(other_id, foreign_id)
    assert len(fake.tasks) == 1  # one timer, started by the first mark
    assert fake.emitted == []  # nothing is sent before the flush

    assert batcher.flush() == 2  # one broadcast per talk
    assert batcher.broadcasts == 2
    demo_rooms = {(to, ns): data for event, data, to, ns in fake.emitted if to.startswith(f"talk:{seeded}:")}
    assert all(event == "votes" for event, *_ in fake.emitted)
    assert set(demo_rooms) == {(f"talk:{seeded}:moderators", "/moderator"), (f"talk:{seeded}:audience", "/audience"),
                               (f"talk:{seeded}:podium", "/podium"), (f"talk:{seeded}:overlay", "/podium")}
    assert demo_rooms[(f"talk:{seeded}:moderators", "/moderator")]["counts"] == {
        str(ids[0]): {"upvotes": 0, "votes": 7}, str(ids[1]): {"upvotes": 0, "votes": 2},
        str(ids[2]): {"upvotes": 0, "votes": 0}}
    assert demo_rooms[(f"talk:{seeded}:audience", "/audience")]["counts"] == {
        str(ids[0]): {"upvotes": 0, "votes": 7}, str(ids[1]): {"upvotes": 0, "votes": 2}}
    assert demo_rooms[(f"talk:{seeded}:podium", "/podium")]["counts"] == {str(ids[1]): {"upvotes": 0, "votes": 2}}
    assert demo_rooms[(f"talk:{seeded}:moderators", "/moderator")]["seq"] == 6  # 3 submits, 3 moves
    foreign_sent = [(to, data["counts"]) for _, data, to, _ in fake.emitted if to.startswith(f"talk:{other_id}:")]
    assert sorted(foreign_sent) == [(f"talk:{other_id}:audience", {str(foreign_id): {"upvotes": 0, "votes": 0}}),
                                    (f"talk:{other_id}:moderators", {str(foreign_id): {"upvotes": 0, "votes": 0}})]

    fake.emitted.clear()
    assert batcher.flush() == 0 and fake.emitted == []  # nothing marked since: nothing sent
    batcher.mark(seeded, ids[0])
    assert len(fake.tasks) == 1  # the timer keeps running; no second one
    assert batcher.flush() == 1
    assert [to for _, _, to, _ in fake.emitted] == [f"talk:{seeded}:moderators", f"talk:{seeded}:audience"]


class Ticks(RecordingSocketIO):
    """Runs the batcher's timer loop for a number of intervals; `each` runs before every batch."""

    class Done(Exception):
        pass

    def __init__(self, ticks: int, each):
        super().__init__()
        self.left, self.each = ticks, each

    def sleep(self, seconds):
        if self.left == 0:
            raise self.Done
        self.left -= 1
        self.each()


def test_vote_counts_reach_moderators_every_batch_and_public_screens_every_fourth(
        app, seeded, audience_client, moderator_client):
    """At the peak every audience batch is a message per connected person: the public screens
    hear of counts once a second (every 4th batch of 0.25 s), the moderators every batch."""
    moderator = moderator_client()
    qid = submit(audience_client(), "Wer zählt mit?")["question"]["id"]
    mod(moderator, "approve", {"question_id": qid})
    batcher: VoteBatcher

    def vote_once_more() -> None:  # a fresh vote before every batch
        with app.app_context():
            from moderation.services import questions
            questions.set_vote(db.session, db.session.get(Talk, seeded), uuid.uuid4().hex, qid, 1)
            db.session.commit()
        batcher.mark(seeded, qid)

    ticks = Ticks(8, vote_once_more)
    batcher = VoteBatcher(app, ticks, 0.25)
    with pytest.raises(Ticks.Done):
        batcher.loop._run()
    sent = [(to.rsplit(":", 1)[1], data["counts"][str(qid)]["votes"]) for _, data, to, _ in ticks.emitted]
    assert [n for room, n in sent if room == "moderators"] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [n for room, n in sent if room == "audience"] == [4, 8]  # exact, only less often


def test_vote_batcher_reaches_connected_clients_once_per_flush(app, seeded, audience_client, moderator_client):
    """The real server, with a batch interval: many votes, one `votes` event per screen per flush."""
    moderator = moderator_client()
    qid = submit(audience_client(), "Sammelfrage?")["question"]["id"]
    mod(moderator, "approve", {"question_id": qid})
    voters = [audience_client() for _ in range(4)]

    class NoTimer:
        def emit(self, *args, **kwargs):
            socketio.emit(*args, **kwargs)

        def start_background_task(self, target):
            pass

    batcher = VoteBatcher(app, NoTimer(), 60)
    app.extensions["vote_batcher"] = batcher
    for client in voters:
        assert client.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)["ok"]
    for client in [moderator] + voters:
        ns = "/moderator" if client is moderator else "/audience"
        assert [n for n, _ in received(client, ns) if n == "votes"] == [], "sent before the flush"
    assert batcher.flush() == 1
    got = [d for n, d in received(moderator, "/moderator") if n == "votes"]
    assert got == [{"counts": {str(qid): {"upvotes": 0, "votes": 4}}, "seq": 2}]
    for client in voters:
        assert [d["counts"] for n, d in received(client, "/audience") if n == "votes"] == [
            {str(qid): {"upvotes": 0, "votes": 4}}]
