"""Issue 23, questions by e-mail against a real IMAP server (Debian's Dovecot, started per test):
the reader in-process, a real server process delivering to the desk within seconds, a restart in
the middle of a mailbox, and two server processes reading one mailbox (each mail exactly once)."""
from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from moderation.extensions import db, socketio
from moderation.models import MailMessage, Question
from moderation.workers.mailbox import MailPoller, parse_url
from tests.mailserver import Dovecot, question_mail
from tests.server import postgres_database, wait_until
from tests.system.test_privacy import every_value


@pytest.fixture
def imap():
    with Dovecot() as server:
        yield server


def reader(app) -> tuple[MailPoller, IMAPClient, int]:
    poller = MailPoller(app, socketio, parse_url(app.config["IMAP_URL"]))
    client = poller.connect()
    uidvalidity = int(client.select_folder("INBOX")[b"UIDVALIDITY"])
    return poller, client, uidvalidity


def test_each_mail_becomes_one_question_or_waits_and_is_flagged_seen_never_deleted(make_app, imap, seeded):
    app = make_app(IMAP_URL=imap.url)
    imap.append(
        question_mail("Name: Erika\nWie kommt der Bus in die Dörfer?\n\nViele Grüße\nErika"),
        question_mail("Wird der Bahnhof barrierefrei?", to="fragen@example.org", subject="Frage zu demo"),
        question_mail("Kein Kürzel, keine Adresse?", to="fragen@example.org", subject="Hallo"),
    )
    poller, client, uidvalidity = reader(app)
    assert poller.take_new(client, uidvalidity) == 3
    with app.app_context():
        questions = [(q.text, q.name, q.source, q.status) for q in db.session.scalars(select(Question).order_by(Question.id))]
        waiting = [(m.reason, m.text) for m in db.session.scalars(select(MailMessage).where(MailMessage.status == "waiting"))]
    assert questions == [("Wie kommt der Bus in die Dörfer?", "Erika", "email", "pending"),
                         ("Wird der Bahnhof barrierefrei?", None, "email", "pending")]
    assert waiting == [("no_talk", "Kein Kürzel, keine Adresse?")]
    assert imap.seen() == imap.uids() == [1, 2, 3]  # flagged, all still there
    assert poller.take_new(client, uidvalidity) == 0
    client.logout()
    stored = " ".join(every_value(app)).lower()
    assert "erika@example.org" not in stored and "example.org" not in stored  # the sender only as a keyed hash


@pytest.mark.postgres
def test_a_reader_that_stopped_between_commit_and_flag_takes_nothing_twice(make_app, imap, seeded):
    imap.append(*(question_mail(f"Frage Nummer {i}?") for i in range(4)))
    app = make_app(IMAP_URL=imap.url)
    poller, client, uidvalidity = reader(app)
    raw = client.fetch([1, 2], ["BODY.PEEK[]"])
    assert poller.cursor(uidvalidity) == 0
    assert poller.take_one(uidvalidity, 1, raw[1][b"BODY[]"])  # committed, never flagged: the "crash"
    assert poller.take_one(uidvalidity, 2, raw[2][b"BODY[]"])
    client.logout()
    assert imap.seen() == []
    restarted = make_app(IMAP_URL=imap.url)  # a new process: a new app, the same database
    again, client, uidvalidity = reader(restarted)
    assert again.take_new(client, uidvalidity) == 2
    client.logout()
    with restarted.app_context():
        texts = Counter(db.session.scalars(select(Question.text)))
    assert texts == Counter({f"Frage Nummer {i}?": 1 for i in range(4)})
    assert imap.seen() == [3, 4]  # 1 and 2 stay unflagged: harmless, never taken twice


def test_the_same_mail_under_a_new_uidvalidity_is_not_taken_again(make_app, imap, seeded):
    app = make_app(IMAP_URL=imap.url)
    imap.append(question_mail("Einmalig?", message_id="<once@example.org>"))
    poller, client, uidvalidity = reader(app)
    poller.take_new(client, uidvalidity)
    assert poller.take_new(client, uidvalidity + 1) == 1  # recorded as a copy, not a question
    client.logout()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question)) == 1


def test_each_round_holds_the_lease_and_a_broken_connection_is_opened_again_in_the_next(make_app, imap, seeded):
    """The reader's rounds (workers/loop.Loop): a round takes what is new and waits with IDLE; a
    round whose connection broke fails (the loop logs it) and the next one connects again."""
    app = make_app(IMAP_URL=imap.url, IMAP_POLL_SECONDS=1)
    poller = MailPoller(app, socketio, parse_url(app.config["IMAP_URL"]))
    imap.append(question_mail("Erste Frage per Mail?"))
    assert poller._round() == 0  # IDLE: the next round follows at once
    first = poller.reading
    assert first is not None and first.idle and imap.seen() == [1]
    first.client.shutdown()  # the connection breaks
    imap.append(question_mail("Zweite Frage per Mail?"))
    with pytest.raises((OSError, IMAPClient.AbortError)):
        poller._round()
    assert poller.reading is None
    assert poller._round() == 0
    assert poller.reading is not None and poller.reading is not first
    assert imap.seen() == [1, 2]
    with app.app_context():
        assert db.session.scalars(select(Question.text).order_by(Question.id)).all() == [
            "Erste Frage per Mail?", "Zweite Frage per Mail?"]
    poller.close()


# --- real server processes ------------------------------------------------------------------------

def server_env(imap: Dovecot, **more: str) -> dict:
    return {"IMAP_URL": imap.url, "INTAKE_ADDRESS": "fragen@example.org", "IMAP_POLL_SECONDS": "2",
            "IMAP_LEASE_SECONDS": "4", **more}


@pytest.mark.server
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_a_mailed_question_reaches_the_desk_within_seconds(make_server, imap, async_mode):
    srv = make_server(async_mode=async_mode, env=server_env(imap, IMAP_POLL_SECONDS="10"))
    srv.start()
    moderator = srv.moderator(srv.login())
    assert wait_until(lambda: "Login: user=" in imap.log(), 15), srv.log_tail()  # the reader is connected
    imap.append(question_mail("Gibt es bald einen Rufbus am Abend?"))
    # IDLE: the mail is read when it arrives, well before the 10 s poll would come round
    arrived = moderator.wait_for(lambda name, data: name == "question" and data["question"].get("source") == "email",
                                 timeout=8)
    assert arrived, srv.log_tail()
    question = arrived[2]["question"]
    assert (question["text"], question["status"]) == ("Gibt es bald einen Rufbus am Abend?", "pending")
    audience = srv.audience()
    assert all(q.get("source") is None for q in audience.state.values())
    assert wait_until(lambda: imap.seen() == [1], 5)


def count_questions(path: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("select text from question")]


@pytest.mark.server
def test_a_restart_in_the_middle_of_a_mailbox_takes_each_mail_exactly_once(make_server, imap):
    total = 120
    imap.append(*(question_mail(f"Frage {i:03d} zum Bahnhof?", sender=f"person{i}@example.org") for i in range(total)))
    srv = make_server(env=server_env(imap))
    path = srv.database_url.removeprefix("sqlite:///")
    srv.start()
    assert wait_until(lambda: count_questions(path), 20), srv.log_tail()
    srv.kill9()
    at_kill = len(count_questions(path))
    assert 0 < at_kill < total, at_kill  # stopped in the middle
    srv.start()
    assert wait_until(lambda: len(count_questions(path)) >= total, 60), srv.log_tail()
    taken = Counter(count_questions(path))
    assert taken == Counter({f"Frage {i:03d} zum Bahnhof?": 1 for i in range(total)})
    assert wait_until(lambda: len(imap.seen()) >= total - 1, 10)  # at most the one being flagged at the kill
    assert len(imap.uids()) == total


@pytest.mark.server
@pytest.mark.postgres
def test_two_processes_read_one_mailbox_and_each_mail_becomes_one_question(make_server, imap):
    from tests.helpers import require_or_skip
    base = require_or_skip("TEST_DATABASE_URL", "PostgreSQL")
    with postgres_database(base, prefix="fr_mail") as url:
        first = make_server(database_url=url, env=server_env(imap))
        second = make_server(database_url=url, prepare=False, env=server_env(imap))
        second.env["SECRET_KEY"] = first.env["SECRET_KEY"]
        first.start()
        second.start()
        engine_url = "postgresql+psycopg://" + url.split("://", 1)[1]
        from sqlalchemy import create_engine, text
        engine = create_engine(engine_url)

        def texts() -> list[str]:
            with engine.connect() as conn:
                return [row[0] for row in conn.execute(text("select text from question"))]

        def holder() -> str | None:
            with engine.connect() as conn:
                return conn.execute(text("select holder from worker_lease where name = 'mailbox'")).scalar()

        imap.append(*(question_mail(f"Erste Welle {i:02d}?", sender=f"a{i}@example.org") for i in range(40)))
        assert wait_until(lambda: len(texts()) >= 40, 30), first.log_tail() + second.log_tail()
        reader = first if f":{first.pid}:" in (holder() or "") else second
        other = second if reader is first else first
        imap.append(*(question_mail(f"Zweite Welle {i:02d}?", sender=f"b{i}@example.org") for i in range(40)))
        wait_until(lambda: len(texts()) > 40, 10)
        reader.kill9()  # the other process takes the lease over once it lapses
        assert wait_until(lambda: len(texts()) >= 80, 40), other.log_tail()
        assert wait_until(lambda: f":{other.pid}:" in (holder() or ""), 10)
        counted = Counter(texts())
        assert len(counted) == 80 and set(counted.values()) == {1}
        engine.dispose()
