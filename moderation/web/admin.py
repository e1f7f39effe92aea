"""Admins: the audit log of a talk, on screen and as CSV — transparency for public bodies."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Transition
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import words
from .exports import csv_response

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
    try:
        talk = talk_service.by_slug(db.session, slug)
    except DomainError:
        abort(404)
    rows = db.session.scalars(select(Transition).where(Transition.talk_id == talk.id).order_by(Transition.id))
    return talk, list(rows)


@bp.get("/audit/<slug>")
@admin_required
def audit(slug: str):
    talk, entries = _entries(slug)
    return render_template("audit.html", talk=talk, entries=entries, words=words)


@bp.get("/audit/<slug>.csv")
@admin_required
def audit_csv(slug: str):
    talk, entries = _entries(slug)
    header = ["id", "at", "user", "action", "question_id", "from", "to", "before", "after", "undoes"]
    rows = ([e.id, e.at.isoformat(), e.username, e.action, e.question_id, e.from_status, e.to_status,
             e.before, e.after, e.undoes_id] for e in entries)
    return csv_response(f"audit-{talk.slug}.csv", header, rows)
