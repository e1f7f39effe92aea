"""Leases: a background job that only one process may run at a time (reading the intake
mailbox) takes a row here, renews it while it works, and loses it when it stops renewing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from ..models import WorkerLease
from . import DbSession


def acquire(session: DbSession, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease for `seconds` from now: True when `holder` has it (it held it, or
    the last holder's ran out). One conditional UPDATE, so two processes never both get it."""
    until = now + timedelta(seconds=seconds)
    if session.get(WorkerLease, name) is None:
        try:
            with session.begin_nested():
                session.add(WorkerLease(name=name, holder=holder, expires_at=until))
                session.flush()
            return True
        except IntegrityError:
            pass
    result = session.execute(update(WorkerLease).where(
        WorkerLease.name == name, or_(WorkerLease.holder == holder, WorkerLease.expires_at < now))
        .values(holder=holder, expires_at=until).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: DbSession, name: str, holder: str, now: datetime) -> None:
    session.execute(update(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder)
                    .values(expires_at=now).execution_options(synchronize_session=False))
