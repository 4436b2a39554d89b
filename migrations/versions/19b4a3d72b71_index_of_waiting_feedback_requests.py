"""An index of the feedback requests waiting for a coach (the queue's filter), among many answered.

Revision ID: 19b4a3d72b71
Revises: 89ec970f656c
Create Date: 2026-11-25 22:26:12.301763

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19b4a3d72b71"
down_revision = "89ec970f656c"
branch_labels = None
depends_on = None


def _waiting():
    # The same condition as failforward.feedback.models.waiting(), written per database by SQLAlchemy
    # (`follow_up_open IS 1` on SQLite, `IS true` on PostgreSQL), so each planner matches the queue's query.
    return sa.or_(sa.column("answered_at").is_(None), sa.column("follow_up_open").is_(True))


def upgrade():
    with op.batch_alter_table("feedback_request", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_request_waiting", ["due_at"], unique=False,
                              sqlite_where=_waiting(), postgresql_where=_waiting())


def downgrade():
    with op.batch_alter_table("feedback_request", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_request_waiting")
