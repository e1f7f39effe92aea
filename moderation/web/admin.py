"""The organiser's side (admins only): talks, who moderates them, accounts, series, the audit log."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..clock import now
from ..extensions import db
from ..messages import message
from ..models import AuditEntry, Series, Talk, User
from ..readmodel import access, publish
from ..readmodel.views import MODERATOR
from ..services import accounts, channels, organiser, rehearsal
from ..services import mail as mail_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import words
from .admin_forms import ActionForm, AssignForm, RoleForm, RulesForm, TalkForm, TokenForm, UserForm
from .exports import csv_response
from .lookup import public_url, talk_or_404

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _me() -> User:
    return current_user._get_current_object()


@bp.get("/")
@admin_required
def index():
    series, loose = talk_service.listing(db.session)
    return render_template("admin/index.html", series=series, loose=loose, now=now(), state=organiser.state,
                           counts=organiser.question_counts(db.session))


def _talk_form(talk: Talk | None) -> TalkForm:
    form = TalkForm(obj=None)
    form.series.choices = [SelectChoice(0, _("keine Reihe"))] + [
        SelectChoice(s.id, s.title) for s in db.session.scalars(select(Series).order_by(Series.title))]
    staff = db.session.scalars(select(User).where(User.role == "moderator").order_by(User.username))
    form.moderators.choices = [SelectChoice(u.id, u.username if u.active else f"{u.username} ({_('deaktiviert')})")
                               for u in staff]
    if talk is not None and request.method == "GET":
        local = lambda at: at.astimezone(talk_service.BERLIN)  # noqa: E731
        form.title.data, form.slug.data = talk.title, talk.slug
        form.series.data = talk.series_id or 0
        form.day.data = local(talk.starts_at).date()
        form.begins.data, form.ends.data = local(talk.starts_at).time(), local(talk.ends_at).time()
        form.description.data = talk.description
        form.audience_votes.data, form.premoderation.data = talk.audience_votes, talk.premoderation
        form.early_questions.data = talk.early_questions
        form.moderators.data = [u.id for u in organiser.moderators(db.session, talk)]
        form.recording_url.data = talk.recording_url
        form.record_published.data = talk.record_published
    elif talk is None and request.method == "GET":
        series = request.args.get("series", type=int)
        form.series.data = series or 0
    return form


FIELD_ERRORS = {
    ("slug", "taken"): lambda: _("Dieses Kürzel ist schon vergeben."),
    ("slug", "format"): lambda: _("Nur Kleinbuchstaben, Ziffern und Bindestriche, z. B. wohnen-2021."),
    ("slug", "reserved"): lambda: _("Dieses Kürzel ist ein Wort der Adressen dieser Anwendung (z. B. „new“). "
                                    "Bitte ein anderes wählen."),
    ("begins", "dst_gap"): lambda: _("Diese Uhrzeit gibt es an diesem Tag wegen der Zeitumstellung nicht."),
    ("ends", "dst_gap"): lambda: _("Diese Uhrzeit gibt es an diesem Tag wegen der Zeitumstellung nicht."),
    ("ends", "before_start"): lambda: _("Das Ende muss nach dem Beginn liegen."),
    ("recording_url", "None"): lambda: _("Bitte einen Link angeben, der mit https:// beginnt."),
}


def _save_talk(talk: Talk | None):
    form = _talk_form(talk)
    if form.validate_on_submit():
        data = organiser.TalkInput(
            title=form.title.data, slug=form.slug.data, day=form.day.data, begins=form.begins.data,
            ends=form.ends.data, series_id=form.series.data or None, description=form.description.data or "",
            audience_votes=form.audience_votes.data, premoderation=form.premoderation.data,
            early_questions=form.early_questions.data, moderator_ids=form.moderators.data or [],
            recording_url=form.recording_url.data or None, record_published=form.record_published.data)
        try:
            saved = organiser.save(db.session, talk, data, _me())
        except DomainError as exc:
            db.session.rollback()
            field = str(exc.detail.get("field", "title"))
            words = FIELD_ERRORS.get((field, str(exc.detail.get("reason"))), lambda: _("Ungültige Eingabe."))
            getattr(form, field).errors = [*getattr(form, field).errors, words()]
        else:
            slug = saved.talk.slug
            publish.commit(publish.outbox(db.session, saved.talk, saved.write, now()))
            flash(_("Gespeichert."), "success")
            return redirect(url_for("admin.talk", slug=slug), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/talk.html", form=form, talk=talk, **_talk_links(talk)), status


def _talk_links(talk: Talk | None, token_form: TokenForm | None = None) -> dict:
    if talk is None:
        return {}
    return {"audience_url": public_url("audience.talk_page", slug=talk.slug),
            "podium_url": public_url("podium.screen", token=talk.podium_token),
            "record_url": public_url("audience.documentation_page", slug=talk.slug),
            "rotate_form": ActionForm(), "state": organiser.state(talk, now()),
            "tokens": channels.tokens(db.session, talk), "token_form": token_form or TokenForm(),
            "api_url": public_url("intake.submit", slug=talk.slug)}


@bp.post("/talks/<slug>/tokens")
@admin_required
def create_token(slug: str):
    """"Zugang anlegen": a token for a relay, shown on this page once and never again."""
    talk = talk_or_404(slug)
    form = TokenForm()
    shown = None
    status = 400
    if form.validate_on_submit():
        try:
            row, token = channels.create_token(db.session, talk, form.label.data, _me())
        except DomainError as exc:
            db.session.rollback()
            form.label.errors = [message(exc.code, exc.detail)]
        else:
            db.session.commit()
            shown, status, form = (row.label, token), 201, TokenForm(formdata=None)
    return make_response(render_template("admin/talk.html", form=_talk_form(talk), talk=talk, new_token=shown,
                                         **_talk_links(talk, form)), status)


@bp.post("/talks/<slug>/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(slug: str, token_id: int):
    talk = talk_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        row = channels.revoke_token(db.session, talk, token_id, _me(), now())
    except DomainError:
        abort(404)
    db.session.commit()
    flash(_("Zugang „%(label)s“ widerrufen.", label=row.label), "success")
    return redirect(url_for("admin.talk", slug=talk.slug) + "#channels", 303)


def _talk_choices() -> list[SelectChoice]:
    return [SelectChoice(t.id, f"{t.title} ({t.slug})")
            for t in db.session.scalars(select(Talk).order_by(Talk.starts_at.desc()))]


@bp.get("/mail")
@admin_required
def mail():
    """"Ohne Zuordnung": mails no talk took (no Kürzel, the round closed, text refused, a limit),
    each with a form to put it into a talk or to drop it."""
    rows = mail_service.waiting(db.session)
    forms = {}
    for row in rows:
        form = AssignForm(formdata=None, prefix=f"m{row.id}")
        form.talk.choices = _talk_choices()
        form.talk.data, form.text.data, form.name.data = row.talk_id, row.text, row.name
        forms[row.id] = form
    return make_response(render_template("admin/mail.html", rows=rows, forms=forms, action=ActionForm(),
                                          reasons=words.mail_reasons()))


@bp.post("/mail/<int:mail_id>/assign")
@admin_required
def assign_mail(mail_id: int):
    form = AssignForm(prefix=f"m{mail_id}")
    form.talk.choices = _talk_choices()
    if not form.validate_on_submit():
        abort(400)
    talk = db.session.get(Talk, form.talk.data)
    if talk is None:
        abort(404)
    try:
        write = mail_service.assign(db.session, mail_id, talk, form.text.data or "", form.name.data, _me(), now())
    except DomainError as exc:
        db.session.rollback()
        if exc.code == "not_found":
            abort(404)
        flash(message(exc.code, exc.detail), "error")
        return redirect(url_for("admin.mail") + f"#mail-{mail_id}", 303)
    publish.commit(publish.outbox(db.session, talk, write, now()))
    flash(_("Die Mail ist jetzt eine Frage in „%(talk)s“.", talk=talk.title), "success")
    return redirect(url_for("admin.mail"), 303)


@bp.post("/mail/<int:mail_id>/discard")
@admin_required
def discard_mail(mail_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        mail_service.discard(db.session, mail_id, _me())
    except DomainError:
        abort(404)
    db.session.commit()
    flash(_("Mail verworfen."), "success")
    return redirect(url_for("admin.mail"), 303)


@bp.route("/talks/new", methods=["GET", "POST"])
@admin_required
def new_talk():
    return _save_talk(None)


@bp.route("/talks/<slug>", methods=["GET", "POST"])
@admin_required
def talk(slug: str):
    return _save_talk(talk_or_404(slug))


@bp.post("/talks/<slug>/podium")
@admin_required
def rotate_podium(slug: str):
    talk = talk_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    box = publish.outbox(db.session, talk, organiser.rotate_podium_token(db.session, talk, _me()), now())
    # Open desks show the new link at once (only moderators ever see it).
    box.add("podium_link", {"url": public_url("podium.screen", token=talk.podium_token)},
            MODERATOR.room(talk.id), MODERATOR.namespace)
    publish.commit(box)
    flash(_("Neuer Podium-Link. Der alte funktioniert nicht mehr."), "success")
    return redirect(url_for("admin.talk", slug=talk.slug), 303)


@bp.post("/talks/<slug>/rehearsal")
@admin_required
def rehearse(slug: str):
    """"Probelauf starten" / "Probelauf beenden" (services/rehearsal.py)."""
    talk = talk_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    at = now()
    if request.form.get("action") == "end":
        write, removed = rehearsal.end(db.session, talk, _me())
        publish.commit(publish.restart(db.session, talk, at) if write.talk_changed else publish.Outbox())
        flash(ngettext("Probelauf beendet: %(num)s Frage entfernt.", "Probelauf beendet: %(num)s Fragen entfernt.",
                       removed), "success")
        return redirect(url_for("admin.talk", slug=talk.slug), 303)
    try:
        write = rehearsal.start(db.session, talk, _me(), at)
    except DomainError:
        db.session.rollback()
        flash(_("Während die Fragerunde offen ist, kann kein Probelauf beginnen: Fragen echter Personen würden "
                "mit ihm gelöscht."), "error")
        return redirect(url_for("admin.talk", slug=talk.slug), 303)
    publish.commit(publish.outbox(db.session, talk, write, at))
    flash(_("Probelauf gestartet. Alle Seiten zeigen „Probelauf“; beim Beenden wird alles gelöscht, was "
            "währenddessen geschah."), "success")
    return redirect(url_for("admin.talk", slug=talk.slug), 303)


def _series_or_404(slug: str) -> Series:
    found = db.session.scalar(select(Series).where(Series.slug == slug)) if len(slug) <= 80 else None
    if found is None:
        abort(404)
    return found


@bp.route("/series/<slug>", methods=["GET", "POST"])
@admin_required
def series(slug: str):
    from ..services import report
    found = _series_or_404(slug)
    form = RulesForm()
    if request.method == "POST":
        if form.validate_on_submit():
            found.rules = (form.rules.data or "").strip().replace("\r\n", "\n") or None
            db.session.commit()
            flash(_("Regeln gespeichert."), "success")
            return redirect(url_for("admin.series", slug=found.slug), 303)
    else:
        form.rules.data = found.rules or ""
    reports = [report.build(db.session, t) for t in found.talks]
    status = 400 if form.errors else 200
    return render_template("admin/series.html", series=found, reports=reports, now=now(), state=organiser.state,
                           rules_form=form), status


def _users_page(form: UserForm | None = None, shown_password: tuple[str, str] | None = None,
                error: str | None = None, status: int = 200):
    return make_response(render_template(
        "admin/users.html", form=form or UserForm(), users=accounts.listing(db.session), action=ActionForm(),
        role_form=RoleForm(), entries=accounts.entries(db.session), shown_password=shown_password,
        error=error, me=_me(), admins=accounts.active_admins(db.session)), status)


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = UserForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _users_page(form, status=400)
        try:
            user = accounts.create(db.session, _me(), form.username.data, form.password.data, form.role.data)
        except DomainError as exc:
            db.session.rollback()
            if exc.detail.get("reason") == "taken":
                form.username.errors = [_("Diesen Benutzernamen gibt es schon.")]
            else:
                form.username.errors = [_("Ungültige Eingabe.")]
            return _users_page(form, status=400)
        db.session.commit()
        flash(_("Konto %(name)s angelegt.", name=user.username), "success")
        return redirect(url_for("admin.users"), 303)
    return _users_page(form)


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    return user


REFUSALS = {
    "self": lambda: _("Das eigene Konto kann man weder deaktivieren noch herabstufen."),
    "last_admin": lambda: _("Das letzte aktive Admin-Konto bleibt bestehen."),
    "not_admin": lambda: _("Ihr Konto ist inzwischen kein Admin-Konto mehr."),
}


def _refused(exc: DomainError):
    db.session.rollback()
    return _users_page(error=REFUSALS.get(str(exc.detail.get("reason")), lambda: _("Ungültige Eingabe."))(), status=409)


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_active(user_id: int):
    user = _account(user_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(db.session, _me(), user, active)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    if not active:
        access.end_sessions(access.account(user.id), "deactivated")
    flash(_("Konto %(name)s aktiviert.", name=user.username) if active
          else _("Konto %(name)s deaktiviert.", name=user.username), "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/role")
@admin_required
def set_role(user_id: int):
    user = _account(user_id)
    try:
        accounts.set_role(db.session, _me(), user, request.form.get("role", ""))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    access.end_sessions(access.account(user.id), "role")  # a former admin keeps only the talks assigned
    flash(_("Rolle von %(name)s gespeichert.", name=user.username), "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int):
    user = _account(user_id)
    password = accounts.reset_password(db.session, _me(), user)
    db.session.commit()
    access.end_sessions(access.account(user.id), "password")
    return _users_page(shown_password=(user.username, password))


def _entries(slug: str):
    talk = talk_or_404(slug)
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.talk_id == talk.id).order_by(AuditEntry.id))
    return talk, list(rows)


@bp.get("/audit/<slug>")
@admin_required
def audit(slug: str):
    talk, entries = _entries(slug)
    return render_template("audit.html", talk=talk, entries=entries, words=words)


@bp.get("/audit/<slug>.csv")
@admin_required
def audit_csv(slug: str):
    talk, entries = _entries(slug)
    header = ["id", "at", "user", "action", "question_id", "from", "to", "before", "after", "undoes"]
    rows = ([e.id, e.at.isoformat(), e.username, e.action, e.question_id, e.from_status, e.to_status,
             e.before, e.after, e.undoes_id] for e in entries)
    return csv_response(f"audit-{talk.slug}.csv", header, rows)
