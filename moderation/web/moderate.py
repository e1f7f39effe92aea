"""The moderators' pages: the live queue, the export, the QR code for the audience link, the report."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from ..clock import now
from ..extensions import db
from ..messages import message
from ..models import Talk
from ..readmodel import publish
from ..services import channels, organiser, report, similar, topics, windows
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import desk
from .exports import csv_response, question_table, xlsx_response
from .forms import ImportForm
from .lookup import public_url, talk_or_404

bp = Blueprint("moderate", __name__, url_prefix="/moderate")


def moderated_talk(slug: str) -> Talk:
    """The talk, if this account moderates it: 404 for no such talk, 403 for someone else's."""
    talk = talk_or_404(slug)
    if not organiser.may_moderate(db.session, current_user, talk):
        abort(403, description=_("Sie moderieren diesen Vortrag nicht. Die Moderation dieses Vortrags "
                                 "teilt eine Person aus der Verwaltung zu – bitte wenden Sie sich an sie."))
    return talk


@bp.get("/")
@login_required
def overview():
    series, loose = talk_service.listing(db.session)
    return render_template("index.html", series=series, loose=loose, now=now(), is_open=windows.is_open,
                           staff=True, link_endpoint="moderate.queue")


@bp.get("/<slug>")
@login_required
def queue(slug: str):
    talk = moderated_talk(slug)
    return render_template("moderate.html", talk=talk, now=now(), open=windows.is_open(talk, now()),
                           desk=desk.config(current_user.username),
                           audience_url=public_url("audience.talk_page", slug=talk.slug),
                           podium_url=public_url("podium.screen", token=talk.podium_token))


@bp.get("/<slug>/qr.svg")
@login_required
def qr(slug: str) -> Response:
    talk = moderated_talk(slug)
    return qr_response(public_url("audience.talk_page", slug=talk.slug), talk.title)


def qr_response(url: str, title: str, light: str | None = None) -> Response:
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=2, title=title, light=light)
    return Response(out.getvalue(), mimetype="image/svg+xml")


@bp.get("/<slug>/export.csv")
@login_required
def export(slug: str) -> Response:
    talk = moderated_talk(slug)
    columns, rows = question_table(db.session, talk)
    return csv_response(f"fragerunde-{talk.slug}.csv", [c.title for c in columns], rows)


@bp.get("/<slug>/export.xlsx")
@login_required
def export_xlsx(slug: str) -> Response:
    talk = moderated_talk(slug)
    columns, rows = question_table(db.session, talk)
    return xlsx_response(f"fragerunde-{talk.slug}.xlsx", _("Fragen"), columns, rows)


@bp.post("/<slug>/podium-next")
@login_required
def podium_next(slug: str) -> WerkzeugResponse:
    """Show or hide "Als Nächstes" on the podium (a form, so it works without the live page)."""
    talk = moderated_talk(slug)
    write = talk_service.set_podium_next(db.session, talk, current_user._get_current_object(),
                                         request.form.get("show") == "1")
    publish.commit(publish.outbox(db.session, talk, write, now()))
    return redirect(url_for("moderate.queue", slug=slug), 303)


@bp.get("/<slug>/report")
@login_required
def report_page(slug: str):
    talk = moderated_talk(slug)
    built = report.build(db.session, talk)
    with_meaning = similar.backend(current_app.config.get("SIMILAR_BACKEND")) == "embedding"
    talk_topics = topics.for_report(db.session, talk, with_meaning)
    db.session.commit()  # vectors encoded for questions that had none are kept
    return render_template("report.html", report=built, topics=talk_topics, now=now())


@bp.route("/<slug>/import", methods=["GET", "POST"])
@login_required
def import_list(slug: str):
    """"Fragen übernehmen": a pasted list (one question per line, or blocks separated by a blank
    line, "Name: " before a question), "Vorschau" marks what repeats or resembles open
    questions, "Übernehmen" stores them as pending questions of the channel `import`."""
    talk = moderated_talk(slug)
    request.max_content_length = 512 * 1024  # a long list from a mailbox or a chat log
    form = ImportForm()
    lines, error, status = None, None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        user = current_user._get_current_object()
        limits = current_app.extensions["rate_limits"]
        try:
            if "take" in request.form:
                write, lines = channels.take_list(
                    db.session, talk, form.questions.data or "", form.source.data, user, now(),
                    admit=lambda: limits.check("IMPORT", account=str(user.id)))
                publish.commit(publish.outbox(db.session, talk, write, now()))
                flash(_("%(taken)s Fragen übernommen, %(left)s schon offene ausgelassen.",
                        taken=len(write.changed), left=sum(line.duplicate_of is not None for line in lines)),
                      "success")
                return redirect(url_for("moderate.import_list", slug=talk.slug), 303)
            lines = channels.preview(db.session, talk, form.questions.data or "")
        except DomainError as exc:
            db.session.rollback()
            error, status = message(exc.code, exc.detail), 400
            lines = exc.detail.get("lines", lines)
    return render_template("import.html", talk=talk, form=form, lines=lines, error=error,
                           message=message), status
