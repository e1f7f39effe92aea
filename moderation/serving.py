"""How the real-time server is served (used by `python wsgi.py`, which `flask serve` runs).

* eventlet: eventlet's WSGI server, as before.
* gevent: gevent's WSGI server (`gevent.pywsgi`), WebSocket through simple-websocket on gevent's
  greenlets; eventlet is in maintenance mode and gevent is the green server Flask-SocketIO
  recommends after threading (bench/RESULTS.md compares the three).
* threading: gunicorn's threaded worker (`gthread`), one process, WebSocket through
  simple-websocket — never Werkzeug's development server, which read a client's WebSocket
  close frame as a new HTTP request and made every close wait for a timeout.

All three servers get the same guards at the socket (issue 10): a request whose headers have not
arrived within HEADER_TIMEOUT seconds is closed, and one address holds at most
CONNECTIONS_PER_ADDRESS open connections (off behind TRUSTED_PROXIES, where the peer is the
proxy: nginx's `limit_conn` counts real addresses there, see deploy/).
"""
from __future__ import annotations

import contextlib
import errno
import gc
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn
from gunicorn.workers.gthread import ThreadWorker as _GunicornThreadWorker

_REFUSAL_TEXT = b"Zu viele Verbindungen von dieser Adresse.\n"
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(_REFUSAL_TEXT), _REFUSAL_TEXT))


class ConnectionGuard:
    """Counts open connections per peer address; thread- and greenlet-safe."""

    def __init__(self, cap: int, exempt: frozenset[str] = frozenset(), header_timeout: float = 30.0):
        self.cap = cap
        self.exempt = exempt
        self.header_timeout = header_timeout
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ConnectionGuard:
        cap = int(config.get("CONNECTIONS_PER_ADDRESS") or 0)
        if int(config.get("TRUSTED_PROXIES") or 0) > 0:
            cap = 0  # every peer is the proxy; it limits per real address (deploy/nginx)
        return cls(cap, frozenset(config.get("RATE_LIMIT_EXEMPT") or ()), float(config.get("HEADER_TIMEOUT") or 30))

    def admit(self, address: str) -> bool:
        """Count one more connection from address, or refuse it (and count nothing)."""
        if self.cap <= 0 or address in self.exempt:
            return True
        with self._lock:
            if self._open[address] >= self.cap:
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        if self.cap <= 0 or address in self.exempt:
            return
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]


def refuse(sock: socket.socket) -> None:
    """Answer a refused connection with 503 at once, without reading its request, and stop
    writing. Close it only after `discard`: closing with the request unread would send a reset,
    and the client might lose the answer."""
    try:
        sock.setblocking(False)
        sock.send(REFUSAL)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def discard(sock: socket.socket) -> None:
    """Read what the refused client sent (without waiting), then close."""
    try:
        sock.setblocking(False)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def peer(address: object) -> str:
    return address[0] if isinstance(address, tuple) and address else ""


# CPython collects its youngest generation every 700 allocations, and every object in the process
# when enough have survived two collections. A server holding 2,000 sockets tracks about 500,000
# objects (a third of them the app's modules, made at start), so a full collection stopped it for
# 0.3–0.4 s every few seconds while votes and approvals were sent (bench/RESULTS.md). What exists
# when the server starts is frozen: never scanned, never freed. And the youngest generation is
# collected every 100,000 net allocations: a broadcast leaves about 25 objects per socket waiting
# for the next one (engine.IO's writer waits on its queue with a timeout: a waiter, a timeout, hub
# timers), which die when it comes. A collection that finds them alive scans them all, 50,000 at
# 2,000 sockets, 13–16 ms inside the broadcast; at 10,000 one came with every other approval.
# The price is memory: 54–58 kB per socket at 5,000 instead of 48–49 (bench/RESULTS.md).
GC_THRESHOLDS = (100_000, 10, 10)


def collect_less() -> None:
    """Fewer garbage collections in the serving process, none over what it started with (see
    GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def refuse_taken_port(host: str, port: int) -> None:
    """Exit if something listens on host:port already. eventlet listens with SO_REUSEPORT, so a
    second server would start beside the first, and the kernel would share the connections between
    two processes that do not share their broadcasts (a second `make run`, a manual start beside
    the service)."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # the server's own bind says what else is wrong
            raise SystemExit(f"{host}:{port} ist schon belegt ({exc.strerror}). Läuft dort schon ein Server? "
                             "Den alten beenden oder einen anderen Port wählen (--port).") from None


def serve(app: Flask, host: str, port: int) -> None:
    """Run the real-time server in the app's async mode until it is stopped."""
    from . import workers
    refuse_taken_port(host, port)
    print(f"Fragerunde läuft auf http://{host}:{port} ({app.config['ASYNC_MODE']})", flush=True)
    collect_less()
    if app.config["ASYNC_MODE"] == "eventlet":
        from .extensions import socketio
        workers.start(app)
        socketio.run(app, host=host, port=port, **eventlet_options(app))
    elif app.config["ASYNC_MODE"] == "gevent":
        workers.start(app)
        gevent_server(app, host, port).serve_forever()
    else:
        ThreadedServer(app, host, port).run()


def eventlet_options(app: Flask) -> dict:
    import eventlet
    import eventlet.wsgi

    guard = ConnectionGuard.from_config(app.config)

    class Protocol(eventlet.wsgi.HttpProtocol):
        """TCP_NODELAY: an event and its acknowledgement go out as two small writes, and with
        Nagle's algorithm the second waits for the peer's delayed ACK (~40 ms)."""

        def setup(self) -> None:
            self.fr_address = peer(self.client_address)
            self.fr_admitted = guard.admit(self.fr_address)
            self.fr_timer: eventlet.Timeout | None = None
            try:
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            super().setup()

        def handle(self) -> None:
            if not self.fr_admitted:
                self.close_connection = 1
                refuse(self.request)
                with eventlet.Timeout(1, False):
                    self.request.setblocking(True)
                    while self.request.recv(65536):
                        pass
                return  # finish() closes it
            super().handle()

        def handle_one_request(self) -> None:
            """The request line and headers (of each request on a kept-alive connection) must
            arrive within the header timeout; the timer stops when the response begins."""
            timer = self.fr_timer = eventlet.Timeout(guard.header_timeout)
            try:
                super().handle_one_request()
            except eventlet.Timeout as exc:
                if exc is not timer:
                    raise
                self.close_connection = 1
            finally:
                timer.cancel()

        def handle_one_response(self) -> None:
            if self.fr_timer is not None:
                self.fr_timer.cancel()
            super().handle_one_response()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                if self.fr_admitted:
                    self.fr_admitted = False
                    guard.release(self.fr_address)

    # eventlet's default of 1,024 connections stalls new sockets silently past that.
    return {"max_size": int(app.config["SERVER_CONNECTIONS"]), "log_output": False, "protocol": Protocol}


def gevent_server(app: Flask, host: str, port: int) -> Any:
    """gevent's WSGI server with the guards: the eventlet server's Protocol, in gevent's terms."""
    import gevent
    from gevent import pywsgi
    from gevent.pool import Pool

    guard = ConnectionGuard.from_config(app.config)

    class Handler(pywsgi.WSGIHandler):
        fr_timer: gevent.Timeout | None = None

        def handle(self) -> None:
            address = peer(self.client_address)
            if not guard.admit(address):
                refuse(self.socket)
                with gevent.Timeout(1, False):  # read what was sent before the server closes it
                    self.socket.setblocking(True)
                    while self.socket.recv(65536):
                        pass
                return
            try:
                with contextlib.suppress(OSError):
                    self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().handle()
            finally:
                guard.release(address)

        def handle_one_request(self) -> Any:
            """The request line and headers must arrive within the header timeout; the timer
            stops when the response begins."""
            timer = self.fr_timer = gevent.Timeout(guard.header_timeout)
            timer.start()
            try:
                return super().handle_one_request()
            except gevent.Timeout as exc:
                if exc is not timer:
                    raise
                return None
            finally:
                timer.close()

        def handle_one_response(self) -> Any:
            if self.fr_timer is not None:
                self.fr_timer.close()
            result = super().handle_one_response()
            if self._connection_upgrade_requested():
                # a WebSocket ended: what the socket still holds (its close frame) is no request
                self.close_connection = True
            return result

    return pywsgi.WSGIServer((host, port), app, handler_class=Handler, log=None, error_log=None,
                             spawn=Pool(int(app.config["SERVER_CONNECTIONS"])))


# -- threading: gunicorn's gthread worker --------------------------------------------------------


class GuardedConn(TConn):
    """A gthread connection that gives its place back to the guard when it is closed."""

    def __init__(self, guard: ConnectionGuard, *args: Any) -> None:
        super().__init__(*args)
        self.fr_guard: ConnectionGuard | None = guard
        self.fr_header_deadline: float | None = None

    def close(self, graceful: bool = False) -> None:
        try:
            super().close(graceful)
        finally:
            guard, self.fr_guard = self.fr_guard, None
            if guard is not None:
                guard.release(peer(self.client))


class ThreadWorker(_GunicornThreadWorker):
    """gunicorn's threaded worker with the connection guard and a header deadline.

    gthread hands a connection to a pool thread as soon as its first bytes arrive; the thread
    then blocks reading the headers for as long as the client likes. The worker's loop (once a
    second) shuts down the sockets of requests whose headers are overdue, which ends that read.
    A WebSocket holds its pool thread for its whole life, so `threads` bounds the sockets.
    """

    def run(self) -> None:
        config = getattr(self.wsgi, "config", {})
        self.fr_guard = ConnectionGuard.from_config(config)
        self.fr_reading: dict[GuardedConn, float] = {}
        self.fr_reading_lock = threading.Lock()
        self.fr_refused: deque[tuple[float, socket.socket]] = deque()
        super().run()

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        if not self.fr_guard.admit(peer(client_addr)):
            refuse(client_sock)
            self.fr_refused.append((time.monotonic() + 1, client_sock))
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        client_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.enqueue_req(GuardedConn(self.fr_guard, self.cfg, client_sock, client_addr, listener.getsockname()))

    def handle(self, conn: GuardedConn) -> Any:
        with self.fr_reading_lock:
            self.fr_reading.setdefault(conn, time.monotonic() + self.fr_guard.header_timeout)
        try:
            return super().handle(conn)
        finally:
            with self.fr_reading_lock:
                self.fr_reading.pop(conn, None)

    def handle_request(self, req: Any, conn: GuardedConn) -> Any:
        with self.fr_reading_lock:
            self.fr_reading.pop(conn, None)  # the headers are in
        return super().handle_request(req, conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        while self.fr_refused and self.fr_refused[0][0] <= now:
            discard(self.fr_refused.popleft()[1])
        with self.fr_reading_lock:
            overdue = [conn for conn, deadline in self.fr_reading.items() if deadline <= now]
            for conn in overdue:
                del self.fr_reading[conn]
        for conn in overdue:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ThreadedServer(BaseApplication):
    """gunicorn, configured here rather than on a command line: one worker process (the
    Socket.IO sessions live in it), enough threads for every WebSocket it holds."""

    def __init__(self, app: Flask, host: str, port: int):
        from . import workers
        threads = int(app.config["SERVER_CONNECTIONS"])
        self.options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": f"{__name__}.ThreadWorker",
            "threads": threads,
            "worker_connections": threads + 100,
            "keepalive": 5,
            "graceful_timeout": 3,
            "timeout": 300,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            # in the worker process (gunicorn forks it): threads started before would stay behind
            "post_worker_init": lambda worker: workers.start(app),
        }
        self.application = app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application
