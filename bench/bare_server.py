"""A bare python-socketio server: the baseline for the fan-out benchmark (bench/scale.py).

The same library, async mode (eventlet) and WSGI server as Fragerunde, none of its work: an
`/audience` namespace that sends an empty `snapshot` on connect, and an `approve {text}` event
that emits one question payload of Fragerunde's shape to the room of all audience sockets.
With `--redis` it shares its broadcasts over Redis as Fragerunde's processes do, so that two of
them behind deploy/'s nginx are the bare baseline of that path; `/healthz` answers for nginx.

    python bench/bare_server.py --port 5099 [--redis redis://127.0.0.1:6379/0 --channel bench-bare]
"""
import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import itertools  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

import eventlet.wsgi  # noqa: E402
import socketio  # noqa: E402

sio = socketio.Server(async_mode="eventlet", cors_allowed_origins="*", ping_interval=10, ping_timeout=10)
ids = itertools.count(1)
ROOM = "talk"


def healthz(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status":"ok"}']


@sio.on("connect", namespace="/audience")
def connect(sid, environ, auth):
    sio.enter_room(sid, ROOM, namespace="/audience")
    sio.emit("snapshot", {"talk": {}, "questions": [], "seq": 0}, to=sid, namespace="/audience")


@sio.on("approve", namespace="/audience")
def approve(sid, data):
    qid = next(ids)
    question = {"id": qid, "text": data.get("text", ""), "name": None, "status": "approved", "upvotes": 0,
                "votes": 0, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": 1}
    sio.emit("question", {"question": question, "seq": qid}, to=ROOM, namespace="/audience")
    return {"ok": True, "question": question}


class NoDelayProtocol(eventlet.wsgi.HttpProtocol):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", help="share broadcasts with other bare servers over this Redis")
    parser.add_argument("--channel", default="bench-bare")
    args = parser.parse_args()
    if args.redis:
        sio.manager = socketio.RedisManager(args.redis, channel=args.channel)
        sio.manager.set_server(sio)
    listener = eventlet.listen(("127.0.0.1", args.port))
    print(f"bare server on {args.port}", flush=True)
    eventlet.wsgi.server(listener, socketio.WSGIApp(sio, healthz), max_size=10_000, log_output=False,
                         protocol=NoDelayProtocol)


if __name__ == "__main__":
    main()
