from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..messages import message
from ..readmodel.publish import notify_logout
from ..services import accounts
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def load_user(session_id: str):
    return accounts.load(db.session, session_id)


def _safe_next(target: str | None) -> str:
    """Only a path on this site; browsers drop tabs and newlines, so "/<tab>/host" would lead to //host."""
    if target and target.isprintable() and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return url_for("moderate.overview")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        retry = current_app.extensions["rate_limits"].hit(
            "LOGIN", address=request.remote_addr, account=form.username.data.strip().casefold())
        user = None if retry else accounts.authenticate(db.session, form.username.data, form.password.data)
        if retry:
            error, status = message("rate_limited", {"retry_after": retry}), 429
        elif user is None:
            error, status = _("Benutzername oder Passwort ist falsch."), 401
        else:
            db.session.commit()
            login_user(user)
            session.pop("_id", None)  # Flask-Login's hash of address and browser: unused, not kept
            return redirect(_safe_next(request.args.get("next")), 303)
    elif request.method == "POST":
        error, status = _("Bitte Benutzername und Passwort eingeben."), 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    accounts.end_sessions(db.session, user)
    db.session.commit()
    notify_logout(user)
    logout_user()
    flash(_("Sie sind abgemeldet."), "success")
    return redirect(url_for("auth.login"), 303)

