"""A review's fixes keep when they were done or verified, for the Progress page's closure within 30 days.

Revision ID: a4c7e2f9d1b3, after bbd96a677f73 (2026-11-30).
"""

import sqlalchemy as sa
from alembic import op

from failforward.database import UtcDateTime

# revision identifiers, used by Alembic.
revision = "a4c7e2f9d1b3"
down_revision = "bbd96a677f73"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("review_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_at", UtcDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("review_action", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
