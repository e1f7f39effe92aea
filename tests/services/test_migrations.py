"""The migrations build exactly the schema the models describe, and go down and up again, on
SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from moderation.extensions import db

pytestmark = pytest.mark.postgres


def schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


def test_migrations_build_the_models_schema(app):
    assert schema_differences(app) == []


def test_migrations_go_down_to_nothing_and_up_again(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"question", "talk", "vote", "audit_entry"} <= tables
        downgrade(revision="base")
        db.engine.dispose()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
        assert set(inspect(db.engine).get_table_names()) == tables
    assert schema_differences(app) == []
