"""Operator rights granted to accounts (`flask operators grant`), no longer read from ADMIN_EMAILS.

Revision ID: 410926ad0a83
Revises: 19b4a3d72b71
Create Date: 2026-12-01 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import failforward.database

# revision identifiers, used by Alembic.
revision = "410926ad0a83"
down_revision = "19b4a3d72b71"
branch_labels = None
depends_on = None


def upgrade():
    # A table of its own, not a column on users: nothing that edits an account can touch it.
    op.create_table(
        "operator_grant",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", failforward.database.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_operator_grant_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_operator_grant")),
    )


def downgrade():
    op.drop_table("operator_grant")
