from flask import Blueprint, abort, render_template

from ..extensions import db
from ..services import talks as talk_service
from ..services.errors import DomainError

bp = Blueprint("podium", __name__)


@bp.get("/podium/<token>")
def screen(token: str):
    try:
        talk = talk_service.by_podium_token(db.session, token)
    except DomainError:
        abort(404)
    return render_template("podium.html", talk=talk, token=token)
