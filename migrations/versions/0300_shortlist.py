"""The moderators' shortlist ("Vormerken"): a star on a question, shared by the talk's moderators.

Revision ID: 0300_shortlist
Revises: 0200_overlay_seq
"""
import sqlalchemy as sa
from alembic import op

revision = "0300_shortlist"
down_revision = "0200_overlay_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("question") as batch_op:
        batch_op.add_column(sa.Column("shortlisted", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("question") as batch_op:
        batch_op.drop_column("shortlisted")
