"""The big screen for a talk, reached by its secret link; `?overlay=1` for streaming software."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from ..extensions import db
from ..services import talks as talk_service
from ..services.errors import DomainError
from .lookup import podium_talk_or_404, public_url
from .moderate import qr_response

bp = Blueprint("podium", __name__)


@bp.get("/podium/<token>")
def screen(token: str) -> str | tuple[str, int]:
    try:
        talk = talk_service.by_podium_token(db.session, token)
    except DomainError:
        # A projector reopened with a renewed (or mistyped) link: said large, on the screen itself.
        return render_template("podium_gone.html", overlay=request.args.get("overlay") == "1"), 404
    # The stream's overlay shows the questions only, never the line to the podium.
    return render_template("podium.html", talk=talk, token=token, overlay=request.args.get("overlay") == "1",
                           audience_url=public_url("audience.talk_page", slug=talk.slug))


@bp.get("/podium/<token>/qr.svg")
def qr(token: str) -> Response:
    """The audience link as a QR code for the idle screen: dark on white, readable on a dark page."""
    talk = podium_talk_or_404(token)
    return qr_response(public_url("audience.talk_page", slug=talk.slug), talk.title, light="#ffffff")
