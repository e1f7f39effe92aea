"""Bounded input at the WebSocket and Socket.IO layers, in every async mode (issue 21).

What one client can make a server process do, per connection:

* A whole message, its fragments included, is at most SOCKET_MAX_BUFFER bytes (16 KiB). eventlet
  checked single frames only; simple-websocket (threading) was given no limit at all by
  python-engineio. Past it the socket is closed (1009).
* No compression: the `Sec-WebSocket-Extensions` offer is dropped before the handshake, so
  permessage-deflate is never negotiated (a compressed message that never ends filled 1.5 GB).
* No binary: the protocol needs none. A binary Engine.IO message or a Socket.IO binary event or
  ack (which announced up to 9,999,999,999 attachments, each kept until the last) ends the session.
* At most TRANSPORT_BYTES_PER_SECOND bytes a second are read from one WebSocket (a token bucket
  with one second's burst); beyond that the reader waits, the kernel's buffers fill and TCP slows
  the sender down. Every read yields to the hub first, so under eventlet no socket keeps the
  process to itself while data waits.
* eventlet unmasked frames byte by byte in Python (3.4 ms per 16 KiB: a 5 MB/s flood took the whole
  CPU); `unmask` XORs with one big-integer operation (microseconds per 16 KiB).
"""
from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

import socketio

BINARY_PACKETS = ("5", "6")  # Socket.IO BINARY_EVENT, BINARY_ACK


def unmask(data: bytes, mask: Any, length: int | None = None, offset: int = 0) -> bytes:
    """RFC 6455 masking, as eventlet's `RFC6455WebSocket._apply_mask` (same arguments), at C speed."""
    n = len(data) if length is None else length
    if n == 0:
        return b""
    key = bytes(mask[(offset + i) % 4] for i in range(4))
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data[:n], "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


class ThrottledSocket:
    """A socket whose reads keep to `rate` bytes a second (a burst of one second's worth) and yield
    first; everything else is the socket's own."""

    def __init__(self, sock: Any, rate: int):
        self._sock = sock
        self._rate = rate
        self._allowance = float(rate)
        self._at = time.monotonic()

    def recv(self, size: int, *args: Any) -> bytes:
        now = time.monotonic()
        self._allowance = min(float(self._rate), self._allowance + (now - self._at) * self._rate)
        self._at = now
        if self._allowance <= 0:
            time.sleep(-self._allowance / self._rate)  # green under eventlet: other sockets go on
        else:
            time.sleep(0)
        data = self._sock.recv(min(size, max(1, self._rate)), *args)
        self._allowance -= len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Input:
    """eventlet's `eventlet.input`, handing out the throttled socket."""

    def __init__(self, inner: Any, sock: ThrottledSocket):
        self._inner = inner
        self._sock = sock

    def get_socket(self) -> ThrottledSocket:
        return self._sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _bounded_environ(environ: dict[str, Any], rate: int) -> None:
    """No compression offered; the connection's socket read through a ThrottledSocket. Under
    gevent simple-websocket would take an unthrottled duplicate of the server's socket: it gets a
    throttled duplicate where it looks first, as a Werkzeug socket."""
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    if environ.get("SERVER_SOFTWARE", "").startswith("gevent"):
        environ["werkzeug.socket"] = ThrottledSocket(_gevent_socket(environ).dup(), rate)
    elif "gunicorn.socket" in environ:
        environ["gunicorn.socket"] = ThrottledSocket(environ["gunicorn.socket"], rate)
    elif "eventlet.input" in environ:
        inner = environ["eventlet.input"]
        environ["eventlet.input"] = _Input(inner, ThrottledSocket(inner.get_socket(), rate))


def _eventlet_websocket(rate: int) -> type:
    import eventlet.websocket
    from engineio.async_drivers.eventlet import WebSocketWSGI

    ws = eventlet.websocket.RFC6455WebSocket
    if not getattr(ws, "fr_bounded", False):
        class Message(ws.Message):  # type: ignore[name-defined]
            """A message whose fragments together stay within the frame limit."""

            def push(self, data: bytes, final: bool = False) -> None:
                self.fr_size = getattr(self, "fr_size", 0) + len(data)
                if self.fr_size > self.max_frame_length:
                    raise eventlet.websocket.FailedConnectionError(1009, "Message too big")
                super().push(data, final)

        ws.Message = Message
        ws._apply_mask = staticmethod(unmask)
        ws.fr_bounded = True

    class Bounded(WebSocketWSGI):
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            _bounded_environ(environ, rate)
            return super().__call__(environ, start_response)

    return Bounded


def _simple_websocket(rate: int, green: bool = False) -> type:
    import simple_websocket
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

    class Bounded(SimpleWebSocketWSGI):
        """python-engineio passes simple-websocket no size limit: here it gets the server's.
        Under gevent, simple-websocket runs on gevent's greenlets, events and selector, as
        python-engineio's gevent driver sets it up, and reads the socket throttled as elsewhere."""

        def __init__(self, handler: Any, server: Any, **kwargs: Any):
            if green:
                import gevent.event
                import gevent.selectors
                from engineio.async_drivers.gevent import Thread
                kwargs.update(thread_class=Thread, event_class=gevent.event.Event,
                              selector_class=gevent.selectors.DefaultSelector)
            super().__init__(handler, server, max_message_size=int(server.max_http_buffer_size), **kwargs)

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            _bounded_environ(environ, rate)
            if not green:
                return super().__call__(environ, start_response)
            self.ws = simple_websocket.Server(environ, **self.server_args)
            self.ws.mode = "gevent"  # it ends as under gevent, not as under Werkzeug (a ConnectionError)
            try:
                return self.app(self)
            finally:
                # gevent's server holds the connection's own descriptor and would read the next
                # request from it: shut down, the client sees its close at once (not after 3 s)
                with contextlib.suppress(OSError):
                    _gevent_socket(environ).shutdown(socket.SHUT_RDWR)

        def close(self) -> None:
            """Closed by the server (a refused client): the close frame goes out, then the socket
            is shut down, which also wakes simple-websocket's reader thread blocked in recv (a
            plain close leaves the connection open while that thread waits)."""
            super().close()
            with contextlib.suppress(OSError, AttributeError):
                self.ws.sock.shutdown(socket.SHUT_RDWR)

    assert simple_websocket
    return Bounded


def _gevent_socket(environ: dict[str, Any]) -> Any:
    """The connection's socket under gevent's WSGI server, where simple-websocket finds it."""
    wsgi_input = environ["wsgi.input"]
    if not hasattr(wsgi_input, "raw") and hasattr(wsgi_input, "rfile"):
        wsgi_input = wsgi_input.rfile
    return wsgi_input.raw._sock


def bound(server: socketio.Server, async_mode: str, rate: int) -> None:
    """Put the bounds on a Socket.IO server (made by Flask-SocketIO's init_app)."""
    eio = server.eio
    if async_mode == "eventlet":
        eio._async = {**eio._async, "websocket": _eventlet_websocket(rate)}
    elif async_mode in ("threading", "gevent"):
        eio._async = {**eio._async, "websocket": _simple_websocket(rate, green=async_mode == "gevent")}
    plain = server._handle_eio_message

    def message(eio_sid: str, data: Any) -> Any:
        if not isinstance(data, str) or data[:1] in BINARY_PACKETS:
            eio.disconnect(eio_sid)
            return None
        return plain(eio_sid, data)

    eio.on("message", message)
