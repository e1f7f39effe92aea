"""The audience's identity: a random id that the server hands out, signed with SECRET_KEY so
that a client cannot make up a new one per message to escape the per-client limits.

Browsers get it as the cookie `fragerunde_audience` from the question page (GET /t/<slug>),
which also hands it to the page's script; other clients read that cookie and pass its value as
`client_id` in the `/audience` Socket.IO auth. A client may still choose its own id (the public
contract's uuid): such a connect counts as a new identity of its address, like an id handed out,
so a script that takes a new id for every message is held by the per-address limit.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from itsdangerous import BadSignature, Signer

COOKIE = "fragerunde_audience"
_SALT = "fragerunde.audience-id"
_CHOSEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def issue(secret: str) -> str:
    return Signer(secret, salt=_SALT).sign(uuid.uuid4().hex).decode()


def verify(secret: str, token: object) -> str | None:
    """The id inside a token this server issued; None for anything else."""
    if not isinstance(token, str) or not (0 < len(token) <= 100) or not token.isascii():
        return None
    try:
        return Signer(secret, salt=_SALT).unsign(token).decode()
    except BadSignature:
        return None


def from_handshake(secret: str, auth: object, cookies: Mapping[str, str]) -> str | None:
    """The id a connecting audience socket proves: `client_id` in its auth, else the cookie its
    handshake carries; None when neither was signed here."""
    claimed = auth.get("client_id") if isinstance(auth, dict) else None
    return verify(secret, claimed) or verify(secret, cookies.get(COOKIE))


def chosen(auth: object) -> str | None:
    """An id the client chose itself (8 to 64 letters, digits, '-' or '_'), kept apart from the
    ids signed here; None for anything else."""
    claimed = auth.get("client_id") if isinstance(auth, dict) else None
    if isinstance(claimed, str) and _CHOSEN.fullmatch(claimed):
        return "chosen:" + claimed
    return None
