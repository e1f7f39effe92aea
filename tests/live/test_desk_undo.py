"""Undo on the moderator's desk: only one's own newest step, never one another moderator built
on, older steps only when confirmed; every answer names the step. And the page's action table is
derived from the services' state machine."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from moderation.models import Talk
from moderation.services import accounts, questions, steps
from tests.helpers import PASSWORD, events, refused


@pytest.fixture
def demo(session, seeded) -> Talk:
    return session.get(Talk, seeded)


@pytest.fixture
def mods(session):
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    ben = accounts.create_or_update(session, "ben", PASSWORD)
    session.commit()
    return anna, ben


def ask(session, talk, clock, text="Wie kommt der Bus ins Dorf, wenn die Linie endet?"):
    change = questions.submit(session, talk, text=text, name=None, client="client-" + uuid.uuid4().hex,
                              client_msg_id=uuid.uuid4().hex, now=clock())
    session.commit()
    return change.question


def test_a_step_another_moderator_built_on_is_a_conflict_with_the_reason(session, demo, mods, clock):
    anna, ben = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    questions.edit(session, demo, ben, q.id, "Wie kommt der Bus ins Dorf?", version=q.version)
    session.commit()
    error = refused(questions.undo, session, demo, anna, clock())
    session.rollback()
    assert error.code == "conflict"
    assert (error.detail["reason"], error.detail["by"], error.detail["their"]) == ("built_on", "ben", "edit")
    assert error.detail["step"]["action"] == "approve"
    assert q.status == "approved"

    # once Ben has taken his edit back, Anna's approval is hers to undo again
    questions.undo(session, demo, ben, clock())
    session.commit()
    questions.undo(session, demo, anna, clock())
    session.commit()
    assert q.status == "pending"


def test_an_older_step_asks_first_and_says_what_it_will_change(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    session.commit()
    later = clock() + steps.CONFIRM_AFTER + timedelta(minutes=4)
    error = refused(questions.undo, session, demo, anna, later)
    session.rollback()
    assert error.code == "confirm" and error.detail["minutes"] >= 6
    step_id = error.detail["step"]["id"]
    assert q.status == "approved"
    questions.undo(session, demo, anna, later, step=step_id, confirmed=True)
    session.commit()
    assert q.status == "pending"


def test_undo_of_a_step_other_than_the_one_shown_is_a_conflict(session, demo, mods, clock):
    anna, _ = mods
    a = ask(session, demo, clock, "Erste Frage zum Radverkehr?")
    b = ask(session, demo, clock, "Zweite Frage zum Radverkehr?")
    questions.transition(session, demo, anna, "approve", a.id, now=clock())
    shown = steps.describe(session, demo, anna, questions.UNDOABLE)
    questions.transition(session, demo, anna, "reject", b.id, now=clock())
    session.commit()
    error = refused(questions.undo, session, demo, anna, clock(), step=shown["id"])
    session.rollback()
    assert error.code == "conflict" and error.detail["reason"] == "moved"
    assert error.detail["step"]["question_id"] == b.id
    assert (a.status, b.status) == ("approved", "rejected")
    assert refused(questions.undo, session, demo, anna, clock(), step="7").code == "invalid"


def test_acks_name_the_step_and_refusals_say_why(app, seeded, moderator_client, login, session, clock):
    accounts.create_or_update(session, "ben", PASSWORD)
    session.commit()
    anna_client = moderator_client()
    ben_client = moderator_client(http=login("ben", PASSWORD))
    q = ask(session, session.get(Talk, seeded), clock, "Wie kommt der Bus ins Dorf, wenn die Linie endet?")
    assert anna_client.emit("undo_step", {}, namespace="/moderator", callback=True) == {"ok": True, "step": None}

    ack = anna_client.emit("approve", {"question_id": q.id}, namespace="/moderator", callback=True)
    assert ack["ok"] and ack["step"]["action"] == "approve" and ack["step"]["question_id"] == q.id
    # the other moderator hears who did it
    heard = [e["args"][0] for e in events(ben_client, "/moderator", "question")
             if e["args"][0]["question"]["id"] == q.id]
    assert heard and heard[-1]["by"] == "mod" and heard[-1]["action"] == "approve"

    ben_client.emit("forward", {"question_id": q.id}, namespace="/moderator", callback=True)
    refusal = anna_client.emit("undo", {"step": ack["step"]["id"]}, namespace="/moderator", callback=True)
    assert refusal["ok"] is False and refusal["error"] == "conflict"
    assert "„Wie kommt der Bus ins Dorf, wenn die Li…“ freigegeben" in refusal["message"]
    assert "ben" in refusal["message"] and "ans Podium gegeben" in refusal["message"]
    assert refusal["step"]["id"] == ack["step"]["id"]

    ben_client.emit("undo", {}, namespace="/moderator", callback=True)
    clock.advance(minutes=10)
    asked = anna_client.emit("undo", {"step": ack["step"]["id"]}, namespace="/moderator", callback=True)
    assert asked["error"] == "confirm"
    assert "Minuten her" in asked["message"] and "„Freigegeben“" in asked["message"] and "„Neu“" in asked["message"]
    done = anna_client.emit("undo", {"step": asked["step"]["id"], "confirm": True}, namespace="/moderator",
                            callback=True)
    assert done["ok"] and done["undone"]["action"] == "approve" and done["question"]["status"] == "pending"
    assert done["step"] is None


def test_the_page_gets_its_actions_from_the_state_machine(app, seeded, login):
    client = login()
    page = client.get("/moderate/demo")
    assert page.status_code == 200
    from moderation.web.desk import actions
    with app.test_request_context():
        table = {a["name"]: a for a in actions()}
    for name, (allowed, to_status) in questions.TRANSITIONS.items():
        assert table[name]["statuses"] == [s for s in allowed if s != to_status]
        assert table[name]["to"] == to_status
    assert b'id="desk"' in page.data and b'"transitions"' in page.data
