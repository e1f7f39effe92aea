from flask import Blueprint, render_template, request

from .lookup import podium_talk_or_404

bp = Blueprint("podium", __name__)


@bp.get("/podium/<token>")
def screen(token: str):
    talk = podium_talk_or_404(token)
    # The stream's overlay shows the questions only, never the line to the podium.
    overlay = request.args.get("overlay") == "1"
    return render_template("podium.html", talk=talk, token=token, overlay=overlay)
