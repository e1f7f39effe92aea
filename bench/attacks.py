"""Attacks on the transport of a real server process (issue 21), with the figures that matter.

    .venv/bin/python bench/attacks.py [--mode eventlet|gevent|threading|all] [--seconds 10]

Each attack runs from one client for `--seconds` while a prober measures `/healthz` (p95) and
another audience client's round trip (p95), and the server's RSS is read before, at its peak
during, and after the attacker is gone, once it has stopped moving (at most 3 s). The attacks:

* flood: masked Engine.IO pongs padded to 16 KiB, at 5 MB/s (eventlet unmasked them in Python)
* fragments: a text message that never ends (16 KiB continuation frames, as fast as it goes)
* attachments: a binary event announcing 9,999,999,999 attachments, then binary frames
* deflate: a compressed message that never ends (if the server agreed to permessage-deflate)

Targets (issue 21): /healthz p95 < 200 ms, others' round trip p95 < 250 ms, RSS + < 50 MB, given back.
Only loopback is ever a target.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.transport import unmask
from tests.server import Server

KINDS = ("flood", "fragments", "attachments", "deflate")
FRAME = 16 * 1024


def frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A client frame: masked, as RFC 6455 requires."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + unmask(payload, mask)


class RawSocket:
    """One WebSocket by hand: the Engine.IO handshake, /audience joined, then whatever we send."""

    def __init__(self, port: int, origin: str, client_id: str, deflate: bool = False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        extensions = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n{extensions}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        self.response, _, _rest = head.partition(b"\r\n\r\n")
        if b" 101 " not in self.response.split(b"\r\n", 1)[0]:
            raise ConnectionError(self.response[:200])
        self.deflated = b"permessage-deflate" in self.response.lower()
        self.sock.sendall(frame(1, b"40/audience," + json.dumps({"talk": "demo", "client_id": client_id}).encode()))
        self.sock.settimeout(None)
        self.eof = threading.Event()  # the server closed its end
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                if not self.sock.recv(65536):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self.eof.set()

    def send(self, data: bytes, timeout: float | None = None) -> bool:
        """Send all of data: False once the server has closed the connection. With a timeout, a
        send the server does not take within it raises TimeoutError."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
            return True
        except TimeoutError:
            raise
        except OSError:
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def attacker(kind: str, port: int, origin: str, client_id: str, seconds: float, rate: float,
             stop: threading.Event) -> dict:
    """Run one attack until `seconds` pass, `stop` is set, or the server closes on us."""
    sent = 0
    raw = RawSocket(port, origin, client_id, deflate=kind == "deflate")
    start = time.monotonic()
    frames: list[bytes]
    if kind == "flood":
        frames = [frame(1, b"3" + b" " * (FRAME - 1))]
    elif kind == "fragments":
        # each frame well under the 16 KiB limit: only the message as a whole is over it
        raw.send(frame(1, b"42/audience,[\"submit\",{\"text\":\"" + b"x" * (FRAME // 4), fin=False))
        frames = [frame(0, b"x" * (FRAME // 4), fin=False)]
    elif kind == "attachments":
        raw.send(frame(1, b'459999999999-/audience,["submit",{"_placeholder":true,"num":0}]'))
        frames = [frame(2, b"\x00" * FRAME)]
    else:
        if not raw.deflated:
            raw.close()
            return {"kind": kind, "sent": 0, "note": "no permessage-deflate agreed: nothing to attack"}
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = comp.compress(b"42/audience," + b" " * (1 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH)
        raw.send(frame(1, first, fin=False, rsv1=True))
        body = comp.compress(b" " * (4 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH)
        frames = [frame(0, body, fin=False)]
    closed = stalled = False
    while not stop.is_set() and time.monotonic() - start < seconds:
        for data in frames:
            # A server that closed its end may leave a full window behind: the kernel then probes
            # for minutes before the send fails. The attack ends on time either way.
            try:
                if not raw.send(data, timeout=max(0.05, start + seconds - time.monotonic())):
                    closed = True
                    break
            except TimeoutError:
                stalled = True
                break
            sent += len(data)
        if closed or stalled:
            break
        if rate:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    closed = closed or raw.eof.is_set()
    raw.close()
    return {"kind": kind, "sent": sent, "seconds": round(time.monotonic() - start, 1), "closed_by_server": closed}


def rss(pid: int) -> int:
    """Resident memory of the server process and its children, bytes."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def settled_rss(pid: int, within: float) -> int:
    """rss() once it has stopped moving (two readings 0.25 s apart within 1 MB): the memory the
    server keeps after an attack, when it has finished what the attack left it; at most `within` s."""
    deadline = time.monotonic() + within
    last = rss(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = rss(pid)
        if abs(now - last) < 1e6:
            return now
        last = now
    return last


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]


@dataclass
class Figures:
    kind: str
    mode: str
    healthz_p95_ms: float = 0.0
    healthz_max_ms: float = 0.0
    round_trip_p95_ms: float = 0.0
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    attack: dict = field(default_factory=dict)
    other_disconnected: bool = False

    def line(self) -> str:
        sent = self.attack.get("sent", 0) / 1e6
        return (f"{self.mode:9} {self.kind:11} healthz p95 {self.healthz_p95_ms:7.1f} ms "
                f"(max {self.healthz_max_ms:7.1f})  others' round trip p95 {self.round_trip_p95_ms:7.1f} ms  "
                f"RSS {self.rss_before_mb:6.1f} → {self.rss_peak_mb:6.1f} → {self.rss_after_mb:6.1f} MB  "
                f"sent {sent:6.1f} MB"
                f"{'  closed by server' if self.attack.get('closed_by_server') else ''}"
                f"{'  OTHER CLIENT DROPPED' if self.other_disconnected else ''} {self.attack.get('note', '')}")


def run(srv: Server, kind: str, seconds: float = 10, rate: float = 5e6) -> Figures:
    """One attack against a running server, measured."""
    pid = srv.proc.pid
    other = srv.audience()
    assert other.wait_for(lambda n, d: n == "snapshot", 10)
    figures = Figures(kind, srv.async_mode, rss_before_mb=rss(pid) / 1e6)
    stop = threading.Event()
    health: list[float] = []
    trips: list[float] = []
    peak = [rss(pid)]

    def probe_health() -> None:
        session = requests.Session()
        while not stop.is_set():
            t = time.perf_counter()
            try:
                session.get(srv.url + "/healthz", timeout=30)
            except requests.RequestException:
                pass
            health.append((time.perf_counter() - t) * 1000)
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.05)

    def probe_trips() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            try:
                other.call("ping", {}, timeout=30)  # unknown event: answered `invalid` at once
            except Exception:  # a timeout is a figure too
                pass
            trips.append((time.perf_counter() - t) * 1000)
            time.sleep(0.05)

    probes = [threading.Thread(target=probe_health, daemon=True), threading.Thread(target=probe_trips, daemon=True)]
    for t in probes:
        t.start()
    time.sleep(0.5)
    figures.attack = attacker(kind, srv.port, srv.origin, srv.audience_id(), seconds,
                              rate if kind == "flood" else 0, stop)
    stop.set()
    for t in probes:
        t.join(35)
    figures.rss_after_mb = settled_rss(pid, within=3) / 1e6
    figures.rss_peak_mb = peak[0] / 1e6
    figures.healthz_p95_ms, figures.healthz_max_ms = p95(health), max(health, default=0)
    figures.round_trip_p95_ms = p95(trips)
    figures.other_disconnected = other.disconnects > 0
    other.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["eventlet", "gevent", "threading", "all"], default="all")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    print("load:", os.getloadavg())
    for mode in (["eventlet", "gevent", "threading"] if args.mode == "all" else [args.mode]):
        with Server(async_mode=mode) as srv:
            srv.prepare()
            srv.start()
            for kind in args.kinds.split(","):
                print(run(srv, kind, args.seconds).line(), flush=True)
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
