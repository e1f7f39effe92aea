"""HTTP blueprints, one per audience, and the headers every response carries."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request
from flask_babel import get_locale

from .. import messages
from ..extensions import login_manager
from . import admin, audience, auth, errors, intake, moderate, podium, strings, words


def register(app: Flask) -> None:
    for blueprint in (audience.bp, auth.bp, moderate.bp, podium.bp, admin.bp, intake.bp):
        app.register_blueprint(blueprint)
    app.before_request(_nonce)
    app.before_request(_same_origin_posts)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    # macros are imported without context
    app.jinja_env.globals.update(talk_when=words.talk_when, action_word=messages.action_word,
                                 reason_word=messages.reason_word, status_word=messages.status_word,
                                 source_word=words.source_word, source_words=words.source_words)
    errors.register(app)
    login_manager.user_loader(auth.load_user)


def _template_globals() -> dict:
    return {"csp_nonce": g.get("csp_nonce", ""), "lang": str(get_locale()),
            "imprint_url": current_app.config["IMPRINT_URL"], "status_words": messages.status_words(public=True),
            "intake_address": intake_address,
            "common_strings": strings.common() | {"counts": words.script_counts()}}


def intake_address(slug: str) -> str | None:
    """The address a talk's questions can be mailed to: INTAKE_ADDRESS with the talk's Kürzel as
    a plus tag (fragen+wohnen@example.org); None without one."""
    address = current_app.config.get("INTAKE_ADDRESS")
    if not address or "@" not in address:
        return address or None
    local, domain = address.rsplit("@", 1)
    return f"{local.split('+', 1)[0]}+{slug}@{domain}"


def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _same_origin_posts() -> None:
    """Form posts from another site are refused (CSRF tokens are the second line)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint == intake.bp.name:
        return  # the intake API takes a bearer token, never a cookie
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = current_app.config["PUBLIC_ORIGIN"] or request.host_url.rstrip("/")
    if origin.rstrip("/") != allowed:
        abort(403)


def _socket_origins() -> str:
    origin = current_app.config["PUBLIC_ORIGIN"]
    if not origin:
        return ""
    parts = urlsplit(origin)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f" {origin} {scheme}://{parts.netloc}"


# Staff pages and exports (the queue, the admin talk page with its podium token, exports, report,
# audit log), the podium's secret-link pages, login and the intake API: never kept in a browser's
# or proxy's cache, where the next person at a shared conference PC would find them.
NO_STORE_BLUEPRINTS = frozenset({"admin", "moderate", "podium", "auth", "intake"})


def _security_headers(response):
    if request.blueprint in NO_STORE_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    frame_ancestors = "'none'"
    if request.blueprint == "podium" and current_app.config["PODIUM_FRAME_ANCESTORS"]:
        frame_ancestors = current_app.config["PODIUM_FRAME_ANCESTORS"]
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{g.get('csp_nonce', '')}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'{_socket_origins()}; "
        "form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Not "no-referrer": with it browsers send `Origin: null` on same-origin form posts, which
    # _same_origin_posts refuses. "same-origin" still sends nothing to other sites.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if frame_ancestors == "'none'":
        response.headers["X-Frame-Options"] = "DENY"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
