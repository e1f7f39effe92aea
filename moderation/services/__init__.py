"""The domain: plain functions on an SQLAlchemy session. No Flask request, no Socket.IO.

Services add and flush and raise DomainError; the caller commits.
"""
from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import orm

# A plain session, or Flask-SQLAlchemy's request-scoped proxy for one (`db.session`).
DbSession: TypeAlias = orm.Session | orm.scoped_session[Any]
