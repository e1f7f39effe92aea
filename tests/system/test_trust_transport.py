"""Issue 21, findings 1 and 2: one WebSocket froze the eventlet server (masked frames at 5 MB/s,
unmasked in pure Python), and one client filled memory without limit (a message that never ends,
a binary event announcing 9,999,999,999 attachments, a compressed message that never ends).

Each attack runs from bench/attacks.py against a real server process in both async modes, with
another audience client and /healthz probed throughout. The figures the issue asks for are the
bench's to print (bench/attacks.py); here the bounds hold with room for a loaded test machine:
the other client stays connected and answered, /healthz answers, the server's memory grows by
less than 50 MB and the attacker is cut off where the protocol allows it."""
from __future__ import annotations

import socket
import time

import pytest

from bench.attacks import Figures, RawSocket, frame, run
from tests.server import Server, each_at_once, returned

pytestmark = pytest.mark.server

# Before the fix: /healthz 20.5 s and other clients dropped (flood, eventlet); +800 MB (fragments,
# attachments, threading); +1.5 GB (deflate). The bench's targets are 200 ms / 250 ms p95.
LOOSE_MS = 1000
MEMORY_MB = 50


def closed_within(raw: RawSocket, seconds: float) -> bool:
    """Whether the server closed the connection (EOF) within `seconds`."""
    deadline = time.monotonic() + seconds
    raw.sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if raw.sock.recv(1, socket.MSG_PEEK) == b"":
                return True
        except TimeoutError:
            pass
        except OSError:
            return True
        time.sleep(0.05)
    return False


MODES = ["eventlet", "gevent", "threading"]


@pytest.fixture(scope="module")
def servers():
    """One server per async mode, started together, for every test of this module."""
    made = {mode: Server(async_mode=mode) for mode in MODES}
    try:
        for srv in made.values():
            srv.prepare()
        for found in each_at_once(lambda mode: made[mode].start(), made).values():
            returned(found)
        yield made
    finally:
        for srv in made.values():
            srv.close()


@pytest.fixture(params=MODES)
def server(request, servers):
    return servers[request.param]


@pytest.fixture(scope="module")
def attacked(servers):
    """figures(kind, mode): each kind of attack runs the first time a test asks for it, against the
    three servers at once. Each server is measured against the memory it had just before, and the
    attack's seconds pass once for the three modes instead of once for each."""
    done: dict[str, dict[str, object]] = {}

    def figures(kind: str, mode: str) -> Figures:
        if kind not in done:
            done[kind] = each_at_once(lambda m: run(servers[m], kind, seconds=4), servers)
        found = returned(done[kind][mode])
        assert isinstance(found, Figures)
        return found
    return figures


@pytest.mark.parametrize("kind", ["flood", "fragments", "attachments", "deflate"])
def test_one_hostile_websocket_leaves_the_server_to_everyone_else(server, attacked, kind):
    figures = attacked(kind, server.async_mode)
    print(figures.line())
    assert not figures.other_disconnected, figures.line()
    assert figures.healthz_p95_ms < LOOSE_MS and figures.round_trip_p95_ms < LOOSE_MS, figures.line()
    assert figures.rss_peak_mb - figures.rss_before_mb < MEMORY_MB, figures.line()
    assert figures.rss_after_mb - figures.rss_before_mb < MEMORY_MB, figures.line()
    if kind == "flood":  # read at TRANSPORT_BYTES_PER_SECOND: 5 MB/s could not be delivered
        assert figures.attack["sent"] < 4 * 5e6 / 2, figures.attack
    if kind in ("fragments", "attachments"):  # over the message limit; a binary event
        assert figures.attack["closed_by_server"], figures.attack
    if kind == "deflate":
        assert figures.attack.get("note", "").startswith("no permessage-deflate"), figures.attack


def test_compression_is_never_agreed(server):
    raw = RawSocket(server.port, server.origin, server.audience_id(), deflate=True)
    assert not raw.deflated and b"permessage-deflate" not in raw.response.lower()
    raw.close()


@pytest.mark.parametrize("payload", [
    b'459999999999-/audience,["submit",{"_placeholder":true,"num":0}]',  # a binary event
    b'461-/audience,0[{"_placeholder":true,"num":0}]',  # a binary ack
])
def test_a_binary_packet_ends_the_session(server, payload):
    raw = RawSocket(server.port, server.origin, server.audience_id())
    time.sleep(0.3)
    raw.send(frame(1, payload))
    assert closed_within(raw, 5)
    raw.close()


def test_a_binary_frame_ends_the_session_and_text_goes_on(server):
    fine = RawSocket(server.port, server.origin, server.audience_id())
    raw = RawSocket(server.port, server.origin, server.audience_id())
    time.sleep(0.3)
    raw.send(frame(2, b"\x00" * 100))
    assert closed_within(raw, 5)
    assert fine.send(frame(1, b'42/audience,0["ping",{}]')) and not closed_within(fine, 1)
    fine.close()
