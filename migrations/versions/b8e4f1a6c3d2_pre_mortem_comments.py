"""Comments on a pre-mortem (issue 12): the learner's coach reads along and comments, and the learner answers.

Revision ID: b8e4f1a6c3d2, after a7d3e5f9c2b1 (2026-11-30).
"""

import sqlalchemy as sa
from alembic import op

import failforward.database

# revision identifiers, used by Alembic.
revision = "b8e4f1a6c3d2"
down_revision = "a7d3e5f9c2b1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pre_mortem_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("premortem_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", failforward.database.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_pre_mortem_comment_author_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["premortem_id"], ["pre_mortem.id"],
                                name=op.f("fk_pre_mortem_comment_premortem_id_pre_mortem"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pre_mortem_comment")),
    )
    with op.batch_alter_table("pre_mortem_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pre_mortem_comment_premortem_id"), ["premortem_id"], unique=False)


def downgrade():
    with op.batch_alter_table("pre_mortem_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pre_mortem_comment_premortem_id"))
    op.drop_table("pre_mortem_comment")
