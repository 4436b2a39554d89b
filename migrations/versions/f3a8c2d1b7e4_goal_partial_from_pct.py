"""Goals get the share of the way from baseline to target from which a rep counts as partial (50: halfway).

Revision ID: f3a8c2d1b7e4, after e7c1b9d4a2f6 (2026-11-30).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a8c2d1b7e4"
down_revision = "e7c1b9d4a2f6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partial_from_pct", sa.SmallInteger(), nullable=False, server_default="50"))


def downgrade():
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_column("partial_from_pct")
