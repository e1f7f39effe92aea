"""Entry point: `app` for WSGI servers; `python wsgi.py` (what `flask serve` runs) serves it:
eventlet's server, gevent's (ASYNC_MODE=gevent), or gunicorn's threaded worker (ASYNC_MODE=threading).

Under eventlet and gevent the standard library must be patched before anything else is imported,
so the patch happens here, first, and only when this file runs the server: CLI commands that
import `app` (db upgrade, seed, …) do not serve and must not patch late.
"""
import os
import warnings

# The project keeps ASYNC_MODE=threading working so that it can move off eventlet (bench/README.md).
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

MODE = (os.environ.get("ASYNC_MODE") or "eventlet").strip().lower()
if __name__ == "__main__" and MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()  # psycopg sees gevent's patched select and waits through it by itself
elif __name__ == "__main__" and MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    # psycopg's C wait calls poll() itself, which no green thread gets past: every PostgreSQL round
    # trip would stop the whole process until the answer came. wait_select goes through eventlet's
    # green select (psycopg detects only gevent's patching).
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import argparse

from moderation import create_app
from moderation.serving import serve

app = create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fragerunde real-time server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
