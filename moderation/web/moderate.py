"""The moderators' pages: the live queue, the export, the QR code for the audience link."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, render_template
from flask_login import login_required

from ..clock import now
from ..extensions import db
from ..models import Question
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services import windows
from .exports import csv_response
from .lookup import public_url, talk_or_404

bp = Blueprint("moderate", __name__, url_prefix="/moderate")


@bp.get("/")
@login_required
def overview():
    series, loose = talk_service.listing(db.session)
    return render_template("index.html", series=series, loose=loose, now=now(), is_open=windows.is_open,
                           staff=True, link_endpoint="moderate.queue")


@bp.get("/<slug>")
@login_required
def queue(slug: str):
    talk = talk_or_404(slug)
    machine = {"queue": question_service.QUEUE,
               "transitions": {action: {"from": allowed, "to": to}
                               for action, (allowed, to) in question_service.TRANSITIONS.items()}}
    return render_template("moderate.html", talk=talk, now=now(), open=windows.is_open(talk, now()), machine=machine,
                           audience_url=public_url("audience.talk_page", slug=talk.slug),
                           podium_url=public_url("podium.screen", token=talk.podium_token))


@bp.get("/<slug>/qr.svg")
@login_required
def qr(slug: str):
    talk = talk_or_404(slug)
    code = segno.make(public_url("audience.talk_page", slug=talk.slug), error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=2, title=talk.title)
    return Response(out.getvalue(), mimetype="image/svg+xml")


@bp.get("/<slug>/export.csv")
@login_required
def export(slug: str):
    talk = talk_or_404(slug)
    counts = question_service.counts(db.session, talk)
    header = ["id", "status", "text", "original_text", "name", "upvotes", "votes", "merged_into",
              "flagged", "created_at", "forwarded_at", "answered_at"]
    rows = ([q.id, q.status, q.text, q.original_text, q.name, counts.get(q.id, {}).get("upvotes", 0),
             counts.get(q.id, {}).get("votes", 0), q.merged_into_id, q.flagged,
             _time(q.created_at), _time(q.forwarded_at), _time(q.answered_at)]
            for q in db.session.query(Question).filter_by(talk_id=talk.id).order_by(Question.id))
    return csv_response(f"fragerunde-{talk.slug}.csv", header, rows)


def _time(value) -> str:
    return value.astimezone(windows.BERLIN).isoformat(timespec="seconds") if value else ""
