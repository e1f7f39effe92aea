"""Staff accounts: moderators and admins."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..models import User
from . import DbSession
from .errors import DomainError

ROLES = ("moderator", "admin")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password")


def create_or_update(session: DbSession, username: str, password: str, role: str = "moderator") -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise DomainError("invalid", {"field": "username"})
    if len(password) < 8:
        raise DomainError("invalid", {"field": "password"})
    if role not in ROLES:
        raise DomainError("invalid", {"field": "role"})
    user = by_name(session, username)
    if user is None:
        user = User(username=username, session_epoch=0)
        session.add(user)
    user.password_hash = _hasher.hash(password)
    user.role = role
    user.active = True
    session.flush()
    return user


def by_name(session: DbSession, username: str) -> User | None:
    if "\x00" in username:  # no such name, and PostgreSQL would refuse the query
        return None
    return session.scalar(select(User).where(User.username == username.strip()))


def authenticate(session: DbSession, username: str, password: str) -> User | None:
    user = by_name(session, username or "")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def load(session: DbSession, session_id: str) -> User | None:
    """Flask-Login's id is 'user_id:epoch'; an old epoch (after logout) loads nobody."""
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except (AttributeError, ValueError):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


def end_sessions(session: DbSession, user: User) -> None:
    """Log the user out everywhere: sessions and open sockets of the old epoch are void."""
    user.session_epoch += 1
    session.flush()
