"""A sequence per view: the audience and the podium count only the changes they are told of.

Revision ID: 0003_view_seqs
Revises: 0002_audit_entry
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_view_seqs"
down_revision = "0002_audit_entry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("talk") as batch_op:
        batch_op.add_column(sa.Column("audience_seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("podium_seq", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("talk") as batch_op:
        batch_op.drop_column("podium_seq")
        batch_op.drop_column("audience_seq")
