"""Against a real server process (flask --app wsgi serve) on a free port, over WebSocket only.

These cover what the in-process Socket.IO test client cannot: both async modes as they are
served, durability across SIGKILL, seq across restarts, a reconnect stampede, several
processes sharing Redis, and the Origin check of the real handshake.
"""
from __future__ import annotations

import collections
import contextlib
import subprocess
import threading
import time
import uuid

import pytest
import requests
import socketio

from tests.helpers import require_or_skip
from tests.server import (
    ROOT,
    fresh_snapshot,
    has_question,
    new_msg_id,
    ok,
    postgres_database,
    question_crosses,
    wait_until,
)

pytestmark = pytest.mark.server


def database(kind: str):
    """A context manager giving a database URL: None (SQLite copy) or a fresh PostgreSQL database."""
    if kind == "sqlite":
        return contextlib.nullcontext(None)
    return postgres_database(require_or_skip("TEST_DATABASE_URL", "PostgreSQL"))


def text_counts(snapshot: dict) -> collections.Counter:
    return collections.Counter(q["text"] for q in snapshot["questions"])


def seqs(client, names=("question", "seq", "talk")) -> list[int]:
    return [d["seq"] for _, n, d in list(client.events) if n in names and isinstance(d, dict)]


# -- 1. the whole flow in both async modes -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_question_flow_in_each_async_mode(make_server, mode):
    srv = make_server(async_mode=mode, via_cli=True).start()  # through `flask --app wsgi serve`, as documented
    assert f"({mode})" in srv.log_text(), srv.log_tail()
    token = srv.podium_token()
    mod = srv.moderator(srv.login())
    author, other = srv.audience(), srv.audience()
    podium = srv.podium(token)
    for client in (mod, author, other, podium):
        assert client.wait_for(lambda n, d: n == "snapshot", 10), client.ns
    start = mod.seq
    # each view counts the changes it is told of: the audience two (approve, forward), the podium one
    told = {author: author.seq + 2, other: other.seq + 2, podium: podium.seq + 1}

    text = f"Wie kommt die Kleinstadt ans Glasfasernetz? ({mode} {uuid.uuid4().hex[:6]})"
    ack = author.call("submit", {"text": text, "name": "Erika", "client_msg_id": new_msg_id()})
    assert ok(ack), ack
    qid = ack["question"]["id"]
    assert mod.wait_for(has_question(text, "pending", qid), 10), "moderator never saw the new question"
    assert author.wait_for(has_question(text, "pending", qid), 10), "the author never saw their own question"

    ack = mod.call("approve", {"question_id": qid})
    assert ok(ack) and ack["question"]["status"] == "approved", ack
    for client in (author, other):
        assert client.wait_for(has_question(text, "approved", qid), 10), "audience never saw the approval"
    assert not other.wait_for(has_question(text, "pending"), 0), "a pending question reached another listener"

    ack = mod.call("forward", {"question_id": qid})
    assert ok(ack) and ack["question"]["status"] == "forwarded", ack
    assert podium.wait_for(has_question(text, "forwarded", qid), 10), "podium never saw the forwarded question"
    assert not podium.wait_for(has_question(text, "approved"), 0), "podium saw a question before it was forwarded"

    assert mod.wait_state(lambda c: c.seq == start + 3, 10)
    assert seqs(mod) == [start + 1, start + 2, start + 3]
    for client, expected in told.items():
        assert client.wait_state(lambda c, n=expected: c.seq == n, 10), (client.ns, seqs(client))
        assert client.view()[qid] == mod.view()[qid] and mod.view()[qid][:2] == ("forwarded", text)


# -- 2. acknowledged means durable ---------------------------------------------------------------------
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_acknowledged_submissions_survive_sigkill(make_server, db):
    clients_n, per_client, kill_after = 24, 5, 40   # 5 per client: the per-client limit (per minute)
    with database(db) as url:
        srv = make_server(database_url=url).start()
        lock = threading.Lock()
        killed = threading.Event()
        acked: dict[str, dict] = {}
        sent: dict[str, tuple[str, str]] = {}      # msg id -> (client id, text)

        def on_ack(msg_id, window):
            def callback(answer=None):
                with lock:
                    acked[msg_id] = answer
                    if len(acked) >= kill_after and not killed.is_set():
                        srv.kill9()      # right here, on the ack that crossed the line
                        killed.set()
                window.release()
            return callback

        ids = [srv.audience_id() for _ in range(clients_n)]
        audience = [(cid, srv.audience(client_id=cid)) for cid in ids]

        def stream(cid, client, k):
            window = threading.Semaphore(2)         # at most two unacknowledged per client
            for i in range(per_client):
                while not window.acquire(timeout=0.1):
                    if killed.is_set():
                        return
                if killed.is_set():
                    return
                msg_id = new_msg_id()
                text = f"Frage {k}.{i}: Wie geht es weiter mit dem Ortskern? {msg_id[:8]}"
                with lock:
                    sent[msg_id] = (cid, text)
                try:
                    client.emit("submit", {"text": text, "client_msg_id": msg_id},
                                callback=on_ack(msg_id, window))
                except Exception:  # the connection went away under us: never sent
                    with lock:
                        sent.pop(msg_id, None)
                    return

        threads = [threading.Thread(target=stream, args=(cid, c, k)) for k, (cid, c) in enumerate(audience)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert killed.wait(30), f"only {len(acked)} acknowledgements before the stream ended"
        for _, client in audience:
            client.close()
        with lock:
            acked_now, sent_now = dict(acked), dict(sent)
        assert all(ok(a) for a in acked_now.values()), [a for a in acked_now.values() if not ok(a)][:3]
        in_flight = set(sent_now) - set(acked_now)
        assert in_flight, "the kill came after the stream had finished"

        srv.start()
        session = srv.login()
        stored = text_counts(fresh_snapshot(srv, "/moderator", session))
        by_id = {q["id"]: q for q in fresh_snapshot(srv, "/moderator", session)["questions"]}
        lost = [m for m in acked_now if stored[sent_now[m][1]] != 1]
        assert not lost, f"{len(lost)} of {len(acked_now)} acknowledged questions not stored exactly once"
        for m, answer in acked_now.items():
            assert by_id[answer["question"]["id"]]["text"] == sent_now[m][1]

        # Resend: the in-flight ones (maybe stored, maybe not) and a few acknowledged ones.
        by_client = collections.defaultdict(list)
        for m in list(in_flight) + list(acked_now)[:10]:
            by_client[sent_now[m][0]].append(m)
        for cid, msg_ids in by_client.items():
            client = srv.audience(client_id=cid)
            for m in msg_ids:
                answer = client.call("submit", {"text": sent_now[m][1], "client_msg_id": m})
                assert ok(answer), answer
                if m in acked_now:
                    assert answer["question"]["id"] == acked_now[m]["question"]["id"], (answer, acked_now[m])
            client.close()

        final = text_counts(fresh_snapshot(srv, "/moderator", session))
        expected = {text for _, text in sent_now.values()}
        assert {t: n for t, n in final.items() if t in expected and n != 1} == {}
        assert expected <= set(final), "a resent question is missing"
        assert sum(final.values()) == len(expected), "questions appeared that nobody sent"
        srv.close()


# -- 3. seq survives a restart -------------------------------------------------------------------------
def test_seq_continues_after_restart(make_server):
    srv = make_server().start()
    session = srv.login()
    mod, aud = srv.moderator(session), srv.audience()
    assert mod.wait_for(lambda n, d: n == "snapshot", 10)
    assert aud.wait_for(lambda n, d: n == "snapshot", 10)
    start, audience_start = mod.seq, aud.seq
    ack = aud.call("submit", {"text": "Gibt es Fördermittel für Coworking?", "client_msg_id": new_msg_id()})
    assert ok(ack), ack
    assert ok(mod.call("approve", {"question_id": ack["question"]["id"]}))
    assert mod.wait_state(lambda c: c.seq == start + 2, 10), seqs(mod)
    mod.close()
    aud.close()

    srv.restart(kill=True)
    mod = srv.moderator(session)
    ev = mod.wait_for(lambda n, d: n == "snapshot", 10)
    assert ev and ev[2]["seq"] == start + 2, ev and ev[2]["seq"]
    aud = srv.audience()
    ev = aud.wait_for(lambda n, d: n == "snapshot", 10)
    assert ev and ev[2]["seq"] == audience_start + 1, "the audience's number survives too (the approval)"
    ack = aud.call("submit", {"text": "Und wie steht es um den Nahverkehr?", "client_msg_id": new_msg_id()})
    assert ok(ack), ack
    ev = mod.wait_for(has_question("Und wie steht es um den Nahverkehr?"), 10)
    assert ev and ev[2]["seq"] == start + 3, ev
    ev = aud.wait_for(lambda n, d: n == "question", 10)
    assert ev and ev[2]["seq"] == audience_start + 1, "its own pending question, under the current number"


def test_a_second_server_on_a_taken_port_refuses_to_start(make_server):
    """eventlet listens with SO_REUSEPORT: a second server (a second `make run`) would have started
    beside the first, and the kernel would have given it half of the connections, without the
    first one's broadcasts."""
    first = make_server()
    first.start()
    second = subprocess.run(first.command(), cwd=ROOT, env=first.env, capture_output=True, text=True, timeout=60)
    assert second.returncode != 0
    assert f"127.0.0.1:{first.port} ist schon belegt" in second.stderr
    assert requests.get(first.url + "/healthz", timeout=5).ok


# -- 4. a reconnect stampede -----------------------------------------------------------------------------
@pytest.mark.timeout(900)
def test_200_clients_reconnect_through_a_restart(make_server):
    n_clients, n_questions = 200, 40
    srv = make_server().start()
    session = srv.login()
    mod = srv.moderator(session, reconnection=True)

    qids = []
    for k in range(n_questions // 5):          # 5 per client: the per-client limit
        submitter = srv.audience()
        for i in range(5):
            ack = submitter.call("submit", {"text": f"Frage {k}.{i} zur Innenstadt", "client_msg_id": new_msg_id()})
            assert ok(ack), ack
            qids.append(ack["question"]["id"])
        submitter.close()
    # a couple approved before anyone listens
    for qid in qids[:5]:
        assert ok(mod.call("approve", {"question_id": qid}))

    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(32) as pool:
        crowd = list(pool.map(lambda _: srv.audience(reconnection=True), range(n_clients)))
    assert all(c.wait_state(lambda c: c.snapshots >= 1, 15) for c in crowd)

    approved = []
    errors = []

    def approve_all():
        for qid in qids[5:]:
            for _attempt in range(10):
                # Reconnecting beside 200 others takes the moderator 9 s at a load of 6 on two
                # cores, and over 90 s at a load of 12: the bound is for "never".
                if not wait_until(lambda: mod.connected, 240):
                    errors.append(f"the moderator never reconnected (approving {qid})")
                    return
                try:
                    answer = mod.call("approve", {"question_id": qid}, timeout=30)
                except Exception:   # the server went away mid-call: approve again (it is idempotent)
                    time.sleep(0.5)
                    continue
                if ok(answer):
                    approved.append(qid)
                    break
                errors.append(answer)
                return
            else:
                errors.append(f"approve {qid} never got through")
                return
            time.sleep(0.03)

    approver = threading.Thread(target=approve_all)
    approver.start()
    assert wait_until(lambda: len(approved) >= 10, 20), "approvals did not start"
    srv.restart()                               # SIGTERM, then up again on the same port and database
    approver.join()  # every wait in it is bounded
    assert not errors, errors[:3]

    expected = {q["id"]: (q["status"], q["text"], q["version"]) for q in fresh_snapshot(srv)["questions"]}
    assert len(expected) == n_questions and all(v[0] == "approved" for v in expected.values())
    converged = wait_until(lambda: all(c.view() == expected for c in crowd), 30, 0.2)
    behind = [c for c in crowd if c.view() != expected]
    assert converged, (f"{len(behind)} of {n_clients} clients disagree with a fresh snapshot; e.g. "
                       f"{sorted(set(behind[0].view().items()) ^ set(expected.items()))[:4]}")
    assert all(c.connects >= 2 for c in crowd), "not every client went through a reconnect"
    assert not any(c.duplicate_ids for c in crowd)
    moderator_view = text_counts(fresh_snapshot(srv, "/moderator", session))
    assert sum(moderator_view.values()) == n_questions and set(moderator_view.values()) == {1}


# -- 5. several processes sharing Redis --------------------------------------------------------------
def test_two_processes_share_events_through_redis(make_server):
    redis_url = require_or_skip("TEST_REDIS_URL", "Redis")
    secret = "shared-" + uuid.uuid4().hex
    a = make_server(env={"REDIS_URL": redis_url}, secret_key=secret)
    b = make_server(database_url=a.database_url, prepare=False, env={"REDIS_URL": redis_url}, secret_key=secret)
    a.start()
    b.start()
    mod_b = b.moderator(b.login())
    aud_a, aud_b = a.audience(), b.audience()
    for client in (mod_b, aud_a, aud_b):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)

    question_crosses(aud_a, mod_b, [aud_a, aud_b], f"Kommt das Deutschlandticket aufs Land? {uuid.uuid4().hex[:6]}")


# -- 6. the Origin of the WebSocket handshake ---------------------------------------------------------------
def test_foreign_origin_is_refused(make_server):
    public = "http://fragen.example.org"
    srv = make_server(public_origin=public).start()
    for origin in ("http://evil.example", srv.url):
        with pytest.raises(socketio.exceptions.ConnectionError):
            srv.audience(origin=origin)
        with pytest.raises(socketio.exceptions.ConnectionError):
            srv.moderator(srv.login(), origin=origin)
    # the same handshake from the public origin gets through
    aud = srv.audience(origin=public)
    assert aud.wait_for(lambda n, d: n == "snapshot", 10)
    mod = srv.moderator(srv.login(), origin=public)
    assert mod.wait_for(lambda n, d: n == "snapshot", 10)


# -- 7. concurrent writers and a vote storm ----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_concurrent_writers_never_see_a_locked_database(make_server, mode, db):
    """Many people at once: every submission and vote acknowledged ok, none lost, and the
    moderators' screens converge on the stored counts through the coalesced `votes` batches."""
    with database(db) as url:
        srv = make_server(database_url=url, async_mode=mode).start()
        _concurrent_round(srv)
        srv.close()


def _concurrent_round(srv) -> None:
    session = srv.login()
    mod = srv.moderator(session)
    seed = srv.audience()
    target = seed.call("submit", {"text": "Wie wird der Marktplatz wieder lebendig?", "client_msg_id": new_msg_id()})
    assert ok(target), target
    target_id = target["question"]["id"]
    assert ok(mod.call("approve", {"question_id": target_id}))

    crowd = [srv.audience() for _ in range(24)]
    answers: list[object] = []
    lock = threading.Lock()

    def person(k: int, client) -> None:
        mine = [client.call("submit", {"text": f"Frage {k}.{i} zum Leerstand", "client_msg_id": new_msg_id()})
                for i in range(4)]
        mine.append(client.call("vote", {"question_id": target_id, "value": 1}))
        mine.append(client.call("vote", {"question_id": target_id, "value": 1}))   # idempotent
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=person, args=(k, c)) for k, c in enumerate(crowd)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    refused = [a for a in answers if not ok(a)]
    assert len(answers) == 24 * 6 and not refused, refused[:3]

    snapshot = fresh_snapshot(srv, "/moderator", session)
    texts = text_counts(snapshot)
    assert sum(n for t, n in texts.items() if "Leerstand" in t) == 24 * 4 and set(texts.values()) == {1}

    def votes_in_a_fresh_snapshot() -> int:
        return next(q["votes"] for q in fresh_snapshot(srv, "/moderator", session)["questions"] if q["id"] == target_id)
    # A snapshot's shared part is cached per seq for SNAPSHOT_CACHE_SECONDS (2 s; votes move no seq):
    # one taken during the storm may be served that long after it.
    assert wait_until(lambda: votes_in_a_fresh_snapshot() == 24, 10, 0.5), votes_in_a_fresh_snapshot()
    stored_votes = 24

    def moderator_sees_votes(live) -> bool:
        return live.state.get(target_id, {}).get("votes") == stored_votes
    assert mod.wait_state(moderator_sees_votes, 10), mod.state.get(target_id)
    batches = [d for _, n, d in list(mod.events) if n == "votes"]
    assert 1 <= len(batches) < 24, f"{len(batches)} vote broadcasts for 24 votes: not coalesced"
    assert "database is locked" not in srv.log_text() and "Traceback" not in srv.log_text()
