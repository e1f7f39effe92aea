"""The stream's overlay is a view of its own: it counts the changes it is told of (never the line
to the podium), so the podium screen can hear that line under a seq without leaving a gap there.

Revision ID: 0200_overlay_seq
Revises: 0250_question_vector
"""
import sqlalchemy as sa
from alembic import op

revision = "0200_overlay_seq"
down_revision = "0250_question_vector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("talk") as batch_op:
        batch_op.add_column(sa.Column("overlay_seq", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("talk") as batch_op:
        batch_op.drop_column("overlay_seq")
