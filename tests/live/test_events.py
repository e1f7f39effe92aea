"""Payloads are parsed at the edge: a field of the wrong type is refused as `invalid` with its
name before any service runs, and changes nothing."""
from __future__ import annotations

import uuid

import pytest

from moderation.live import events
from moderation.services.errors import DomainError
from tests.helpers import events as received
from tests.helpers import submit


@pytest.mark.parametrize("cls, data, field", [
    (events.QuestionAction, {"question_id": None}, "question_id"),
    (events.QuestionAction, {"question_id": "1"}, "question_id"),
    (events.QuestionAction, {"question_id": True}, "question_id"),
    (events.QuestionAction, {"question_id": 1, "version": "1"}, "version"),
    (events.QuestionAction, {"question_id": 1, "version": True}, "version"),
    (events.Edit, {"question_id": 1, "text": "Neu", "version": None}, "version"),
    (events.Edit, {"question_id": 1, "text": "Neu"}, "version"),
    (events.Edit, {"question_id": 1, "text": 5, "version": 1}, "text"),
    (events.Merge, {"question_id": 1, "into_id": "2"}, "into_id"),
    (events.Merge, {"question_id": 1}, "into_id"),
    (events.AudienceVote, {"question_id": 1, "value": "1"}, "value"),
    (events.AudienceVote, {"question_id": 1, "value": True}, "value"),
    (events.AudienceVote, {"question_id": 1, "value": None}, "value"),
    (events.AudienceVote, {"question_id": 1, "value": 1.5}, "value"),
    (events.Upvote, {"question_id": 1, "value": True}, "value"),
    (events.Submission, {"client_msg_id": None, "text": "Frage?"}, "client_msg_id"),
    (events.Submission, {"client_msg_id": 12345678, "text": "Frage?"}, "client_msg_id"),
    (events.Submission, {"client_msg_id": "abcdefgh-1", "text": None}, "text"),
    (events.Submission, {"client_msg_id": "abcdefgh-1", "text": 42}, "text"),
    (events.Submission, {"client_msg_id": "abcdefgh-1", "text": ["Frage"]}, "text"),
    (events.Submission, {"client_msg_id": "abcdefgh-1", "text": "Frage?", "name": 7}, "name"),
    (events.TalkState, {"state": 1}, "state"),
    (events.TalkState, {"state": "open", "until": 1615488000}, "until"),
    (events.TalkState, {"state": "open", "until": 1.5}, "until"),
    (events.TalkState, {"state": "open", "until": ["2021-03-02"]}, "until"),
    (events.TalkState, {"state": "open", "until": {}}, "until"),
    (events.Editing, {"question_id": "3"}, "question_id"),
])
def test_wrong_types_are_refused_with_the_field(cls, data, field):
    with pytest.raises(DomainError) as info:
        events.parse(cls, data)
    assert (info.value.code, info.value.detail) == ("invalid", {"field": field})


def test_well_typed_payloads_parse_with_defaults():
    assert events.parse(events.QuestionAction, {"question_id": 3}) == events.QuestionAction(3, None)
    assert events.parse(events.Upvote, {"question_id": 3}) == events.Upvote(3, 1)
    assert events.parse(events.Submission, {"client_msg_id": "abcdefgh-1", "text": "Frage?"}) == \
        events.Submission("abcdefgh-1", "Frage?", None)
    assert events.parse(events.Editing, {}) == events.Editing(None)
    assert events.parse(events.Empty, {"anything": "else"}) == events.Empty()


def test_a_refused_payload_reaches_no_service(audience_client, moderator_client):
    audience, moderator = audience_client(), moderator_client()
    ack = submit(audience, "Wie kommt der Bus ins Dorf?")
    qid = ack["question"]["id"]
    received(moderator, "/moderator")
    for event, data in (("approve", {"question_id": str(qid)}), ("edit", {"question_id": qid, "text": 5, "version": 1}),
                        ("merge", {"question_id": qid, "into_id": [qid]}), ("upvote", {"question_id": qid, "value": True})):
        answer = moderator.emit(event, data, namespace="/moderator", callback=True)
        assert (answer["ok"], answer["error"]) == (False, "invalid"), event
    again = audience.emit("submit", {"text": 42, "client_msg_id": str(uuid.uuid4())}, namespace="/audience",
                          callback=True)
    assert (again["ok"], again["error"]) == (False, "invalid")
    assert received(moderator, "/moderator", "question") == []
