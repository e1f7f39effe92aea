"""Error pages: HTML for people, JSON for the health check."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..messages import message

CODES = (400, 403, 404, 405, 413, 429, 500)


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_failed)
    for code in CODES:
        app.register_error_handler(code, error_page)


def error_page(exc: HTTPException) -> ResponseReturnValue:
    code = getattr(exc, "code", 500) or 500
    if request.path.startswith("/healthz"):
        return jsonify(status="error"), code
    if request.path.startswith("/api/"):
        error = {404: "not_found", 413: "too_long", 429: "rate_limited"}.get(
            code, "invalid" if code < 500 else "internal")
        return jsonify(error=error, message=message(error)), code
    # A refusal the code explained (abort(403, description=…)) says so; werkzeug's own English
    # default texts never reach a page.
    own = exc.description if code == 403 and exc.description != type(exc).description else None
    return render_template("error.html", code=code, detail=own), code


def csrf_failed(exc: CSRFError) -> ResponseReturnValue:
    return render_template("error.html", code=400,
                           detail=_("Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")), 400
