"""Each goal's weeks rolled up from its reps (issue 14: the coach's overview read every rep of five weeks on
every view). The rows are filled from the reps already there.

Revision ID: c9e4b7a2d5f1, after b8e4f1a6c3d2 (2026-11-30).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c9e4b7a2d5f1"
down_revision = "b8e4f1a6c3d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "goal_week",
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("monday", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["goal_id"], ["goal.id"], name=op.f("fk_goal_week_goal_id_goal"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("goal_id", "monday", name=op.f("pk_goal_week")),
    )
    # The same code that keeps the rows fills them: a week's value follows the goal's rule and the learner's zone.
    from failforward.ledger.weekly import rebuild

    rebuild(op.get_bind())


def downgrade():
    op.drop_table("goal_week")
