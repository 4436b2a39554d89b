"""Study items get a guid (Anki's note id, so re-importing adds nothing) and an HTML flag.

Revision ID: d5e2a8c4b1f3, after c4f1d7a9e2b6 (2026-11-29).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d5e2a8c4b1f3"
down_revision = "c4f1d7a9e2b6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("study_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guid", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("html", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Existing items get a guid derived from their id: unique within the instance, and stable across exports.
    op.execute("UPDATE study_item SET guid = 'ff' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("study_item", schema=None) as batch_op:
        batch_op.alter_column("guid", existing_type=sa.String(length=100), nullable=False)
        # The server default only filled the existing rows; the model gives new ones their value.
        batch_op.alter_column("html", existing_type=sa.Boolean(), existing_nullable=False, server_default=None)


def downgrade():
    with op.batch_alter_table("study_item", schema=None) as batch_op:
        batch_op.drop_column("html")
        batch_op.drop_column("guid")
