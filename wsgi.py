"""Entry point: `app` for WSGI servers; `python wsgi.py` (what `flask serve` runs) for Socket.IO.

Under eventlet the standard library must be patched before anything else is imported, so
the patch happens here, first, and only when this file runs the server: CLI commands that
import `app` (db upgrade, seed, …) do not serve and must not patch late.
"""
import os
import warnings

# The project keeps ASYNC_MODE=threading working so that it can move off eventlet (bench/README.md).
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

if __name__ == "__main__" and (os.environ.get("ASYNC_MODE") or "eventlet").strip().lower() == "eventlet":
    import eventlet

    eventlet.monkey_patch()

import argparse  # noqa: E402

from moderation import create_app  # noqa: E402
from moderation.extensions import socketio  # noqa: E402

app = create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fragerunde real-time server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    options = {}
    # TCP_NODELAY: an event and its acknowledgement go out as two small writes; with Nagle's
    # algorithm the second waits for the peer's delayed ACK, ~40 ms on every submit.
    if app.config["ASYNC_MODE"] == "eventlet":
        import socket

        import eventlet.wsgi

        class NoDelayProtocol(eventlet.wsgi.HttpProtocol):
            def setup(self):
                try:
                    self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
                super().setup()

        # eventlet's default of 1,024 connections stalls new sockets silently past that.
        options.update(max_size=10_000, log_output=False, protocol=NoDelayProtocol)
    else:
        from werkzeug.serving import WSGIRequestHandler

        class NoDelayHandler(WSGIRequestHandler):
            disable_nagle_algorithm = True

        options.update(allow_unsafe_werkzeug=True, request_handler=NoDelayHandler)
    print(f"Fragerunde läuft auf http://{args.host}:{args.port} ({app.config['ASYNC_MODE']})", flush=True)
    socketio.run(app, host=args.host, port=args.port, **options)


if __name__ == "__main__":
    main()
