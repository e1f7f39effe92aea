from tests.helpers import events, submit


def test_question_travels_from_audience_to_podium(app, audience_client, moderator_client, podium_client):
    audience = audience_client()
    moderator = moderator_client()
    podium = podium_client()
    assert audience.is_connected("/audience") and moderator.is_connected("/moderator")
    ack = submit(audience, "Wie geht es weiter?", "Erika")
    assert ack["ok"] is True, ack
    qid = ack["question"]["id"]
    seen = [e["args"][0]["question"] for e in events(moderator, "/moderator", "question")]
    assert [q["text"] for q in seen] == ["Wie geht es weiter?"]
    for action in ("approve", "forward"):
        ack = moderator.emit(action, {"question_id": qid}, namespace="/moderator", callback=True)
        assert ack["ok"] is True, ack
    shown = [e["args"][0]["question"]["status"] for e in events(podium, "/podium", "question")]
    assert shown == ["forwarded"]
