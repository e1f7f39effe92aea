"""What one approval costs the server in a busy talk, in process:
.venv/bin/python bench/approval.py [--questions 600] [--approvals 60] [--postgres URL]

A talk holds N questions (the series fixture's, varied); one moderator screen approves 60 of them
one after another through Flask-SocketIO's test client. Printed per approval: the CPU of the
moderator's event (its transaction, the payloads, the broadcast handed to the server, the
answer) and of the similar worker's round after it, with the topic map drawn whenever the round
finds it due (as when TOPICS_SECONDS have passed). CPU time of this process only: the database
server's own work on PostgreSQL is not in it. Also printed: the wall-clock time from the event to
its broadcast (the moderator's transaction with its round trips and commit: what an approval adds
to a fan-out before its first socket is sent to), and the SQL statements the event sends before
its commit, which do not depend on the machine. Asserts nothing; bench/RESULTS.md says what
the figures were before and after a change.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("ASYNC_MODE", "threading")  # the test client, in this process: no green hub
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from similar_corpus import series_questions  # noqa: E402

PASSWORD = "Ein-langes-Passwort-2026"


def spread(seconds: list[float]) -> str:
    values = sorted(s * 1000 for s in seconds)
    return f"median {statistics.median(values):.1f} ms, p90 {values[int(0.9 * len(values)) - 1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--approvals", type=int, default=60)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"),
                        help="a PostgreSQL URL: a fresh database next to it (default TEST_DATABASE_URL); "
                             "empty: SQLite only")
    args = parser.parse_args()
    urls = {"SQLite": None}
    if args.postgres:
        urls["PostgreSQL"] = args.postgres
    for label, base in urls.items():
        with ExitStack() as stack:
            if base is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                url = f"sqlite:///{folder}/approval.db"
            else:
                from server import postgres_database
                url = "postgresql+psycopg://" + stack.enter_context(
                    postgres_database(base, prefix="bench_approval")).split("://", 1)[1]
            measure(label, url, args)


def measure(label: str, url: str, args: argparse.Namespace) -> None:
    import sqlalchemy.event
    from flask_migrate import upgrade

    from moderation import create_app
    from moderation.extensions import db, socketio
    from moderation.readmodel import publish
    from moderation.services import accounts, questions, talks

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SIMILAR_DELAY_SECONDS": 0, "RATE_LIMIT_EXEMPT": ["127.0.0.1"]})
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        talks.seed(db.session, now)
        accounts.create_or_update(db.session, "bench", PASSWORD, "admin")
        talk = talks.by_slug(db.session, "demo")
        ids = []
        for i, text in enumerate(series_questions(args.questions)):
            asked = questions.submit(db.session, talk, text=text, name=None, client=f"bench-{i}",
                                     client_msg_id=uuid.uuid4().hex, now=now).question
            assert asked is not None
            ids.append(asked.id)
        db.session.commit()
    http = app.test_client()
    http.post("/login", data={"username": "bench", "password": PASSWORD})
    moderator = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=http)
    if not moderator.is_connected("/moderator"):
        raise SystemExit("the moderator screen did not connect")
    worker = app.extensions["similar_worker"]
    while worker.backlog:  # the suggestions of the questions asked before the screen connected
        worker.flush()
    worker.delay, worker.topic_seconds = 0.05, 0.0  # rounds called here, the map drawn whenever due
    worker.loop.start = lambda: False
    event, rounds, statements, to_broadcast = [], [], [], []
    sent_at: list[float] = []
    send = publish.Outbox.send

    def timed_send(box: publish.Outbox) -> None:
        sent_at.append(time.perf_counter())
        send(box)

    publish.Outbox.send = timed_send  # type: ignore[method-assign]
    counted = [0]

    def count(*_args: object) -> None:
        counted[0] += 1

    with app.app_context():
        engine = db.engine
    for qid in ids[20:20 + args.approvals]:
        counted[0] = 0
        sqlalchemy.event.listen(engine, "before_cursor_execute", count)
        sent_at.clear()
        started, wall = time.process_time(), time.perf_counter()
        ack = moderator.emit("approve", {"question_id": qid}, namespace="/moderator", callback=True)
        acted = time.process_time()
        to_broadcast.append(sent_at[0] - wall)
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)
        statements.append(counted[0])
        worker.flush()
        event.append(acted - started)
        rounds.append(time.process_time() - acted)
        if not ack.get("ok"):
            raise SystemExit(f"approval refused: {ack}")
        moderator.get_received("/moderator")
    print(f"{label}, {args.questions} questions, {len(event)} approvals, load {os.getloadavg()[0]:.1f}:")
    print(f"  the moderator's event, CPU: {spread(event)}; statements: {statistics.median(statements):.0f}"
          " (median; the commit not counted)")
    print(f"  from the event to its broadcast, wall clock: {spread(to_broadcast)}")
    print(f"  the similar worker's round after it, CPU: {spread(rounds)}")
    moderator.disconnect(namespace="/moderator")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
