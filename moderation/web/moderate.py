"""The moderators' pages: the live queue, the export, the QR code for the audience link."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..live import broadcast
from ..services import talks as talk_service
from ..services import windows
from ..services.errors import DomainError
from .audience import now
from .exports import csv_response, question_table, xlsx_response

bp = Blueprint("moderate", __name__, url_prefix="/moderate")


def public_url(endpoint: str, **values) -> str:
    """Links meant for other devices: on PUBLIC_ORIGIN when it is set."""
    origin = current_app.config["PUBLIC_ORIGIN"]
    if origin:
        return origin + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _talk(slug: str):
    try:
        return talk_service.by_slug(db.session, slug)
    except DomainError:
        abort(404)


@bp.get("/")
@login_required
def overview():
    series, loose = talk_service.listing(db.session)
    return render_template("index.html", series=series, loose=loose, now=now(), is_open=windows.is_open,
                           staff=True, link_endpoint="moderate.queue")


@bp.get("/<slug>")
@login_required
def queue(slug: str):
    talk = _talk(slug)
    return render_template("moderate.html", talk=talk, now=now(), open=windows.is_open(talk, now()),
                           audience_url=public_url("audience.talk_page", slug=talk.slug),
                           podium_url=public_url("podium.screen", token=talk.podium_token))


@bp.get("/<slug>/qr.svg")
@login_required
def qr(slug: str):
    talk = _talk(slug)
    return qr_response(public_url("audience.talk_page", slug=talk.slug), talk.title)


def qr_response(url: str, title: str, light: str | None = None) -> Response:
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=2, title=title, light=light)
    return Response(out.getvalue(), mimetype="image/svg+xml")


@bp.get("/<slug>/export.csv")
@login_required
def export(slug: str):
    talk = _talk(slug)
    columns, rows = question_table(db.session, talk)
    return csv_response(f"fragerunde-{talk.slug}.csv", [c.title for c in columns], rows)


@bp.get("/<slug>/export.xlsx")
@login_required
def export_xlsx(slug: str):
    talk = _talk(slug)
    columns, rows = question_table(db.session, talk)
    return xlsx_response(f"fragerunde-{talk.slug}.xlsx", _("Fragen"), columns, rows)


@bp.post("/<slug>/podium-next")
@login_required
def podium_next(slug: str):
    """Show or hide "Als Nächstes" on the podium (a form, so it works without the live page)."""
    talk = _talk(slug)
    at = now()
    talk_service.set_podium_next(db.session, talk, current_user._get_current_object(),
                                 request.form.get("show") == "1")
    outbox = broadcast.talk_changed(talk, talk.seq, at)
    broadcast.commit(outbox)
    return redirect(url_for("moderate.queue", slug=slug), 303)
