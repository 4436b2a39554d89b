"""The safety pulse (issue 14): one pulse per coaching link per four-week period with its answers; and a coach's
lesson can be shared with their learners.

Revision ID: a7d3e5f9c2b1, after bbd96a677f73 (2026-11-30).
"""

import sqlalchemy as sa
from alembic import op

import failforward.database

# revision identifiers, used by Alembic.
revision = "a7d3e5f9c2b1"
down_revision = "a4c7e2f9d1b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pulse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("closes_at", failforward.database.UtcDateTime(), nullable=False),
        sa.Column("emailed", sa.Boolean(), nullable=False),
        sa.Column("created_at", failforward.database.UtcDateTime(), nullable=False),
        sa.Column("answered_at", failforward.database.UtcDateTime(), nullable=True),
        sa.Column("mistakes", sa.SmallInteger(), nullable=True),
        sa.Column("problems", sa.SmallInteger(), nullable=True),
        sa.Column("help", sa.SmallInteger(), nullable=True),
        sa.Column("skills", sa.SmallInteger(), nullable=True),
        sa.Column("risks", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["users.id"], name=op.f("fk_pulse_learner_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["link_id"], ["coaching_link.id"], name=op.f("fk_pulse_link_id_coaching_link"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse")),
        sa.UniqueConstraint("link_id", "period_start", name="uq_pulse_link_id_period_start"),
    )
    with op.batch_alter_table("pulse", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pulse_learner_id"), ["learner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pulse_link_id"), ["link_id"], unique=False)
    # A plain ADD COLUMN, not a batch: on SQLite a batch copies the lesson table and drops its search triggers.
    op.add_column("lesson", sa.Column("shared_with_learners", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    op.drop_column("lesson", "shared_with_learners")
    with op.batch_alter_table("pulse", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_link_id"))
        batch_op.drop_index(batch_op.f("ix_pulse_learner_id"))
    op.drop_table("pulse")
