from flask import Blueprint, render_template

from .lookup import podium_talk_or_404

bp = Blueprint("podium", __name__)


@bp.get("/podium/<token>")
def screen(token: str):
    talk = podium_talk_or_404(token)
    return render_template("podium.html", talk=talk, token=token)
