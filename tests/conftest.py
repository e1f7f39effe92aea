"""Shared fixtures: an app on a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL
is set), a settable clock, staff accounts, and Socket.IO test clients for the three namespaces."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

os.environ.setdefault("ASYNC_MODE", "threading")
# Redis keys and the Socket.IO channel of this test process only (its servers inherit it).
os.environ["REDIS_PREFIX"] = f"fr-test-{uuid.uuid4().hex[:12]}"

from moderation import create_app
from moderation.extensions import db, socketio
from moderation.services import accounts, talks
from tests.helpers import PASSWORD, Clock, require_or_skip, signed_id
from tests.server import postgres_database

# Example counts of the fuzz tests (tests/services/test_fuzz.py): `ci`, the default, keeps them
# meaningful in seconds; `thorough` (`make fuzz`) runs the full counts.
settings.register_profile("ci", max_examples=40)
settings.register_profile("thorough", max_examples=150)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_url():
    """A database of this test process's own next to TEST_DATABASE_URL's, migrated once and dropped
    at the end: parallel workers, and runs from other checkouts, never share one."""
    base = require_or_skip("TEST_DATABASE_URL", "PostgreSQL")
    with postgres_database(base, prefix=f"fr_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}") as url:
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        _migrate(url)
        yield url


def _truncate(url: str) -> None:
    """Empty every table but Alembic's, and restart the ids."""
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.scalars(text("SELECT quote_ident(tablename) FROM pg_tables "
                                   "WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).all()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def pytest_generate_tests(metafunc):
    """Tests marked `postgres` (what depends on PostgreSQL) run on PostgreSQL and SQLite; all others
    on SQLite only."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgres"):
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database_url(request, tmp_path, sqlite_template) -> str:
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at its defaults costs a quarter second per hash: far too slow for hundreds of tests."""
    from argon2 import PasswordHasher
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    dummy = hasher.hash("not-a-password")
    monkeypatch.setattr(accounts, "_dummy_hash", lambda: dummy)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(database_url, clock):
    made = []

    def make(**overrides):
        config = {
            "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False, "VOTE_FLUSH_SECONDS": 0, "SIMILAR_DELAY_SECONDS": 0, "CLOCK": clock,
            "PUBLIC_ORIGIN": None, "RATE_LIMIT_EXEMPT": [], "SESSION_SWEEP_SECONDS": 0,
        }
        config.update(overrides)
        app = create_app(config)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def seeded(app, clock):
    """The series, its talks and an open `demo` talk; returns the demo talk's id."""
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
        return talks.by_slug(db.session, "demo").id


@pytest.fixture
def demo(session, seeded):
    """The open `demo` talk, in the test's session."""
    from moderation.models import Talk
    return session.get(Talk, seeded)


@pytest.fixture
def anna(session):
    """A moderator (the account's default role)."""
    user = accounts.create_or_update(session, "anna", PASSWORD)
    session.commit()
    return user


@pytest.fixture
def admin(app, seeded, login):
    """A test client logged in as the admin "chefin" (modules with more staff define their own)."""
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        db.session.commit()
    return login("chefin")


@pytest.fixture
def moderator_user(app):
    with app.app_context():
        user = accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        db.session.commit()
        return user.id


@pytest.fixture
def login(app, moderator_user):
    """A Flask test client logged in as a moderator (or the given account)."""
    def log_in(username: str = "mod", password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 303, response.status_code
        return client
    return log_in


@pytest.fixture
def audience_client(app, seeded):
    def connect(slug: str = "demo", client_id: str | None = None):
        return socketio.test_client(app, namespace="/audience",
                                    auth={"talk": slug, "client_id": client_id or signed_id(app)})
    return connect


@pytest.fixture
def moderator_client(app, seeded, login):
    def connect(slug: str = "demo", http=None):
        return socketio.test_client(app, namespace="/moderator", auth={"talk": slug},
                                    flask_test_client=http or login())
    return connect


@pytest.fixture
def podium_client(app, seeded):
    def connect(token: str | None = None):
        if token is None:
            with app.app_context():
                token = talks.by_slug(db.session, "demo").podium_token
        return socketio.test_client(app, namespace="/podium", auth={"token": token})
    return connect
