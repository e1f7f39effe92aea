"""The big screen for a talk, reached by its secret link; `?overlay=1` for streaming software."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ..extensions import db
from ..services import talks as talk_service
from ..services.errors import DomainError
from .moderate import public_url, qr_response

bp = Blueprint("podium", __name__)


def _talk(token: str):
    try:
        return talk_service.by_podium_token(db.session, token)
    except DomainError:
        abort(404)


@bp.get("/podium/<token>")
def screen(token: str):
    talk = _talk(token)
    return render_template("podium.html", talk=talk, token=token, overlay=request.args.get("overlay") == "1",
                           audience_url=public_url("audience.talk_page", slug=talk.slug))


@bp.get("/podium/<token>/qr.svg")
def qr(token: str):
    """The audience link as a QR code for the idle screen: dark on white, readable on a dark page."""
    talk = _talk(token)
    return qr_response(public_url("audience.talk_page", slug=talk.slug), talk.title, light="#ffffff")
