"""What every blueprint needs: the talk of a URL (or 404), links for other devices."""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, url_for

from ..extensions import db
from ..models import Talk
from ..services import talks as talk_service
from ..services.errors import DomainError


def talk_or_404(slug: str) -> Talk:
    try:
        return talk_service.by_slug(db.session, slug)
    except DomainError:
        abort(404)


def podium_talk_or_404(token: str) -> Talk:
    try:
        return talk_service.by_podium_token(db.session, token)
    except DomainError:
        abort(404)


def public_url(endpoint: str, **values: Any) -> str:
    """Links meant for other devices: on PUBLIC_ORIGIN when it is set."""
    origin = current_app.config["PUBLIC_ORIGIN"]
    if origin:
        return origin + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
