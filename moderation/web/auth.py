from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..messages import message
from ..readmodel import access
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
    status, wait = 200, None
    if form.validate_on_submit():
        limits = current_app.extensions["rate_limits"]
        account, address = form.username.data.strip().casefold(), request.remote_addr
        wait = limits.login_wait(account, address)
        user = None if wait else accounts.authenticate(db.session, form.username.data, form.password.data)
        if wait:
            error, status = message("rate_limited", {"retry_after": wait}), 429
        elif user is None:
            limits.login_failed(account, address)
            error, status = _("Benutzername oder Passwort ist falsch."), 401
        else:
            db.session.commit()
            login_user(user)
            session.pop("_id", None)  # Flask-Login's hash of address and browser: unused, not kept
            return redirect(_safe_next(request.args.get("next")), 303)
    elif request.method == "POST":
        error, status = _("Bitte Benutzername und Passwort eingeben."), 400
    headers = {"Retry-After": str(wait)} if status == 429 else {}
    return render_template("login.html", form=form, error=error), status, headers


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    accounts.log_out_everywhere(db.session, user)
    db.session.commit()
    access.end_sessions(access.account(user.id), "logged_out")
    logout_user()
    flash(_("Sie sind abgemeldet."), "success")
    return redirect(url_for("auth.login"), 303)

