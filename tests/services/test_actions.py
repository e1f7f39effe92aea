"""The action registry (services/actions.py): every action the code takes is declared there, with
its words in German and English, and whatever reads it (report, audit log, undo, messages) speaks
of every action in words, never in its code."""
from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from moderation import messages
from moderation.models import STATUSES, AuditEntry, Talk
from moderation.services import accounts, actions, curation, questions, report, similar, steps, talks, windows
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "moderation/translations/en/LC_MESSAGES/messages.po"


def recorded_codes() -> set[str]:
    """Every action code the code base writes to the audit log as a literal (`record(…, "code", …)`)."""
    codes = set()
    for path in (ROOT / "moderation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record":
                literal = [a.value for a in node.args[3:4] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                codes.update(literal)
    return codes


def test_every_audited_action_is_declared():
    codes = recorded_codes()
    assert {"undo", "fold", "labels", "note", "answer", "block", "backstage", "talk_state"} <= codes
    assert codes | set(questions.TRANSITIONS) <= set(actions.BY_CODE)


def test_every_action_has_its_words_and_english_ones():
    english = {m.id: m.string for m in read_po(CATALOGUE.open("rb")) if m.id and m.string and not m.fuzzy}
    for action in actions.ACTIONS:
        words = [action.audit, action.done, *(w for w in (action.step, action.button) if w)]
        if action.undo:
            words.append(action.undo.says)
        for word in words:
            assert word != action.code and word in english, (action.code, word)
        if action.undo or action.desk:
            assert action.step and "%(text)s" in action.step, f"{action.code} names its steps"
    for status in actions.STATUS_WORDS.values():
        assert status.staff in english and status.public in english
    assert tuple(actions.STATUS_WORDS) == STATUSES


def test_every_kind_of_undo_has_its_revert():
    kinds = {a.undo.kind for a in actions.ACTIONS if a.undo}
    assert kinds == set(steps.KINDS)
    assert set(actions.UNDOABLE) >= {*questions.TRANSITIONS, "edit", "merge", "answer", "block", "unblock"}


def test_no_code_reaches_a_person(app):
    with app.test_request_context():
        for action in actions.ACTIONS:
            for form in ("audit", "done"):
                assert messages.action_word(action.code, form) != action.code
        assert messages.action_word("no_such_action") == "eine andere Aktion"
        assert messages.step_name({"action": "labels", "text": "Wie kommt der Bus?"}) == \
            "Schlagwörter für „Wie kommt der Bus?“ gesetzt"
    with app.test_request_context("/?lang=en"):
        assert messages.action_word("block") == "Person blocked"


@pytest.fixture
def people(session):
    made = {name: accounts.create_or_update(session, name, PASSWORD) for name in ("anna", "ben")}
    session.commit()
    return made


def test_the_report_counts_every_moderators_action(app, session, seeded, people, clock, login):
    """Recall and every curation action included, each column in words."""
    demo = session.get(Talk, seeded)
    anna = people["anna"]

    def ask(text: str):
        return questions.submit(session, demo, text=text, name=None, client="c-" + uuid.uuid4().hex,
                                client_msg_id=uuid.uuid4().hex, now=clock()).question

    q, other = ask("Wie kommt der Bus ins Dorf?"), ask("Und wann fährt der Zug?")
    for move in ("approve", "forward", "recall"):
        questions.transition(session, demo, anna, move, q.id, now=clock())
    curation.set_labels(session, demo, anna, q.id, ["Mobilität"])
    curation.set_note(session, demo, anna, q.id, "Landrat fragen")
    curation.set_answer(session, demo, anna, q.id, "Ab Mai.", True)
    curation.block(session, demo, anna, other.id)
    curation.unblock(session, demo, anna, other.id)
    curation.set_backstage(session, demo, anna, "Noch 5 Minuten")
    similar.dismiss(session, demo, anna, q.id, other.id)
    windows.set_state(session, demo, anna, "closed", None, clock())
    talks.set_podium_next(session, demo, anna, not demo.podium_shows_next)
    steps.undo(session, demo, anna, clock())
    session.commit()
    taken = report.build(session, demo)
    done = {"approve", "forward", "recall", "labels", "note", "answer", "block", "unblock", "backstage",
            "dismiss_similar", "talk_state", "podium_next", "undo"}
    assert taken.actions == {"anna": {code: 1 for code in done}}, str(sorted(taken.actions["anna"].items()))
    assert set(taken.action_codes) == done
    assert list(taken.action_codes) == [code for code in actions.REPORTED if code in done]
    audited = {e.action for e in session.query(AuditEntry).filter(AuditEntry.talk_id == demo.id)}
    assert audited - {"fold"} <= set(actions.REPORTED)

    accounts.create_or_update(session, "chefin", PASSWORD, "admin")
    session.commit()
    page = login("chefin").get("/moderate/demo/report").get_data(as_text=True)
    table = re.search(r'<h2 id="per-moderator">.*?</table>', page, re.S).group(0)
    for code in done:
        assert f'<th scope="col">{messages_word(app, code)}</th>' in table
    assert not re.search(r"<th[^>]*>(" + "|".join(done) + r")</th>", table)


def messages_word(app, code: str) -> str:
    with app.test_request_context():
        return str(messages.action_word(code))
