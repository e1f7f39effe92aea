"""Public pages: the series, a talk's question page, the privacy notice, health."""
from __future__ import annotations

import uuid
from datetime import date

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import text

from .. import audience_ids, messages
from ..clock import now
from ..extensions import begin_read_only, db
from ..messages import message
from ..readmodel import publish
from ..readmodel.snapshot import snapshot
from ..readmodel.views import AUDIENCE
from ..services import documentation, windows
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import words
from .forms import QuestionForm
from .lookup import talk_or_404

bp = Blueprint("audience", __name__)
STATEMENT_DATE = date(2026, 11, 26)  # when the accessibility statement was last reviewed


@bp.get("/")
def index():
    series, loose = talk_service.listing(db.session)
    return render_template("index.html", series=series, loose=loose, now=now(), is_open=windows.is_open)


def _audience_token() -> str:
    """The person's signed audience id: from its cookie, else a new one, counted against the
    address's limit of new identities (a 429 page says how long to wait)."""
    if "audience_token" in g:
        return g.audience_token
    secret = current_app.config["SECRET_KEY"]
    token = request.cookies.get(audience_ids.COOKIE, "")
    if audience_ids.verify(secret, token) is None:
        wait = current_app.extensions["rate_limits"].hit("IDENTITY", address=request.remote_addr)
        if wait is not None:
            page = render_template("error.html", code=429, detail=message("rate_limited", {"retry_after": wait}))
            abort(current_app.response_class(page, 429, {"Retry-After": str(wait)}))
        token = audience_ids.issue(secret)
        current_app.extensions["rate_limits"].mark_fresh(
            question_service.client_hash(secret, audience_ids.verify(secret, token) or ""))

        @after_this_request
        def remember(response):
            response.set_cookie(audience_ids.COOKIE, token, max_age=current_app.config["AUDIENCE_ID_MAX_AGE"],
                                secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
            return response

    g.audience_token = token
    return token


def _client() -> str:
    secret = current_app.config["SECRET_KEY"]
    return question_service.client_hash(secret, audience_ids.verify(secret, _audience_token()) or "")


def _render_talk(talk, form: QuestionForm, error: str | None = None, status: int = 200):
    at = now()
    client = _client()
    state = snapshot(db.session, talk, AUDIENCE, at, client)
    public = [q for q in state["questions"] if AUDIENCE.sees(q["status"])]
    mine = [q for q in state["questions"] if q.get("mine")]
    form.client_msg_id.data = str(uuid.uuid4())
    phase = round_phase(talk, at)
    upcoming = windows.next_talk(db.session, at, exclude_id=talk.id) if phase != "open" else None
    public_text = {q["id"]: q["text"] for q in public}
    page = render_template("talk.html", talk=talk, form=form, error=error, public=public, mine=mine,
                           open=phase in ("open", "early"), phase=phase, round_text=round_text(talk, at, phase),
                           opens_at=words.opens_at(talk, at), upcoming=upcoming, now=at,
                           audience_id=_audience_token(), own_status=lambda q: own_status(q, public_text),
                           rejected_words={code: messages.rejected_words(code or None)
                                           for code in ["", *messages.reason_words()]},
                           report_reasons=messages.reason_words("report", public=True))
    # the page carries the person's audience id: no shared cache may keep it
    return page, status, {"Cache-Control": "private, no-store"}


def own_status(question: dict, public_text: dict[int, str]) -> str:
    """The status of one's own question in words: why it was not accepted, where it was merged to
    (the other question's text only when it is public)."""
    if question["status"] == "rejected":
        return messages.rejected_words(question.get("reason"))
    if question["status"] == "merged":
        into = public_text.get(question.get("merged_into") or 0)
        if into is None:
            return _("Mit einer ähnlichen Frage zusammengefasst")
        return _("Zusammengefasst mit: „%(text)s“", text=messages.shorten(into, 120))
    return messages.status_word(question["status"], public=True)


def round_phase(talk, at) -> str:
    """open; early (before the window of a talk that takes questions in advance); before or after
    the talk's window; or closed by hand inside it."""
    if windows.is_open(talk, at):
        return "open"
    if windows.accepts_questions(talk, at):
        return "early"
    if at < talk.starts_at:
        return "before"
    return "after" if at >= talk.ends_at else "closed"


def round_text(talk, at, phase: str) -> str:
    if phase == "open":
        closes = windows.closes_at(talk, at)
        if closes is None:
            return _("Die Fragerunde ist geöffnet.")
        return _("Die Fragerunde ist geöffnet bis %(time)s Uhr.", time=words.clock_time(closes))
    if phase == "before":
        return words.opens_at(talk, at)
    if phase == "early":
        return words.opens_at(talk, at) + " " + _("Sie können Ihre Frage schon jetzt stellen.")
    if phase == "after":
        return _("Die Fragerunde ist beendet.")
    return _("Die Fragerunde ist geschlossen.")


@bp.get("/t/<slug>")
def talk_page(slug: str):
    db.session.rollback()
    begin_read_only(db.session)  # a thousand people open the page at once: readers queue on no lock
    talk = talk_or_404(slug)
    return _render_talk(talk, QuestionForm())


@bp.post("/t/<slug>/questions")
def submit_form(slug: str):
    talk = talk_or_404(slug)
    form = QuestionForm()
    if not form.validate_on_submit():
        return _render_talk(talk, form, message("too_long"), 400)
    client = _client()
    limits = current_app.extensions["rate_limits"]
    limits.note_place(talk.id, client, request.remote_addr)
    try:
        write = question_service.submit(
            db.session, talk, text=form.text.data or "", name=form.name.data, client=client,
            client_msg_id=form.client_msg_id.data or "", now=now(),
            admit=lambda: limits.check("SUBMIT", client=client, address=request.remote_addr),
            name_in_record=bool(form.name_in_record.data),
            held=limits.held(talk.id, request.remote_addr))
    except DomainError as exc:
        db.session.rollback()
        status = {"rate_limited": 429, "closed": 409, "forbidden": 403}.get(exc.code, 400)
        return _render_talk(talk, form, message(exc.code, exc.detail), status)
    publish.commit(publish.outbox(db.session, talk, write, now()))
    flash(_("Gesendet – wartet auf Freigabe"), "success")
    return redirect(url_for("audience.talk_page", slug=talk.slug, lang=request.args.get("lang")), 303)


@bp.get("/t/<slug>/regeln")
def rules(slug: str):
    """"Regeln der Fragerunde": the talk's series' own, else the default text (in the template)."""
    talk = talk_or_404(slug)
    own = talk.series.rules if talk.series is not None else None
    paragraphs = [p.strip() for p in (own or "").split("\n\n") if p.strip()]
    return render_template("regeln.html", talk=talk, paragraphs=paragraphs,
                           contact=current_app.config["CONTACT_EMAIL"])


@bp.get("/t/<slug>/dokumentation")
def documentation_page(slug: str):
    """The published record of a talk; 404 until an admin ticks "Dokumentation veröffentlichen"."""
    db.session.rollback()
    begin_read_only(db.session)
    talk = talk_or_404(slug)
    if not talk.record_published:
        abort(404)
    return render_template("dokumentation.html", talk=talk, doc=documentation.build(db.session, talk), now=now())


@bp.get("/datenschutz")
def privacy():
    return render_template("datenschutz.html", contact=current_app.config["CONTACT_EMAIL"])


@bp.get("/barrierefreiheit")
def accessibility():
    return render_template("barrierefreiheit.html", contact=current_app.config["CONTACT_EMAIL"],
                           statement_date=format_date(STATEMENT_DATE, "long"))


@bp.get("/healthz")
def healthz():
    try:
        db.session.rollback()
        begin_read_only(db.session)
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any failure of the database is "not ready", never a 500 page
        db.session.rollback()
        current_app.logger.warning("health check: database does not answer")
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")

