"""The deployment in deploy/, on real parts: Debian's nginx with deploy/nginx-fragerunde.conf in
front of two server processes that share events through Redis. Clients come from different
loopback addresses (127.0.0.x), so nginx's `hash $remote_addr` sends them to different
processes, over long-polling and WebSocket."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid

import pytest
import requests

from tests.helpers import IN_CI, require_or_skip
from tests.server import (
    NGINX,
    Live,
    Nginx,
    Server,
    free_port,
    fresh_snapshot,
    has_question,
    login,
    ok,
    postgres_database,
    question_crosses,
    session_from,
    through,
    wait_until,
    websocket_from,
)

pytestmark = pytest.mark.server


def nginx_or_skip() -> None:
    if not os.access(NGINX, os.X_OK):
        if IN_CI:
            pytest.fail("nginx is not installed in CI (.ci/run installs it)")
        pytest.skip("nginx not installed")


@pytest.fixture(params=[("eventlet", "postgresql"), ("gevent", "postgresql"), ("threading", "sqlite")],
                ids=lambda p: "-".join(p))
def deployment(request, tmp_path):
    """nginx in front of two processes over Redis and one database: the production setup
    (eventlet or gevent, PostgreSQL), and threading on one SQLite file."""
    nginx_or_skip()
    redis_url = require_or_skip("TEST_REDIS_URL", "Redis")
    mode, database = request.param
    with contextlib.ExitStack() as stack:
        database_url = None
        if database == "postgresql":
            base = require_or_skip("TEST_DATABASE_URL", "PostgreSQL")
            database_url = stack.enter_context(postgres_database(base, prefix="test_deploy"))
        yield from _deployment(tmp_path, redis_url, mode, database_url)


def _deployment(tmp_path, redis_url: str, mode: str, database_url: str | None):
    ports = (free_port(), free_port())
    (tmp_path / "nginx").mkdir()
    front = Nginx(tmp_path / "nginx", ports)
    secret = "deploy-" + uuid.uuid4().hex
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": "deploy-" + uuid.uuid4().hex[:8],
           "RATE_LIMIT_EXEMPT": "127.0.0.1", "ASYNC_MODE": mode}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Server(tmp=str(tmp_path / "a"), port=ports[0], public_origin=front.url, secret_key=secret, env=env,
               database_url=database_url)
    b = Server(tmp=str(tmp_path / "b"), port=ports[1], public_origin=front.url, secret_key=secret, env=env,
               database_url=a.database_url)
    a.user = b.user = "deploy_" + uuid.uuid4().hex[:8]
    b.password = a.password
    try:
        a.prepare()
        a.start()
        b.start()
        front.start()
        yield front, a, b
    finally:
        front.stop()
        for server in (a, b):
            server.close()
        shutil.rmtree(tmp_path / "nginx", ignore_errors=True)


def sources_per_process(front: Nginx, a: Server, b: Server) -> dict[str, list[str]]:
    """Loopback source addresses grouped by the process nginx hashes them to."""
    found: dict[str, list[str]] = {f"127.0.0.1:{a.port}": [], f"127.0.0.1:{b.port}": []}
    for i in range(2, 60):
        source = f"127.0.0.{i}"
        found[front.upstream_of(source)].append(source)
        if all(len(v) >= 3 for v in found.values()):
            break
    assert all(found.values()), f"nginx sent every address to one process: {found}"
    return {"a": found[f"127.0.0.1:{a.port}"], "b": found[f"127.0.0.1:{b.port}"]}


def test_nginx_in_front_of_two_processes(deployment):
    front, a, b = deployment
    sources = sources_per_process(front, a, b)
    src_a, src_b = sources["a"][0], sources["b"][0]

    # A moderator on B (WebSocket), and on A; an audience on A over long-polling only.
    mod_b = Live(through(front, src_b, b), "/moderator", {"talk": "demo"}, cookies=cookie(login_from(front, src_b, b)),
                 websocket_options=websocket_from(front, src_b))
    mod_a = Live(through(front, src_a, a), "/moderator", {"talk": "demo"}, cookies=cookie(login_from(front, src_a, a)),
                 websocket_options=websocket_from(front, src_a))
    polling = Live(through(front, src_a, a), "/audience", {"talk": "demo", "client_id": str(uuid.uuid4())},
                   transports=("polling",), http_session=session_from(src_a))
    for client in (mod_a, mod_b, polling):
        assert client.wait_for(lambda n, d: n == "snapshot", 15), "no snapshot through nginx"
    assert polling.sio.transport() == "polling"
    assert re.search(rf"^{re.escape(src_a)} 127.0.0.1:{a.port} /socket.io/\S*transport=polling", front.access_log(), re.M)

    # A question sent through A reaches the moderator on B exactly once.
    text = f"Wie kommt das Glasfasernetz in die Kleinstadt? {uuid.uuid4().hex[:6]}"
    qid = question_crosses(polling, mod_b, [polling, mod_a], text)
    pending = [d for _, n, d in list(mod_b.events) if n == "question" and has_question(text, "pending", qid)(n, d)]
    assert len(pending) == 1, f"the moderator on B got the question {len(pending)} times"

    # A vote storm through nginx, from both processes' sides at once, converges everywhere.
    voters = []
    for k in range(40):
        source = sources["a" if k % 2 else "b"][k // 2 % len(sources["a" if k % 2 else "b"])]
        voters.append(Live(through(front, source, a), "/audience", {"talk": "demo", "client_id": str(uuid.uuid4())},
                           websocket_options=websocket_from(front, source)))
    answers: list[object] = []
    lock = threading.Lock()

    def vote(client: Live) -> None:
        answer = client.call("vote", {"question_id": qid, "value": 1})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=vote, args=(c,)) for c in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 40 and all(ok(x) for x in answers), [x for x in answers if not ok(x)][:3]

    def sees_all(live: Live) -> bool:
        return live.state.get(qid, {}).get("votes") == 40
    for client in (mod_a, mod_b, polling):
        assert client.wait_state(sees_all, 10), (client.ns, client.state.get(qid))
    stored = fresh_snapshot(a, "/moderator", a.login())
    assert next(q["votes"] for q in stored["questions"] if q["id"] == qid) == 40
    for server in (a, b):
        assert "Traceback" not in server.log_text(), server.log_tail()

    # nginx logs a WebSocket when it ends: the moderator's went to B, upgraded (101).
    mod_b.close()
    assert wait_until(lambda: re.search(rf"^{re.escape(src_b)} 127.0.0.1:{b.port} /socket.io/\S*transport=websocket\S* 101$",
                                        front.access_log(), re.M), 5), front.access_log()[-1500:]


def login_from(front: Nginx, source: str, server: Server) -> requests.Session:
    """Log in through nginx from this source address (the login form's session cookie)."""
    return login(through(front, source, server), session=session_from(source))


def cookie(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)
