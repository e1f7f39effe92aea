"""Options for the real-time server in each async mode (used by `python wsgi.py`)."""
from __future__ import annotations

import socket


def server_options(async_mode: str) -> dict:
    """TCP_NODELAY on every connection: an event and its acknowledgement go out as two small
    writes, and with Nagle's algorithm the second waits for the peer's delayed ACK (~40 ms)."""
    if async_mode == "eventlet":
        import eventlet.wsgi

        class NoDelayProtocol(eventlet.wsgi.HttpProtocol):
            def setup(self) -> None:
                try:
                    self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
                super().setup()

        # eventlet's default of 1,024 connections stalls new sockets silently past that.
        return {"max_size": 10_000, "log_output": False, "protocol": NoDelayProtocol}

    from werkzeug.serving import WSGIRequestHandler

    class NoDelayHandler(WSGIRequestHandler):
        disable_nagle_algorithm = True

    return {"allow_unsafe_werkzeug": True, "request_handler": NoDelayHandler}
