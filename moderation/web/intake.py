"""The intake API for relays (a stream's chat, a script): JSON in, JSON out, a bearer token per
talk and channel. No cookies, so no CSRF token and no Origin check: the token is the key."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..clock import now
from ..extensions import csrf, db
from ..messages import message
from ..readmodel import publish
from ..services import channels
from ..services import talks as talk_service
from ..services.errors import DomainError
from ..services.text import printable

bp = Blueprint("intake", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
STATUS = {"forbidden": 401, "closed": 409, "rate_limited": 429, "not_found": 401}


def refused(exc: DomainError) -> Response:
    status = STATUS.get(exc.code, 400)
    if exc.code == "forbidden" and exc.detail.get("blocked"):
        status = 403
    response = jsonify(error=exc.code, message=message(exc.code, exc.detail))
    response.status_code = status
    if exc.code == "rate_limited":
        response.headers["Retry-After"] = str(exc.detail.get("retry_after", 60))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fragerunde"'
    return response


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


@bp.post("/talks/<slug>/questions")
def submit(slug: str) -> Response:
    """`{text, name?, source?, external_id?}` → 201 `{id, status}`; the same external_id again → 200."""
    limits = current_app.extensions["rate_limits"]
    try:
        talk = talk_service.by_slug(db.session, slug)
        token = channels.authorise(db.session, talk, _bearer())
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise DomainError("invalid", {"field": "body"})
        clean = {key: printable(value) if isinstance(value, str) else value for key, value in data.items()}
        item = channels.Relayed(text=clean.get("text"), name=clean.get("name"), source=clean.get("source"),
                                external_id=clean.get("external_id"))
        write, created = channels.relayed(
            db.session, talk, token, item, secret=current_app.config["SECRET_KEY"], now=now(),
            admit=lambda client: limits.check("INTAKE", client=client, token=str(token.id)))
    except DomainError as exc:
        db.session.rollback()
        return refused(exc)
    question = write.question
    assert question is not None
    publish.commit(publish.outbox(db.session, talk, write, now()))
    response = jsonify(id=question.id, status=question.status)
    response.status_code = 201 if created else 200
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    """Browser-based relays (a chat tool running in a page) may post from their own origin: the
    answer carries no cookie and the request needs the token, so any origin may read it."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    return response


@bp.route("/talks/<slug>/questions", methods=["OPTIONS"])
def preflight(slug: str) -> Response:
    return Response(status=204)
