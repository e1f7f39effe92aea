"""Many light Socket.IO audience connections: a raw WebSocket each, no threads per connection.

python-socketio's Client costs two or three threads per connection; for a capacity figure
of the server that would mostly measure the client. Here the Engine.IO/Socket.IO handshake
is done by hand (EIO=4, WebSocket only) by a small pool of connector threads, and one
poller thread answers pings and watches every connection for a marker text.
"""
from __future__ import annotations

import contextlib
import json
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import websocket


class RawAudience:
    def __init__(self, port: int, origin: str, auth: dict, timeout: float = 10, source: str | None = None):
        """`source`: the loopback address to connect from (nginx's `hash $remote_addr` spreads
        clients over its processes by it)."""
        self.ws = websocket.WebSocket()
        options = {}
        if source is not None:
            options["socket"] = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                                         source_address=(source, 0))
        self.ws.connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                        origin=origin, timeout=timeout, **options)
        opened = self.ws.recv()
        if not opened.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opened[:80]!r}")
        self.ws.send("40/audience," + json.dumps(auth))
        connected = snapshot = False
        while not (connected and snapshot):
            msg = self.ws.recv()
            if msg == "2":
                self.ws.send("3")
            elif msg.startswith("40/audience"):
                connected = True
            elif msg.startswith("44/audience"):
                raise ConnectionRefusedError(msg[:120])
            elif msg.startswith('42/audience,["snapshot"'):
                snapshot = True
        self.seen_at: float | None = None
        self.next_ack = 0

    def submit(self, text: str, msg_id: str) -> None:
        """Send a submit event asking for an acknowledgement (the Crowd's poller collects it)."""
        self.send("submit", {"text": text, "client_msg_id": msg_id})

    def vote(self, question_id: int) -> None:
        self.send("vote", {"question_id": question_id, "value": 1})

    def send(self, event: str, data: dict) -> None:
        payload = json.dumps([event, data], ensure_ascii=False)
        self.ws.send(f"42/audience,{self.next_ack}{payload}")
        self.next_ack += 1

    def fileno(self) -> int:
        return self.ws.sock.fileno()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.shutdown()


class Crowd:
    """Connect up to `target` audience clients within `budget` seconds; keep them alive."""

    def __init__(self, port: int, origin: str, audience_id: Callable[[str], str], slug: str = "demo",
                 sources: list[str] | None = None):
        """`audience_id(slug)` hands out a server-issued id, as the question page does for a browser;
        `sources`: loopback addresses to connect from, in turn (default: 127.0.0.1)."""
        self.port, self.origin, self.slug, self.audience_id = port, origin, slug, audience_id
        self.sources = sources or [None]
        self.clients: list[RawAudience] = []
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.sel = selectors.DefaultSelector()
        self.watch: str | None = None
        self.acks: list[tuple[float, bool]] = []
        self.stop = threading.Event()
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()

    def connect(self, target: int, budget: float, workers: int = 48) -> tuple[int, float]:
        """Returns (connected, seconds). Stops at the target, the budget, or after 50 failures."""
        start = time.perf_counter()
        deadline = start + budget

        def one(k: int):
            if time.perf_counter() > deadline or len(self.failures) >= 50:
                return
            try:
                left = max(1.0, deadline - time.perf_counter())
                client = RawAudience(self.port, self.origin,
                                     {"talk": self.slug, "client_id": self.audience_id(self.slug)},
                                     timeout=min(10, left), source=self.sources[k % len(self.sources)])
            except Exception as exc:
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}"[:160])
                return
            client.ws.sock.settimeout(5)
            with self.lock:
                self.clients.append(client)
                self.sel.register(client, selectors.EVENT_READ, client)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(target)))
        return len(self.clients), time.perf_counter() - start

    def _poll(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                empty = not self.clients
            if empty:
                time.sleep(0.05)
                continue
            for key, _ in self.sel.select(timeout=0.1):
                client: RawAudience = key.data
                try:
                    msg = client.ws.recv()
                except Exception:
                    with self.lock:
                        with contextlib.suppress(Exception):
                            self.sel.unregister(client)
                        with contextlib.suppress(ValueError):
                            self.clients.remove(client)
                    continue
                if msg == "2":
                    with contextlib.suppress(Exception):
                        client.ws.send("3")
                elif msg.startswith("43/audience,"):
                    self.acks.append((time.perf_counter(), '"ok":true' in msg.replace(" ", "")))
                elif self.watch and client.seen_at is None and self.watch in msg:
                    client.seen_at = time.perf_counter()

    def expect(self, marker: str) -> None:
        """Start timing the arrival of a message containing marker at every client."""
        with self.lock:
            for c in self.clients:
                c.seen_at = None
            self.watch = marker

    def arrivals(self) -> list[float]:
        with self.lock:
            return [c.seen_at for c in self.clients if c.seen_at is not None]

    def alive(self) -> int:
        with self.lock:
            return len(self.clients)

    def close(self) -> None:
        self.stop.set()
        self.poller.join(2)
        with self.lock:
            for c in self.clients:
                c.close()
            self.clients.clear()
