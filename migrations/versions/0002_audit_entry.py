"""The audit log's table is named for what a row is: an audit entry.

Revision ID: 0002_audit_entry
Revises: 0001
"""
from alembic import op

revision = "0002_audit_entry"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transition") as batch_op:
        batch_op.drop_index("ix_transition_question_id")
        batch_op.drop_index("ix_transition_talk_id")
    op.rename_table("transition", "audit_entry")
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.create_index("ix_audit_entry_question_id", ["question_id"], unique=False)
        batch_op.create_index("ix_audit_entry_talk_id", ["talk_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.drop_index("ix_audit_entry_talk_id")
        batch_op.drop_index("ix_audit_entry_question_id")
    op.rename_table("audit_entry", "transition")
    with op.batch_alter_table("transition") as batch_op:
        batch_op.create_index("ix_transition_question_id", ["question_id"], unique=False)
        batch_op.create_index("ix_transition_talk_id", ["talk_id"], unique=False)
