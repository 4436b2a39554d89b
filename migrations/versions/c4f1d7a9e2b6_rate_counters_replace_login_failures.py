"""Rate counters (sign-in attempts per account, device cookie and client address; mail per recipient and
client) replace the login_failure rows.

Revision ID: c4f1d7a9e2b6
Revises: c3a9e51f7d20
Create Date: 2026-11-27 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import failforward.database

# revision identifiers, used by Alembic.
revision = "c4f1d7a9e2b6"
down_revision = "c3a9e51f7d20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("rate_counter",
    sa.Column("key", sa.String(length=400), nullable=False),
    sa.Column("hits", sa.Integer(), nullable=False),
    sa.Column("expires_at", failforward.database.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counter"))
    )
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_counter_expires_at"), ["expires_at"], unique=False)

    # Failures counted the old way last 15 minutes at most: nothing worth carrying over.
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_email"))
        batch_op.drop_index(batch_op.f("ix_login_failure_at"))
        batch_op.drop_index(batch_op.f("ix_login_failure_address"))
    op.drop_table("login_failure")


def downgrade():
    op.create_table("login_failure",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("email", sa.String(length=320), nullable=False),
    sa.Column("address", sa.String(length=64), nullable=False),
    sa.Column("at", failforward.database.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure"))
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failure_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failure_email"), ["email"], unique=False)

    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counter_expires_at"))
    op.drop_table("rate_counter")
