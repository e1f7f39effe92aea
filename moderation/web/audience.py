"""Public pages: the series, a talk's question page, the privacy notice, health."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import text

from ..clock import now
from ..extensions import db
from ..messages import message
from ..readmodel import publish
from ..readmodel.snapshot import snapshot
from ..readmodel.views import AUDIENCE
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services import windows
from ..services.errors import DomainError
from .forms import QuestionForm
from .lookup import talk_or_404

bp = Blueprint("audience", __name__)


@bp.get("/")
def index():
    series, loose = talk_service.listing(db.session)
    return render_template("index.html", series=series, loose=loose, now=now(), is_open=windows.is_open)


def _client_id() -> str:
    """Without JavaScript the person's client id lives in the (signed) session cookie."""
    if "client_id" not in session:
        session["client_id"] = str(uuid.uuid4())
    return session["client_id"]


def _render_talk(talk, form: QuestionForm, error: str | None = None, status: int = 200):
    at = now()
    client = question_service.client_hash(current_app.config["SECRET_KEY"], _client_id())
    state = snapshot(db.session, talk, AUDIENCE, at, client)
    public = [q for q in state["questions"] if AUDIENCE.sees(q["status"])]
    mine = [q for q in state["questions"] if q.get("mine")]
    form.client_msg_id.data = str(uuid.uuid4())
    upcoming = None if windows.is_open(talk, at) else windows.next_talk(db.session, at)
    return render_template("talk.html", talk=talk, form=form, error=error, public=public, mine=mine,
                           open=windows.is_open(talk, at), upcoming=upcoming, now=at), status


@bp.get("/t/<slug>")
def talk_page(slug: str):
    talk = talk_or_404(slug)
    return _render_talk(talk, QuestionForm())


@bp.post("/t/<slug>/questions")
def submit_form(slug: str):
    talk = talk_or_404(slug)
    form = QuestionForm()
    if not form.validate_on_submit():
        return _render_talk(talk, form, message("too_long"), 400)
    client = question_service.client_hash(current_app.config["SECRET_KEY"], _client_id())
    limits = current_app.extensions["rate_limits"]
    try:
        write = question_service.submit(
            db.session, talk, text=form.text.data or "", name=form.name.data, client=client,
            client_msg_id=form.client_msg_id.data or "", now=now(),
            admit=lambda: limits.check("SUBMIT", client=client, address=request.remote_addr))
    except DomainError as exc:
        db.session.rollback()
        status = {"rate_limited": 429, "closed": 409}.get(exc.code, 400)
        return _render_talk(talk, form, message(exc.code, exc.detail), status)
    publish.commit(publish.outbox(db.session, talk, write, now()))
    flash(_("Gesendet — wartet auf Freigabe"), "success")
    return redirect(url_for("audience.talk_page", slug=talk.slug, lang=request.args.get("lang")), 303)


@bp.get("/datenschutz")
def privacy():
    return render_template("datenschutz.html", contact=current_app.config["CONTACT_EMAIL"])


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any failure of the database is "not ready", never a 500 page
        db.session.rollback()
        current_app.logger.warning("health check: database does not answer")
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")

