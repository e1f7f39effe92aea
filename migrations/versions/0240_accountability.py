"""Accountable moderation and the record afterwards: reports ("Melden"), reject reasons, the
consent to a name in the documentation, the series' rules, the published documentation with its
recording, and rehearsals ("Probelauf").

Revision ID: 0240_accountability
Revises: 0010_similar
"""
import sqlalchemy as sa
from alembic import op

revision = "0240_accountability"
down_revision = "0010_similar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("question_id", "client_hash"),
    )
    op.create_index("ix_question_report_talk_id", "question_report", ["talk_id"])
    op.create_index("ix_question_report_question_id", "question_report", ["question_id"])
    with op.batch_alter_table("question") as batch_op:
        batch_op.add_column(sa.Column("reject_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("name_in_record", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("rehearsal", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.add_column(sa.Column("rehearsal", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("talk") as batch_op:
        batch_op.add_column(sa.Column("recording_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("record_published", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("rehearsal_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("rehearsal_saved", sa.JSON(), nullable=True))
    with op.batch_alter_table("series") as batch_op:
        batch_op.add_column(sa.Column("rules", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch_op:
        batch_op.drop_column("rules")
    with op.batch_alter_table("talk") as batch_op:
        batch_op.drop_column("rehearsal_saved")
        batch_op.drop_column("rehearsal_since")
        batch_op.drop_column("record_published")
        batch_op.drop_column("recording_url")
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.drop_column("rehearsal")
    with op.batch_alter_table("question") as batch_op:
        batch_op.drop_column("rehearsal")
        batch_op.drop_column("name_in_record")
        batch_op.drop_column("reject_reason")
    op.drop_index("ix_question_report_question_id", table_name="question_report")
    op.drop_index("ix_question_report_talk_id", table_name="question_report")
    op.drop_table("question_report")
