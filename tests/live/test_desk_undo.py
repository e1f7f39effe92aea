"""Undo on the moderator's desk: only one's own newest step, never one another moderator built
on, older steps only when confirmed; every answer names the step, and undo takes back exactly the
step it names, for every kind of step. And the page's action table agrees with what the services do."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation.models import AuditEntry, Question, Talk
from moderation.services import accounts, actions, curation, questions, steps
from moderation.services.blocks import is_blocked
from moderation.services.errors import DomainError
from tests.helpers import PASSWORD, events, refused


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
    error = refused(steps.undo, session, demo, anna, clock())
    session.rollback()
    assert error.code == "conflict"
    assert (error.detail["reason"], error.detail["by"], error.detail["their"]) == ("built_on", "ben", "edit")
    assert error.detail["step"]["action"] == "approve"
    assert q.status == "approved"

    # once Ben has taken his edit back, Anna's approval is hers to undo again
    steps.undo(session, demo, ben, clock())
    session.commit()
    steps.undo(session, demo, anna, clock())
    session.commit()
    assert q.status == "pending"


def test_an_older_step_asks_first_and_says_what_it_will_change(session, demo, mods, clock):
    anna, _ = mods
    q = ask(session, demo, clock)
    questions.transition(session, demo, anna, "approve", q.id, now=clock())
    session.commit()
    later = clock() + steps.CONFIRM_AFTER + timedelta(minutes=4)
    error = refused(steps.undo, session, demo, anna, later)
    session.rollback()
    assert error.code == "confirm" and error.detail["minutes"] >= 6
    step_id = error.detail["step"]["id"]
    assert q.status == "approved"
    steps.undo(session, demo, anna, later, step=step_id, confirmed=True)
    session.commit()
    assert q.status == "pending"


def test_undo_of_a_step_other_than_the_one_shown_is_a_conflict(session, demo, mods, clock):
    anna, _ = mods
    a = ask(session, demo, clock, "Erste Frage zum Radverkehr?")
    b = ask(session, demo, clock, "Zweite Frage zum Radverkehr?")
    questions.transition(session, demo, anna, "approve", a.id, now=clock())
    shown = steps.describe(session, demo, anna)
    questions.transition(session, demo, anna, "reject", b.id, now=clock())
    session.commit()
    error = refused(steps.undo, session, demo, anna, clock(), step=shown["id"])
    session.rollback()
    assert error.code == "conflict" and error.detail["reason"] == "moved"
    assert error.detail["step"]["question_id"] == b.id
    assert (a.status, b.status) == ("approved", "rejected")
    assert refused(steps.undo, session, demo, anna, clock(), step="7").code == "invalid"


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


def desk_config(client) -> dict:
    """The desk's JSON block as the page hands it to its scripts."""
    page = client.get("/moderate/demo")
    assert page.status_code == 200
    found = re.search(rb'<script type="application/json" id="desk">(.*?)</script>', page.data, re.S)
    assert found, "the page carries its desk config"
    return json.loads(found.group(1))


def carry_out(session, talk, user, name: str, q, other, clock) -> bool:
    """Whether the service the desk calls for `name` changes question `q` (a refusal: False)."""
    calls = {
        "upvote": lambda: questions.set_upvote(session, talk, user, q.id),
        "edit": lambda: questions.edit(session, talk, user, q.id, q.text + " (bearbeitet)", q.version),
        "merge": lambda: questions.merge(session, talk, user, q.id, other.id),
    }
    call = calls.get(name, lambda: questions.transition(session, talk, user, name, q.id, now=clock()))
    try:
        write = call()
    except DomainError:
        return False
    finally:
        session.rollback()
    return bool(write.changed or write.counted)


def test_every_card_action_is_one_the_services_carry_out_and_no_move_is_missing(session, seeded, login, clock):
    """The page's action table (as the browser gets it) against what the services do: a card
    offers an action only where the service carries it out, and every status change the state
    machine allows from a tab is on the card there."""
    desk = desk_config(login())
    demo = session.get(Talk, seeded)
    mod = accounts.by_name(session, "mod")
    target = ask(session, demo, clock, "Wohin mit den Duplikaten?")
    public_target = ask(session, demo, clock, "Wohin mit freigegebenen Duplikaten?")
    public_target.status = "approved"  # a public question merges only into a public one
    offered = {(a["name"], status) for a in desk["actions"] for status in a["statuses"]}
    assert {a["name"] for a in desk["actions"]} >= {*questions.TRANSITIONS, "upvote", "edit", "merge"}
    for status in desk["tabs"]:
        q = ask(session, demo, clock, f"Eine Frage im Status {status}?")
        q.status = status
        session.commit()
        for action in desk["actions"]:
            into = public_target if status in ("approved", "forwarded") else target
            done = carry_out(session, demo, mod, action["name"], q, into, clock)
            if (action["name"], status) in offered:
                assert done, f"the card offers {action['name']} on a {status} question, the service refuses it"
            elif action["kind"] == "transition":
                assert not done, f"the service allows {action['name']} from {status}, the card does not offer it"


# --- undo names exactly the step it takes back, for every kind of step ----------------------------

def _setup(session, talk, ben, clock, action: str) -> tuple[int, dict, int | None]:
    """A question ready for Anna's `action` (Ben's steps before hers), the event's payload, and a
    second question it involves (a merge's target)."""
    q = ask(session, talk, clock, f"Frage für {action}: wie geht es weiter?")
    other = None
    before = {"forward": ["approve"], "answered": ["approve"], "recall": ["approve", "forward"],
              "answer": ["approve"]}.get(action, [])
    for move in before:
        questions.transition(session, talk, ben, move, q.id, now=clock())
    if action == "unblock":
        curation.block(session, talk, ben, q.id)
    payload: dict = {"question_id": q.id}
    if action == "edit":
        payload |= {"text": "Neu formuliert: wie geht es weiter?", "version": q.version}
    elif action == "merge":
        other = ask(session, talk, clock, "Die Frage, in die zusammengeführt wird?").id
        payload["into_id"] = other
    elif action == "answer":
        payload |= {"text": "Die Linie fährt ab Mai wieder.", "publish": True}
    session.commit()
    return q.id, payload, other


def _state(session, talk, *ids: int | None) -> list:
    session.expire_all()
    found = [session.get(Question, i) for i in ids if i is not None]
    return [(q.status, q.text, q.original_text, q.merged_into_id, q.answer, q.answer_published,
             is_blocked(session, talk, q.client_hash)) for q in found]


@pytest.mark.parametrize("action", actions.UNDOABLE)
def test_undo_takes_back_exactly_the_step_it_names(app, seeded, moderator_client, login, session, clock, action):
    ben = accounts.create_or_update(session, "ben", PASSWORD)
    session.commit()
    anna = moderator_client()
    demo = session.get(Talk, seeded)
    qid, payload, other = _setup(session, demo, ben, clock, action)
    before = _state(session, demo, qid, other)

    ack = anna.emit(action, payload, namespace="/moderator", callback=True)
    assert ack["ok"], ack
    step = ack["step"]
    assert (step["action"], step["question_id"]) == (action, qid)
    assert anna.emit("undo_step", {}, namespace="/moderator", callback=True)["step"]["id"] == step["id"]
    assert _state(session, demo, qid, other) != before

    done = anna.emit("undo", {"step": step["id"]}, namespace="/moderator", callback=True)
    assert done["ok"], done
    assert (done["undone"]["id"], done["undone"]["action"]) == (step["id"], action)
    assert _state(session, demo, qid, other) == before
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert (entry.action, entry.undoes_id) == ("undo", step["id"])


def test_undo_naming_an_approval_never_lifts_a_later_block(app, seeded, moderator_client, session, clock):
    """Approve #1, block the person behind #2, then undo naming the approval: refused, the block
    stays; undo naming the block lifts exactly the block."""
    anna = moderator_client()
    demo = session.get(Talk, seeded)
    first = ask(session, demo, clock, "Wo hält der Zug?")
    second = ask(session, demo, clock, "Noch eine Frage von jemand anderem?")
    approved = anna.emit("approve", {"question_id": first.id}, namespace="/moderator", callback=True)
    blocked = anna.emit("block", {"question_id": second.id}, namespace="/moderator", callback=True)
    assert blocked["step"]["action"] == "block" and blocked["step"]["question_id"] == second.id
    assert anna.emit("undo_step", {}, namespace="/moderator", callback=True)["step"]["id"] == blocked["step"]["id"]

    refusal = anna.emit("undo", {"step": approved["step"]["id"]}, namespace="/moderator", callback=True)
    assert refusal["ok"] is False and refusal["error"] == "conflict"
    assert refusal["step"]["id"] == blocked["step"]["id"]
    assert "Person hinter „Noch eine Frage von jemand anderem?“ gesperrt" in refusal["message"]
    assert _state(session, demo, first.id, second.id) == [
        ("approved", "Wo hält der Zug?", None, None, None, False, False),
        ("rejected", "Noch eine Frage von jemand anderem?", None, None, None, False, True)]

    done = anna.emit("undo", {"step": blocked["step"]["id"]}, namespace="/moderator", callback=True)
    assert done["ok"] and done["undone"]["action"] == "block" and done["undone"]["id"] == blocked["step"]["id"]
    assert [s[0] for s in _state(session, demo, first.id, second.id)] == ["approved", "pending"]
    assert not is_blocked(session, demo, second.client_hash)
    assert done["step"]["id"] == approved["step"]["id"]


def test_a_refusal_names_the_other_moderators_step_in_words(app, seeded, moderator_client, login, session, clock):
    accounts.create_or_update(session, "ben", PASSWORD)
    session.commit()
    anna, ben = moderator_client(), moderator_client(http=login("ben", PASSWORD))
    q = ask(session, session.get(Talk, seeded), clock)
    step = anna.emit("approve", {"question_id": q.id}, namespace="/moderator", callback=True)["step"]
    ben.emit("note", {"question_id": q.id, "text": "Landrat fragen"}, namespace="/moderator", callback=True)
    refusal = anna.emit("undo", {"step": step["id"]}, namespace="/moderator", callback=True)
    assert refusal["error"] == "conflict"
    assert "ben hat danach darauf aufgebaut (Notiz geändert)" in refusal["message"]
    assert "(note)" not in refusal["message"]
