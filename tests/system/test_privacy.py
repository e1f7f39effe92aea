"""Issue 5, privacy: no address in the database or the logs, client ids only hashed, no question
texts in logs, retention (`purge`), the privacy notice and the imprint link."""
from __future__ import annotations

import hashlib
import io
import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from moderation import audience_ids
from moderation.extensions import db, socketio
from moderation.logs import JsonLines
from moderation.models import AuditEntry, Question, Talk, Upvote, User, Vote, utcnow
from moderation.services import accounts
from moderation.services import questions as question_service
from moderation.services import talks as talk_service
from tests.helpers import PASSWORD, signed_id, submit

ADDRESS = "203.0.113.7"
ADDRESS6 = "2001:db8:85a3::8a2e:370:7334"
SECRET = "test-secret"


@pytest.fixture
def logs(caplog):
    """Everything the app logs: its own JSON lines (the 'fragerunde' logger does not propagate)
    and every other logger through the root, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("fragerunde")
    logger.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    yield lambda: stream.getvalue() + "\n" + "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    logger.removeHandler(handler)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def every_value(app) -> list[str]:
    """Every column of every row of every table, as text."""
    values = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                values.extend(str(v) for v in row)
        db.session.rollback()
    return values


def a_round(app, login, address: str) -> dict:
    """Submissions (socket and form), votes, a merge, logins (one failed), moderation, logout —
    all from `address`. Returns what was typed and the raw client ids."""
    typed = {"texts": [], "names": [], "client_ids": []}
    sockets = []
    for i in range(3):
        client_id = signed_id(app)
        typed["client_ids"].append(audience_ids.verify(app.config["SECRET_KEY"], client_id))
        sockets.append(socketio.test_client(app, namespace="/audience", flask_test_client=from_address(app, address),
                                            auth={"talk": "demo", "client_id": client_id}))
    ids = []
    for i, audience in enumerate(sockets):
        words = f"Privatfrage-{uuid.uuid4().hex[:10]}"
        name = f"Name-{uuid.uuid4().hex[:6]}"
        typed["texts"].append(words)
        typed["names"].append(name)
        ack = submit(audience, words, name)
        assert ack["ok"], ack
        ids.append(ack["question"]["id"])
    form = from_address(app, address)
    words = f"Formularfrage-{uuid.uuid4().hex[:10]}"
    typed["texts"].append(words)
    assert form.post("/t/demo/questions", data={"text": words, "client_msg_id": uuid.uuid4().hex}).status_code == 303
    typed["client_ids"].append(audience_ids.verify(app.config["SECRET_KEY"],
                                                   form.get_cookie(audience_ids.COOKIE).value))

    bad = from_address(app, address)
    assert bad.post("/login", data={"username": "mod", "password": "falsch-falsch"}).status_code == 401
    staff = from_address(app, address)
    assert staff.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    moderator = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=staff)
    for qid in ids:
        assert moderator.emit("approve", {"question_id": qid}, namespace="/moderator", callback=True)["ok"]
    edited = f"Bearbeitet-{uuid.uuid4().hex[:10]}"
    typed["texts"].append(edited)
    assert moderator.emit("edit", {"question_id": ids[0], "text": edited, "version": 2},
                          namespace="/moderator", callback=True)["ok"]
    assert moderator.emit("upvote", {"question_id": ids[1]}, namespace="/moderator", callback=True)["ok"]
    for audience in sockets:
        for qid in ids:
            assert audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)["ok"]
    assert moderator.emit("merge", {"question_id": ids[2], "into_id": ids[1]}, namespace="/moderator",
                          callback=True)["ok"]
    assert staff.post("/logout").status_code == 303
    return typed


def test_no_address_and_no_raw_client_id_in_the_database(app, seeded, login):
    with app.app_context():
        accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        db.session.commit()
    typed = a_round(app, login, ADDRESS)
    typed6 = a_round(app, login, ADDRESS6)
    values = every_value(app)
    assert any(t in values for t in typed["texts"]), "the round stored nothing: the check would be empty"
    for value in values:
        for needle in (ADDRESS, ADDRESS6, ADDRESS6.replace("::", ":0:"), "203.0.113"):
            assert needle not in value, (needle, value)
        for client_id in typed["client_ids"] + typed6["client_ids"]:
            assert client_id not in value and client_id.replace("-", "") not in value, value
    with app.app_context():
        stored = set(db.session.scalars(select(Question.client_hash))) | set(db.session.scalars(select(Vote.client_hash)))
    hashes = {question_service.client_hash(SECRET, c) for c in typed["client_ids"] + typed6["client_ids"]}
    assert stored == hashes
    # keyed: without SECRET_KEY nobody gets from a known id to its rows (plain hashes could be tried)
    ids = typed["client_ids"] + typed6["client_ids"]
    unkeyed = {f(c.encode()).hexdigest() for c in ids for f in (hashlib.sha256, hashlib.sha1, hashlib.md5)}
    other_key = {question_service.client_hash("another-secret", c) for c in ids}
    assert not stored & (unkeyed | other_key)


def test_login_session_cookie_carries_no_address(app, seeded, moderator_user):
    client = from_address(app, ADDRESS)
    assert client.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    with client.session_transaction() as session:
        content = dict(session)
    assert "_id" not in content, "Flask-Login's session protection keeps a hash of the address"
    assert ADDRESS not in repr(content)
    other = from_address(app, "198.51.100.20")
    other.set_cookie("session", client.get_cookie("session").value)
    assert other.get("/moderate/").status_code == 200, "a session must not depend on the address"


def test_logs_hold_no_addresses_texts_names_or_client_ids(app, seeded, login, logs):
    with app.app_context():
        accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        db.session.commit()
    typed = a_round(app, login, ADDRESS)
    audience = socketio.test_client(app, namespace="/audience", flask_test_client=from_address(app, ADDRESS),
                                    auth={"talk": "demo", "client_id": signed_id(app)})
    for _ in range(6):
        submit(audience, "Zu oft gefragt " + uuid.uuid4().hex)
    refused_text = "Abgewiesen-" + uuid.uuid4().hex
    assert submit(audience, refused_text)["error"] == "rate_limited"
    from_address(app, ADDRESS).get("/t/gibt-es-nicht")
    output = logs()
    assert '"question submitted"' in output and '"moderator action"' in output and '"event refused"' in output
    for needle in [ADDRESS, refused_text, "Zu oft gefragt"] + typed["texts"] + typed["names"] + typed["client_ids"]:
        assert needle not in output, needle


@pytest.mark.postgres
def test_a_database_error_logs_no_question_text(app, audience_client, logs, monkeypatch):
    """An unexpected failure is logged with its traceback; the statement's values stay out."""
    def failing(session, talk, msg_ids, pairs):
        for _client, body in pairs:
            session.execute(text("SELECT id FROM no_such_table WHERE body = :body"), {"body": body})

    monkeypatch.setattr(question_service, "_known", failing)
    secret = "Geheimer Fragetext " + uuid.uuid4().hex
    ack = submit(audience_client(), secret)
    assert ack["ok"] is False and ack["error"] == "internal"
    output = logs()
    assert "event failed" in output and "no_such_table" in output
    assert secret not in output
    with app.app_context():
        assert db.session.scalar(select(Question.id)) is None


def make_talk(session, slug: str, ended: timedelta) -> Talk:
    end = utcnow() - ended
    talk = Talk(slug=slug, title=f"Vortrag {slug}", starts_at=end - timedelta(minutes=90), ends_at=end,
                podium_token=talk_service.new_podium_token(), seq=0)
    session.add(talk)
    session.flush()
    return talk


def fill(session, talk: Talk, user: User, marker: str) -> list[int]:
    at = talk.starts_at + timedelta(minutes=5)
    ids = []
    for i in range(3):
        change = question_service.submit(session, talk, text=f"{marker} Frage {i}", name=f"{marker} Name",
                                         client=f"client-{marker}-{i}", client_msg_id=uuid.uuid4().hex, now=at)
        ids.append(change.question.id)
    for qid in ids[:2]:
        question_service.transition(session, talk, user, "approve", qid, now=at)
    question_service.edit(session, talk, user, ids[0], f"{marker} bearbeitet", 2)
    question_service.merge(session, talk, user, ids[2], ids[1])
    for i in range(4):
        question_service.set_vote(session, talk, f"voter-{marker}-{i}", ids[0], 1)
    question_service.set_upvote(session, talk, user, ids[1])
    return ids


def cli(app, *args: str):
    """As `flask --app wsgi ...`: FlaskGroup pushes the app context, app.cli alone does not."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


@pytest.mark.postgres
def test_purge_deletes_old_talks_content_and_keeps_newer_and_the_audit(app, seeded):
    with app.app_context():
        user = accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        old = make_talk(db.session, "alt", timedelta(days=100))
        recent = make_talk(db.session, "neu", timedelta(days=10))
        fill(db.session, old, user, "ALTMARKE")
        kept = fill(db.session, recent, user, "NEUMARKE")
        old_id, recent_id = old.id, recent.id
        audit_before = {t: db.session.scalar(select(db.func.count()).select_from(AuditEntry)
                                             .where(AuditEntry.talk_id == t)) for t in (old_id, recent_id)}
        db.session.commit()

    result = cli(app, "purge", "--older-than", "90d")
    assert result.exit_code == 0, result.output
    assert "3 Fragen" in result.output and "4 Stimmen" in result.output

    with app.app_context():
        s = db.session
        assert s.get(Talk, old_id) is not None, "the talk itself stays listed"
        assert s.scalars(select(Question).where(Question.talk_id == old_id)).all() == []
        assert [q.id for q in s.scalars(select(Question).where(Question.talk_id == recent_id)
                                        .order_by(Question.id))] == kept
        old_audit = s.scalars(select(AuditEntry).where(AuditEntry.talk_id == old_id)).all()
        assert len(old_audit) == audit_before[old_id]
        assert all(t.before is None and t.after is None and t.question_id is None for t in old_audit)
        assert {t.action for t in old_audit} == {"approve", "edit", "merge"}
        assert all(t.username == "mod" and t.at is not None for t in old_audit)
        recent_audit = s.scalars(select(AuditEntry).where(AuditEntry.talk_id == recent_id)).all()
        assert len(recent_audit) == audit_before[recent_id]
        assert any(t.before == "NEUMARKE Frage 0" for t in recent_audit)
        assert s.scalar(select(db.func.count()).select_from(Vote)) == 4
        assert s.scalar(select(db.func.count()).select_from(Upvote)) == 1
        assert s.scalar(select(Talk).where(Talk.slug == "demo")) is not None
    values = every_value(app)
    assert not [v for v in values if "ALTMARKE" in v or "client-ALTMARKE" in v or "voter-ALTMARKE" in v]
    assert any("NEUMARKE" in v for v in values)

    again = cli(app, "purge", "--older-than", "90d")
    assert again.exit_code == 0 and "0 Fragen" in again.output
    for wrong in (["--older-than", "90"], ["--older-than", "-5d"], ["--older-than", "90 d; DROP"], []):
        assert cli(app, "purge", *wrong).exit_code != 0, wrong
    with app.app_context():
        assert len(db.session.scalars(select(Question).where(Question.talk_id == recent_id)).all()) == 3


def test_privacy_notice_says_what_is_stored_and_how_long(app, seeded):
    page = app.test_client().get("/datenschutz")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for phrase in ("Was gespeichert wird", "90 Tage", "IP-Adresse", "Hash", "Name", "Stimmen", "Cookie", "DSGVO"):
        assert phrase in body, phrase
    english = app.test_client().get("/datenschutz?lang=en").get_data(as_text=True)
    assert "90 days" in english
    assert 'href="/datenschutz"' in app.test_client().get("/").get_data(as_text=True)


def test_imprint_and_contact_are_configurable(make_app):
    plain = make_app()
    for path in ("/", "/datenschutz"):
        assert "Impressum" not in plain.test_client().get(path).get_data(as_text=True)
    app = make_app(IMPRINT_URL="https://example.org/impressum", CONTACT_EMAIL="datenschutz@example.org")
    client = app.test_client()
    for path in ("/", "/datenschutz", "/login"):
        body = client.get(path).get_data(as_text=True)
        assert '<a href="https://example.org/impressum">Impressum</a>' in body, path
    assert "mailto:datenschutz@example.org" in client.get("/datenschutz").get_data(as_text=True)
