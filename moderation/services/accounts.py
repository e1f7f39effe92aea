"""Staff accounts: moderators and admins."""
from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..models import AccountEntry, User, utcnow
from . import DbSession
from .errors import DomainError

ROLES = ("moderator", "admin")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name costs as long as a wrong
    password. Made at the first such login, not at import: every CLI command and server start
    would pay for it."""
    return _hasher.hash("not-a-password")


def create_or_update(session: DbSession, username: str, password: str, role: str = "moderator") -> User:
    """A new account, or a new password and role for an existing one: then its sessions end."""
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
    else:
        user.session_epoch += 1
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
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def load(session: DbSession, session_id: str) -> User | None:
    """Flask-Login's id is 'user_id:epoch'; an old epoch (after logout) loads nobody."""
    user_id = login_user_id(session_id)
    user = session.get(User, user_id) if user_id is not None else None
    return user if loads(user, session_id) else None


def login_user_id(session_id: object) -> int | None:
    """The account id in a Flask-Login id ('user_id:epoch'); None if it is not one."""
    try:
        user_id, _epoch = (int(part) for part in str(session_id).split(":"))
    except ValueError:
        return None
    return user_id


def loads(user: User | None, session_id: str) -> bool:
    """Whether this Flask-Login id still loads this account: active, and the epoch still current."""
    return user is not None and user.active and user.get_id() == session_id


def load_all(session: DbSession, logins: set[str]) -> list[User]:
    """The active accounts that these Flask-Login ids ('user_id:epoch') still load, in one statement."""
    wanted = {user_id for login in logins if (user_id := login_user_id(login)) is not None}
    if not wanted:
        return []
    return [user for user in session.scalars(select(User).where(User.id.in_(wanted)))
            if user.active and user.get_id() in logins]


def log_out_everywhere(session: DbSession, user: User) -> None:
    """Sessions and open sockets of the old epoch are void (their screens close after commit:
    readmodel/access.end_sessions)."""
    user.session_epoch += 1
    session.flush()


MIN_PASSWORD = 12


def generate_password() -> str:
    """A password shown once: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def log(session: DbSession, by: User | None, action: str, target: User, detail: str | None = None) -> AccountEntry:
    entry = AccountEntry(user_id=by.id if by else None, username=by.username if by else None,
                         action=action, target=target.username, detail=detail, at=utcnow())
    session.add(entry)
    session.flush()
    return entry


def create(session: DbSession, by: User | None, username: str, password: str, role: str) -> User:
    """A new account from the organiser's side: the name must be free, the password ≥ 12 characters."""
    username = (username or "").strip()
    if not username or len(username) > 80 or "\x00" in username:
        raise DomainError("invalid", {"field": "username"})
    if by_name(session, username) is not None:
        raise DomainError("invalid", {"field": "username", "reason": "taken"})
    if len(password or "") < MIN_PASSWORD:
        raise DomainError("invalid", {"field": "password", "reason": "short"})
    if role not in ROLES:
        raise DomainError("invalid", {"field": "role"})
    user = User(username=username, password_hash=_hasher.hash(password), role=role, active=True, session_epoch=0)
    session.add(user)
    session.flush()
    log(session, by, "created", user, role)
    return user


def active_admins(session: DbSession) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    return session.scalar(query) or 0


def _admins(session: DbSession, user: User) -> set[int]:
    """The active admins' ids, their rows locked until the transaction ends (SELECT … FOR NO KEY
    UPDATE in id order: rows that only refer to users are written meanwhile), and `user` read
    afresh. Two admins demoting each other at once from two processes queue here; the second then
    finds itself no longer an admin, or the other the last one."""
    admins = set(session.scalars(select(User.id).where(User.role == "admin", User.active.is_(True))
                                 .order_by(User.id).with_for_update(key_share=True)))
    session.refresh(user)
    return admins


def _guard(admins: set[int], by: User, user: User) -> None:
    """Nobody locks themselves out, a demoted admin changes nobody, and the last active admin
    stays one."""
    if user.id == by.id:
        raise DomainError("forbidden", {"reason": "self"})
    if by.id not in admins:
        raise DomainError("forbidden", {"reason": "not_admin"})
    if user.id in admins and len(admins) <= 1:
        raise DomainError("forbidden", {"reason": "last_admin"})


def set_active(session: DbSession, by: User, user: User, active: bool) -> User:
    """Disable or enable an account; disabling ends its sessions and sockets."""
    admins = _admins(session, user)
    if user.active == active:
        return user
    if not active:
        _guard(admins, by, user)
        user.session_epoch += 1
    user.active = active
    session.flush()
    log(session, by, "enabled" if active else "disabled", user)
    return user


def set_role(session: DbSession, by: User, user: User, role: str) -> User:
    if role not in ROLES:
        raise DomainError("invalid", {"field": "role"})
    admins = _admins(session, user)
    if user.role == role:
        return user
    if user.is_admin:
        _guard(admins, by, user)
    before = user.role
    user.role = role
    session.flush()
    log(session, by, "role", user, f"{before} → {role}")
    return user


def reset_password(session: DbSession, by: User | None, user: User) -> str:
    """A new generated password, returned once; the old sessions end."""
    password = generate_password()
    user.password_hash = _hasher.hash(password)
    user.session_epoch += 1
    session.flush()
    log(session, by, "password_reset", user)
    return password


def listing(session: DbSession) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def entries(session: DbSession, limit: int = 50) -> list[AccountEntry]:
    return list(session.scalars(select(AccountEntry).order_by(AccountEntry.id.desc()).limit(limit)))
