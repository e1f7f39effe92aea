"""Admins: the audit log of a talk, on screen and as CSV — transparency for public bodies."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry
from .exports import csv_response
from .lookup import talk_or_404

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _entries(slug: str):
    talk = talk_or_404(slug)
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.talk_id == talk.id).order_by(AuditEntry.id))
    return talk, list(rows)


@bp.get("/audit/<slug>")
@admin_required
def audit(slug: str):
    talk, entries = _entries(slug)
    return render_template("audit.html", talk=talk, entries=entries)


@bp.get("/audit/<slug>.csv")
@admin_required
def audit_csv(slug: str):
    talk, entries = _entries(slug)
    header = ["id", "at", "user", "action", "question_id", "from", "to", "before", "after", "undoes"]
    rows = ([e.id, e.at.isoformat(), e.username, e.action, e.question_id, e.from_status, e.to_status,
             e.before, e.after, e.undoes_id] for e in entries)
    return csv_response(f"audit-{talk.slug}.csv", header, rows)
