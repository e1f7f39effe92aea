"""flask commands: seed, create-user, reset-password, demo-questions, podium-url, serve, purge."""
from __future__ import annotations

import os
import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .models import User, utcnow
from .readmodel import access
from .readmodel.sequence import advance
from .readmodel.views import VIEWS
from .services import accounts, retention, similar, topics
from .services import talks as talk_service
from .services.errors import DomainError


def register(app: Flask) -> None:
    for command in (seed, create_user, reset_password, demo_questions, podium_url, serve, purge, intake_token):
        app.cli.add_command(command)


def _podium_link(talk) -> str:
    origin = current_app.config["PUBLIC_ORIGIN"] or "http://127.0.0.1:5000"
    return f"{origin}/podium/{talk.podium_token}"


@click.command("seed")
def seed() -> None:
    """Idempotent: the series, its talks, a talk `demo` open now, and a first moderator."""
    for line in talk_service.seed(db.session, utcnow()):
        click.echo(line)
    if db.session.scalar(select(User).limit(1)) is None:
        password = secrets.token_urlsafe(12)
        user = accounts.create_or_update(db.session, "moderator", password, "admin")
        accounts.log(db.session, None, "created", user, "admin (seed)")
        click.echo(f"Admin-Zugang angelegt (nur jetzt sichtbar): Benutzer »moderator«, Passwort »{password}«")
        click.echo("Neues Passwort später: flask --app wsgi reset-password moderator")
    db.session.commit()
    demo = talk_service.by_slug(db.session, talk_service.DEMO_SLUG)
    origin = current_app.config["PUBLIC_ORIGIN"] or "http://127.0.0.1:5000"
    click.echo(f"Publikum:   {origin}/t/{demo.slug}")
    click.echo(f"Moderation: {origin}/moderate/{demo.slug}")
    click.echo(f"Podium:     {_podium_link(demo)}")


@click.command("create-user")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(accounts.ROLES), default="moderator", show_default=True)
def create_user(name: str, password: str, role: str) -> None:
    """Create an account, or set the password and role of an existing one."""
    existed = accounts.by_name(db.session, name) is not None
    try:
        user = accounts.create_or_update(db.session, name, password, role)
    except DomainError as exc:
        raise click.ClickException(f"ungültig: {exc.detail.get('field', exc.code)} "
                                   "(Passwort: mindestens 8 Zeichen)") from None
    accounts.log(db.session, None, "updated" if existed else "created", user, f"{role} (Kommandozeile)")
    db.session.commit()
    if existed:
        access.end_sessions(access.account(user.id), "password")
    click.echo(f"Konto {user.username} ({user.role}) gespeichert.")


@click.command("reset-password")
@click.argument("name")
def reset_password(name: str) -> None:
    """Set a new generated password, print it once, and end every session of the account."""
    user = accounts.by_name(db.session, name)
    if user is None:
        raise click.ClickException(f"Kein Konto mit dem Namen {name!r}.")
    password = accounts.reset_password(db.session, None, user)
    db.session.commit()
    access.end_sessions(access.account(user.id), "password")
    click.echo(f"Neues Passwort für {user.username} (nur jetzt sichtbar): {password}")


@click.command("demo-questions")
@click.argument("slug")
@click.option("--count", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--seed", "seed_value", default=1, show_default=True, type=int)
def demo_questions(slug: str, count: int, seed_value: int) -> None:
    """Fill a talk with generated questions, outcomes and votes (for trying out the report)."""
    from .services import demo
    try:
        talk = talk_service.by_slug(db.session, slug)
    except DomainError:
        raise click.ClickException(f"Kein Vortrag mit dem Kürzel {slug!r}.") from None
    staff = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    made = demo.generate(db.session, talk, count, staff, seed_value)
    if similar.backend(current_app.config.get("SIMILAR_BACKEND")) == "embedding":
        db.session.flush()
        # stored like every question's, so the first report does not encode them all at once
        topics.vectors_for(db.session, talk.id, {q.id: q.text for q in made})
    advance(db.session, talk, VIEWS)  # open screens see a gap and take a fresh snapshot
    db.session.commit()
    click.echo(f"{len(made)} Fragen in {slug} erzeugt.")


@click.command("podium-url")
@click.argument("slug")
def podium_url(slug: str) -> None:
    """Print the podium link of a talk."""
    try:
        talk = talk_service.by_slug(db.session, slug)
    except DomainError:
        raise click.ClickException(f"Kein Vortrag mit dem Kürzel {slug!r}.") from None
    click.echo(_podium_link(talk))


@click.command("intake-token")
@click.argument("slug")
@click.option("--label", required=True, help="the channel, e.g. YouTube: the questions' source becomes api:LABEL")
@click.option("--revoke", is_flag=True, help="revoke the talk's tokens with this label instead")
def intake_token(slug: str, label: str, revoke: bool) -> None:
    """Print a new intake token for a relay of this talk (once), or revoke that label's tokens."""
    from .services import channels
    try:
        talk = talk_service.by_slug(db.session, slug)
    except DomainError:
        raise click.ClickException(f"Kein Vortrag mit dem Kürzel {slug!r}.") from None
    try:
        if revoke:
            n = channels.revoke_label(db.session, talk, label, None, utcnow())
            db.session.commit()
            click.echo(f"{n} Zugang/Zugänge „{label}“ für {slug} widerrufen.")
            return
        row, token = channels.create_token(db.session, talk, label, None)
    except DomainError as exc:
        raise click.ClickException(f"ungültige Bezeichnung ({exc.code}): 1 bis 40 Zeichen") from None
    db.session.commit()
    origin = current_app.config["PUBLIC_ORIGIN"] or "http://127.0.0.1:5000"
    click.echo(f"Zugang „{row.label}“ für {slug} (nur jetzt sichtbar): {token}")
    click.echo(f"POST {origin}/api/v1/talks/{slug}/questions mit Authorization: Bearer {token}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the real-time server (eventlet by default, ASYNC_MODE=gevent and threading supported).

    It replaces this process with `python wsgi.py`: eventlet and gevent must patch the standard library
    before anything else is imported, and Flask ignores app.run() inside a CLI command.
    """
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    wsgi = Path(__file__).resolve().parent.parent / "wsgi.py"
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, str(wsgi), "--host", host, "--port", str(port)])


@click.command("purge")
@click.option("--older-than", "older_than", required=True, help="e.g. 90d")
def purge(older_than: str) -> None:
    """Delete the questions and votes of talks that ended longer ago than this."""
    match = re.fullmatch(r"(\d+)d", older_than.strip())
    if not match:
        raise click.ClickException("Angabe wie 90d (Tage) erwartet.")
    cutoff = utcnow() - timedelta(days=int(match.group(1)))
    result = retention.purge(db.session, cutoff)
    db.session.commit()
    click.echo(f"Gelöscht: {result['questions']} Fragen, {result['votes']} Stimmen aus "
               f"{result['talks']} Vorträgen, die vor {cutoff:%Y-%m-%d} endeten.")
