"""Fragerunde: the live question round for webtalks."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as settings
from .extensions import READ_ONLY, babel, csrf, db, login_manager, migrate, socketio

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("de", "en")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"), instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(settings.DEFAULTS)
    app.config.update(settings.from_environment(Path(app.instance_path)))
    app.config.update(overrides or {})

    from .logs import configure as configure_logging
    configure_logging(app)

    db.init_app(app)
    with app.app_context():
        _configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # its "basic" mode keeps a hash of the IP address in the cookie

    from .ratelimit import RateLimits, validate
    validate(app.config)
    if app.config.get("IMAP_URL"):
        from .workers.mailbox import parse_url
        parse_url(app.config["IMAP_URL"])  # a malformed IMAP_URL stops every command at once
    from .readmodel.snapshot import SnapshotCache
    app.extensions["snapshots"] = SnapshotCache(app.config["SNAPSHOT_CACHE_SECONDS"])
    app.extensions["rate_limits"] = RateLimits(app.config["REDIS_URL"] or "memory://",
                                               app.config["RATE_LIMIT_EXEMPT"], app.config)

    origins = [app.config["PUBLIC_ORIGIN"]] if app.config["PUBLIC_ORIGIN"] else None
    from .live.sessions import client_manager
    socketio.server_options.pop("message_queue", None)  # the client manager below carries the queue
    socketio.init_app(
        app, async_mode=app.config["ASYNC_MODE"],
        client_manager=client_manager(app.config["REDIS_URL"], app.config["REDIS_PREFIX"]),
        cors_allowed_origins=origins, max_http_buffer_size=app.config["SOCKET_MAX_BUFFER"],
        ping_interval=10, ping_timeout=10, logger=False, engineio_logger=False)
    from .transport import bound
    bound(socketio.server, app.config["ASYNC_MODE"], int(app.config["TRANSPORT_BYTES_PER_SECOND"]))
    from . import live
    live.register(app)
    _behind_proxies(app)

    from .web import register as register_web
    register_web(app)
    from . import cli
    cli.register(app)
    return app


def _behind_proxies(app: Flask) -> None:
    """With TRUSTED_PROXIES=n, the client's address, scheme and host come from the headers the n
    proxies in front set (X-Forwarded-For, -Proto, -Host). It wraps Socket.IO's middleware too,
    so request.remote_addr in socket handlers is the client, not the proxy."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted  # the person's own choice, kept while they click on
        return wanted
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES, default="de") or "de"


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE so writers queue instead of failing."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    # One writer per process at a time, queued on a lock. Under eventlet the sqlite3 busy wait
    # blocks the whole hub: a green thread that yields inside its transaction (a Redis or
    # rate-limit call, a pool checkout) would stall every other one for the busy timeout and
    # end in "database is locked". A green lock lets the waiter yield to the holder instead.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        conn.info["fr_writer"] = writer.acquire(timeout=10)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn) -> None:
        if conn.info.pop("fr_writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)
