"""The server at the socket, on real server processes in both async modes: WebSocket closes are
answered at once (threading runs on gunicorn, not Werkzeug's development server), and the
guards of issue 10: half-open requests time out, Engine.IO sessions without a namespace are
closed, and one address holds a bounded number of connections."""
from __future__ import annotations

import json
import socket
import tempfile
import time
import uuid
from collections.abc import Callable

import pytest
import requests
import websocket

from tests.server import Server, each_at_once, new_msg_id, ok, returned, wait_until

pytestmark = pytest.mark.server

MODES = ["eventlet", "gevent", "threading"]


def closed_within(sock: socket.socket, bound: float) -> float | None:
    """Seconds until the server closed sock (EOF or reset), or None if it stayed open for bound."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < bound:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
    return None


def half_open(port: int) -> socket.socket:
    """A request whose headers never finish: the line and one header, then silence."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def status_of_new_request(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n") or b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0]


def engineio_session(srv: Server) -> websocket.WebSocket | None:
    """A raw Engine.IO WebSocket session, or None if the server refused it with 503 (the cap)."""
    try:
        return websocket.create_connection(f"ws://127.0.0.1:{srv.port}/socket.io/?EIO=4&transport=websocket",
                                           origin=srv.origin, timeout=1)
    except websocket.WebSocketBadStatusException as refused:
        if refused.status_code == 503:
            return None
        raise


@pytest.fixture
def served(tmp_path):
    made: list[Server] = []

    def make(mode: str, **env: str) -> Server:
        server = Server(async_mode=mode, tmp=tempfile.mkdtemp(dir=tmp_path), env=env)
        made.append(server)
        server.prepare(user=False).start()
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture(scope="module")
def all_modes():
    """all_modes(body, served, mode): the first test of a body runs it for every mode at once, and
    each test then raises its own mode's failure, if any. These tests mostly wait for a server's
    timeouts: so they wait once for the three modes."""
    outcomes: dict[Callable, dict[str, object]] = {}

    def run(body: Callable[[Callable, str], None], served: Callable, mode: str) -> None:
        if body not in outcomes:
            outcomes[body] = each_at_once(lambda m: body(served, m), MODES)
        returned(outcomes[body][mode])
    return run


@pytest.mark.parametrize("mode", MODES)
def test_twenty_clients_close_in_under_a_second(served, all_modes, mode):
    all_modes(twenty_clients_close, served, mode)


def twenty_clients_close(served, mode):
    srv = served(mode)
    if mode == "threading":
        assert requests.get(srv.url + "/healthz", timeout=5).headers.get("Server", "").startswith("gunicorn")
    clients = [srv.audience() for _ in range(20)]
    assert all(c.wait_for(lambda n, d: n == "snapshot", 10) for c in clients)

    took = []
    for client in clients:  # one after another: each waits for the server's close frame
        t0 = time.perf_counter()
        client.close()
        took.append(time.perf_counter() - t0)

    # Werkzeug's server let every close wait ~2.4 s for a timeout (48 s for twenty); answered at
    # once they take milliseconds, with room here for a loaded test machine.
    assert max(took) < 1.0 and sum(took) < 5.0, f"closes took up to {max(took):.2f} s, {sum(took):.2f} s in all ({mode})"
    assert not any(c.connected for c in clients)
    assert "Bad HTTP" not in srv.log_text() and "Bad request" not in srv.log_text()


@pytest.mark.parametrize("mode", MODES)
def test_half_open_requests_idle_sessions_and_the_address_cap(served, all_modes, mode):
    all_modes(half_open_idle_and_capped, served, mode)


def half_open_idle_and_capped(served, mode):
    """HEADER_TIMEOUT, CONNECTIONS_PER_ADDRESS and NAMESPACE_CONNECT_TIMEOUT, small for the test."""
    srv = served(mode, RATE_LIMIT_EXEMPT="", HEADER_TIMEOUT="3", CONNECTIONS_PER_ADDRESS="4",
                 NAMESPACE_CONNECT_TIMEOUT="2")
    audience = srv.audience()  # one WebSocket: it must outlive every timeout below
    assert audience.wait_for(lambda n, d: n == "snapshot", 10)

    # The cap: three half-open requests and the WebSocket are four; a fifth is refused at once.
    stalled = [half_open(srv.port) for _ in range(3)]
    t0 = time.monotonic()
    assert status_of_new_request(srv.port) == b"HTTP/1.1 503 Service Unavailable"
    assert time.monotonic() - t0 < 2

    # Half-open requests are closed after the header timeout, and their places come back.
    for sock in stalled:
        took = closed_within(sock, 3 + 5)
        assert took is not None, f"a half-open request stayed open in {mode}"
        sock.close()
    assert wait_until(lambda: status_of_new_request(srv.port) == b"HTTP/1.1 200 OK", 5)

    # An Engine.IO session that answers its pings but never joins a namespace is closed long
    # before the ping timeout (20 s) would end it. (The server counts a place free when its
    # handler has finished with the connection, a moment after the client saw it closed: so
    # the first try may still meet the cap.)
    ws = wait_until(lambda: engineio_session(srv), 5)
    assert ws, "no place for a new connection after the half-open ones were closed"
    assert ws.recv().startswith("0")
    t0 = time.monotonic()
    closed = None
    while time.monotonic() - t0 < 10:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            closed = time.monotonic() - t0
            break
        if frame == "2":
            ws.send("3")
        elif frame in ("", "1") or frame is None:
            closed = time.monotonic() - t0
            break
    ws.close()
    assert closed is not None and closed < 2 + 3, f"idle Engine.IO session lived {closed} s in {mode}"

    # The WebSocket that joined its namespace outlived all of it and still works.
    assert audience.connected
    ack = audience.call("submit", {"text": f"Noch da? {uuid.uuid4().hex[:6]}", "client_msg_id": new_msg_id()})
    assert ok(ack), json.dumps(ack)
    assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
