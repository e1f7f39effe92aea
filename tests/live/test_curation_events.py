"""Curation events on `/moderator` through Flask-SocketIO's test client: labels, note, answer,
block/unblock, backstage — acknowledgements, who receives what, limits, and privacy."""
# ruff: noqa: F811 - tests take the fixture imported from test_sockets.py as arguments
from __future__ import annotations

import json

import pytest

from moderation import audience_ids
from moderation.extensions import db, socketio
from moderation.readmodel.views import STAFF_FIELDS
from moderation.services import accounts, talks
from moderation.services import questions as question_service
from tests.helpers import PASSWORD, signed_id, submit
from tests.live.test_sockets import foreign_question, mod, received, refusal  # noqa: F401

CURATION_EVENTS = ("labels", "note", "answer", "block", "unblock")


def drain(*clients) -> None:
    for client, namespace in clients:
        received(client, namespace)


def keys_anywhere(value) -> set[str]:
    """Every dict key in a nested payload."""
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_anywhere(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_anywhere(v) for v in value))
    return set()


@pytest.fixture
def room(app, audience_client, moderator_client, podium_client):
    """An author, another member of the audience, a moderator and a podium, with one approved question."""
    author_id = signed_id(app)
    author, other, moderator, podium = audience_client(client_id=author_id), audience_client(), \
        moderator_client(), podium_client()
    qid = submit(author, "Wann kommt der Bus?", "Erika")["question"]["id"]
    assert mod(moderator, "approve", {"question_id": qid})["ok"]
    drain((author, "/audience"), (other, "/audience"), (moderator, "/moderator"), (podium, "/podium"))
    return {"author": author, "other": other, "moderator": moderator, "podium": podium, "qid": qid,
            "hash": question_service.client_hash("test-secret", audience_ids.verify("test-secret", author_id))}


def test_labels_reach_moderators_only(room, moderator_client):
    moderator, qid = room["moderator"], room["qid"]
    ack = mod(moderator, "labels", {"question_id": qid, "labels": ["Mobilität", "an die Politik"]})
    assert ack["ok"] is True, ack
    assert ack["question"]["labels"] == ["Mobilität", "an die Politik"]
    [(name, data)] = received(moderator, "/moderator")
    assert (name, data["question"]["labels"]) == ("question", ["Mobilität", "an die Politik"])
    got = received(room["other"], "/audience") + received(room["podium"], "/podium")
    assert got == []  # labels are for moderators only: the audience and the podium hear nothing of them
    # a new moderator screen gets the question's and the talk's labels in its snapshot
    fresh = moderator_client()
    [(_, snap)] = received(fresh, "/moderator")
    assert snap["labels"] == ["Mobilität", "an die Politik"]
    assert snap["questions"][0]["labels"] == ["Mobilität", "an die Politik"]


def test_note_is_for_moderators_only(room):
    moderator, qid = room["moderator"], room["qid"]
    ack = mod(moderator, "note", {"question_id": qid, "text": "Erika ist Bürgermeisterin"})
    assert ack["ok"] is True and ack["question"]["note"] == "Erika ist Bürgermeisterin"
    assert received(moderator, "/moderator")[0][1]["question"]["note"] == "Erika ist Bürgermeisterin"
    for client, ns in ((room["author"], "/audience"), (room["other"], "/audience"), (room["podium"], "/podium")):
        assert "Bürgermeisterin" not in json.dumps(received(client, ns))
    refusal(mod(moderator, "note", {"question_id": qid, "text": "x" * 501}), "too_long")
    assert mod(moderator, "note", {"question_id": qid, "text": ""})["question"]["note"] is None


def test_shortlist_is_for_moderators_only(room, moderator_client):
    moderator, qid = room["moderator"], room["qid"]
    ack = mod(moderator, "shortlist", {"question_id": qid, "on": True})
    assert ack["ok"] is True and ack["question"]["shortlisted"] is True
    assert received(moderator, "/moderator")[0][1]["question"]["shortlisted"] is True
    for client, ns in ((room["author"], "/audience"), (room["other"], "/audience"), (room["podium"], "/podium")):
        assert received(client, ns) == []  # nothing they show changed: not told at all
    [(_, snap)] = received(moderator_client(), "/moderator")
    assert snap["questions"][0]["shortlisted"] is True
    refusal(mod(moderator, "shortlist", {"question_id": qid, "on": "ja"}), "invalid")
    assert mod(moderator, "shortlist", {"question_id": qid, "on": False})["question"]["shortlisted"] is False


def test_answer_goes_to_the_author_then_once_published_to_everybody(room):
    moderator, author, other, qid = room["moderator"], room["author"], room["other"], room["qid"]
    ack = mod(moderator, "answer", {"question_id": qid, "text": "Ab Mai stündlich.", "publish": False})
    assert ack["ok"] is True and ack["question"]["answer"] == "Ab Mai stündlich."
    assert ack["question"]["answer_published"] is False
    mine = [d["question"] for n, d in received(author, "/audience") if n == "question"]
    assert mine[-1]["answer"] == "Ab Mai stündlich."
    assert all("answer" not in d["question"] for n, d in received(other, "/audience") if n == "question")
    ack = mod(moderator, "answer", {"question_id": qid, "text": "Ab Mai stündlich.", "publish": True})
    assert ack["question"]["answer_published"] is True
    assert [d["question"]["answer"] for n, d in received(other, "/audience") if n == "question"] == [
        "Ab Mai stündlich."]
    assert all("answer" not in keys_anywhere(d) for _, d in received(room["podium"], "/podium"))
    # withdrawn, then the withdrawal undone
    assert mod(moderator, "answer", {"question_id": qid, "text": ""})["question"]["answer"] is None
    assert [d["question"].get("answer") for n, d in received(other, "/audience") if n == "question"] == [None]
    undone = mod(moderator, "undo", {})
    assert undone["ok"] is True and undone["question"]["answer"] == "Ab Mai stündlich."
    refusal(mod(moderator, "answer", {"question_id": qid, "text": "x", "publish": "ja"}), "invalid")


def test_answer_refused_for_a_pending_question(audience_client, moderator_client):
    author, moderator = audience_client(), moderator_client()
    qid = submit(author, "Noch nicht freigegeben")["question"]["id"]
    ack = mod(moderator, "answer", {"question_id": qid, "text": "Antwort", "publish": True})
    refusal(ack, "invalid")
    assert ack["question"]["status"] == "pending"


@pytest.mark.postgres
def test_block_stops_one_person_politely_and_undo_lets_them_back(room):
    moderator, author, other, qid = room["moderator"], room["author"], room["other"], room["qid"]
    pending = submit(author, "Noch eine Frage von mir")["question"]["id"]
    drain((author, "/audience"), (moderator, "/moderator"))
    ack = mod(moderator, "block", {"question_id": qid})
    assert ack["ok"] is True and ack["question"]["blocked"] is True
    cards = {d["question"]["id"]: d["question"] for n, d in received(moderator, "/moderator") if n == "question"}
    assert {i: (q["status"], q["blocked"]) for i, q in cards.items()} == {
        qid: ("approved", True), pending: ("rejected", True)}
    assert room["hash"] not in json.dumps(cards)
    refused = submit(author, "Ich bin wieder da")
    refusal(refused, "forbidden")
    assert "Vielen Dank für Ihr Verständnis" in refused["message"]
    refusal(author.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True), "forbidden")
    assert other.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)["ok"]
    assert mod(moderator, "block", {"question_id": pending})["ok"] is True  # already blocked: no-op
    undone = mod(moderator, "undo", {})
    assert undone["ok"] is True and undone["question"]["blocked"] is False
    assert submit(author, "Ich bin wieder da")["ok"] is True
    assert mod(moderator, "block", {"question_id": qid})["question"]["blocked"] is True
    assert mod(moderator, "unblock", {"question_id": qid})["question"]["blocked"] is False
    assert submit(author, "Und noch einmal")["ok"] is True


def view_seqs(app) -> dict[str, int]:
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        return {"moderator": talk.seq, "audience": talk.audience_seq, "podium": talk.podium_seq,
                "overlay": talk.overlay_seq}


def test_backstage_line_reaches_podium_screens_and_moderators_not_the_overlay(app, room, podium_client):
    """Under a seq of the views that show it: the overlay neither hears of it nor counts it."""
    moderator, podium = room["moderator"], room["podium"]
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    overlay = socketio.test_client(app, namespace="/podium", auth={"token": token, "overlay": True})
    drain((overlay, "/podium"))
    before = view_seqs(app)
    ack = mod(moderator, "backstage", {"text": "Noch 5 Minuten"})
    assert ack == {"ok": True, "backstage": {"text": "Noch 5 Minuten", "by": "mod"}}
    line = {"text": "Noch 5 Minuten", "by": "mod"}
    assert received(podium, "/podium") == [("backstage", line | {"seq": before["podium"] + 1})]
    assert received(moderator, "/moderator") == [("backstage", line | {"seq": before["moderator"] + 1})]
    assert received(overlay, "/podium") == []
    assert received(room["other"], "/audience") == []
    assert view_seqs(app) == before | {"moderator": before["moderator"] + 1, "podium": before["podium"] + 1}
    # the same line again sends nothing; a new podium screen gets it in its snapshot, the overlay not
    assert mod(moderator, "backstage", {"text": "Noch 5 Minuten"})["ok"] is True
    assert received(podium, "/podium") == []
    [(_, snap)] = received(podium_client(), "/podium")
    assert snap["backstage"] == {"text": "Noch 5 Minuten", "by": "mod"}
    overlay.emit("resync", {}, namespace="/podium", callback=True)
    assert "backstage" not in received(overlay, "/podium")[0][1]
    refusal(mod(moderator, "backstage", {"text": "x" * 201}), "too_long")
    assert mod(moderator, "backstage", {"text": ""})["backstage"] == {"text": None, "by": None}
    assert received(podium, "/podium") == [("backstage", {"text": None, "by": None, "seq": before["podium"] + 2})]


@pytest.mark.parametrize("event,data", [
    ("block", {}),
    ("note", {"text": "Erika ist Bürgermeisterin"}),
    ("labels", {"labels": ["Mobilität"]}),
    ("answer", {"text": "Ab Mai stündlich.", "publish": False}),
])
def test_public_screens_hear_nothing_of_staff_only_changes(app, room, event, data):
    """Blocking a person, a note, labels, an unpublished answer: the audience and the podium
    (screen and overlay) get no event and their seq stays — so nobody listening learns whose
    questions these were. The question is at the podium, public to everybody."""
    moderator, author, qid = room["moderator"], room["author"], room["qid"]
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    overlay = socketio.test_client(app, namespace="/podium", auth={"token": token, "overlay": True})
    pending = submit(author, "Und was ist mit dem Nachtbus?")["question"]["id"]
    assert mod(moderator, "forward", {"question_id": qid})["ok"]
    drain((author, "/audience"), (room["other"], "/audience"), (room["podium"], "/podium"), (overlay, "/podium"),
          (moderator, "/moderator"))
    before = view_seqs(app)

    ack = mod(moderator, event, {"question_id": qid, **data})
    assert ack["ok"] is True, ack
    assert received(room["other"], "/audience") == []
    assert received(room["podium"], "/podium") == []
    assert received(overlay, "/podium") == []
    assert view_seqs(app) == before | {"moderator": before["moderator"] + 1}
    assert received(moderator, "/moderator")  # the moderators do hear of it
    mine = [d for n, d in received(author, "/audience") if n == "question"]
    if event == "answer":  # its author sees the answer at once, under the audience's current seq
        assert [(d["question"]["answer"], d["seq"]) for d in mine] == [("Ab Mai stündlich.", before["audience"])]
    elif event == "block":  # their pending question is rejected: they see that, nobody else
        assert [(d["question"]["id"], d["question"]["status"], d["seq"]) for d in mine] == [
            (pending, "rejected", before["audience"])]
    else:
        assert mine == []


@pytest.mark.parametrize("event,data", [
    ("labels", {"question_id": 1, "labels": "Wohnen"}),
    ("labels", {"question_id": 1, "labels": [1, 2]}),
    ("labels", {"question_id": 1, "labels": ["x"] * 51}),
    ("note", {"question_id": "1", "text": "x"}),
    ("answer", {"question_id": 1, "text": None}),
    ("block", {}),
    ("unblock", {"question_id": True}),
    ("backstage", {"text": 5}),
])
def test_malformed_curation_payloads_are_invalid(moderator_client, event, data):
    refusal(mod(moderator_client(), event, data), "invalid")


@pytest.mark.parametrize("event", CURATION_EVENTS)
def test_curation_of_another_talks_question_is_not_found(moderator_client, foreign_question, event):
    data = {"question_id": foreign_question, "labels": ["x"], "text": "x", "publish": True}
    refusal(mod(moderator_client(), event, data), "not_found")


def test_curation_events_are_rate_limited_per_account(make_app, clock):
    app = make_app(LIMIT_CURATE_PER_ACCOUNT="3 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, "mod", PASSWORD)
        db.session.commit()
    http = app.test_client()
    assert http.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    moderator = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)
    answers = [mod(moderator, "backstage", {"text": f"Zeile {i}"}) for i in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    refusal(answers[-1], "rate_limited")


def test_no_audience_or_podium_payload_ever_carries_staff_fields_or_an_identity(room, podium_client,
                                                                               audience_client):
    """Run every curation event, then read everything the audience and the podium received."""
    moderator, author, qid = room["moderator"], room["author"], room["qid"]
    second = submit(author, "Zweite Frage von Erika")["question"]["id"]
    steps = [
        ("labels", {"question_id": qid, "labels": ["Wohnen"]}),
        ("note", {"question_id": qid, "text": "geheime Notiz"}),
        ("answer", {"question_id": qid, "text": "Unveröffentlichte Antwort", "publish": False}),
        ("forward", {"question_id": qid}),
        ("answer", {"question_id": qid, "text": "Veröffentlichte Antwort", "publish": True}),
        ("backstage", {"text": "Frage 3 zuerst"}),
        ("block", {"question_id": second}),
        ("undo", {}),
        ("block", {"question_id": qid}),
        ("unblock", {"question_id": qid}),
        ("block", {"question_id": qid}),
    ]
    for event, data in steps:
        assert mod(moderator, event, data)["ok"] is True, event
    late = [audience_client(), podium_client()]
    others = [d for _, d in received(room["other"], "/audience") + received(room["podium"], "/podium")
              + received(late[0], "/audience") + received(late[1], "/podium")]
    own = [d for _, d in received(author, "/audience")]
    assert others and own
    assert not keys_anywhere(others + own) & STAFF_FIELDS
    text = json.dumps(others + own, ensure_ascii=False)
    for secret in ("Wohnen", "geheime Notiz", room["hash"]):
        assert secret not in text
    # the unpublished answer reached its author only; the published one everybody in the audience
    assert "Unveröffentlichte Antwort" in json.dumps(own, ensure_ascii=False)
    assert "Unveröffentlichte Antwort" not in json.dumps(others, ensure_ascii=False)
    assert "Veröffentlichte Antwort" in json.dumps(others, ensure_ascii=False)
