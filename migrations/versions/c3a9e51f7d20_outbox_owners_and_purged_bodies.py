"""Outbox messages know the accounts they concern (recipient, and the learner they are about), and their
bodies may be purged (NULL) while the envelope stays.

Revision ID: c3a9e51f7d20
Revises: 410926ad0a83
Create Date: 2026-11-29 21:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3a9e51f7d20"
down_revision = "410926ad0a83"
branch_labels = None
depends_on = None

KEPT = sa.text("text_body IS NOT NULL")


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("about_id", sa.Integer(), nullable=True))
        batch_op.alter_column("text_body", existing_type=sa.Text(), nullable=True)
        batch_op.create_index(batch_op.f("ix_outbox_message_about_id"), ["about_id"], unique=False)
        batch_op.create_index("ix_outbox_message_kept_bodies", ["created_at"], unique=False,
                              sqlite_where=KEPT, postgresql_where=KEPT)
        batch_op.create_index(batch_op.f("ix_outbox_message_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_outbox_message_recipient_id_users"), "users",
                                    ["recipient_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_outbox_message_about_id_users"), "users",
                                    ["about_id"], ["id"], ondelete="SET NULL")
    _own_existing_mail()


def _own_existing_mail():
    """Give the mail already written its owners, so that a held message is re-checked when it is sent
    and deleting an account forgets what was sent before this revision too."""
    op.execute("UPDATE outbox_message SET recipient_id = "
               "(SELECT users.id FROM users WHERE users.email = outbox_message.recipient)")
    connection = op.get_bind()
    # The mail about a learner so far: feedback requests and reminders, keyed "<kind>:<request id>:<coach id>".
    rows = connection.execute(sa.text(
        "SELECT id, key FROM outbox_message WHERE key LIKE 'feedback-request:%' OR key LIKE 'feedback-reminder:%'"))
    request_of = {message_id: int(key.split(":")[1]) for message_id, key in rows if key.split(":")[1].isdigit()}
    if not request_of:
        return
    learner_of = dict(connection.execute(
        sa.text("SELECT id, learner_id FROM feedback_request WHERE id IN :ids")
        .bindparams(sa.bindparam("ids", expanding=True)), {"ids": sorted(set(request_of.values()))}).all())
    connection.execute(sa.text("UPDATE outbox_message SET about_id = :learner WHERE id = :message"),
                       [{"learner": learner_of[request], "message": message_id}
                        for message_id, request in request_of.items() if request in learner_of])


def downgrade():
    op.execute("UPDATE outbox_message SET text_body = '' WHERE text_body IS NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_message_about_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_outbox_message_recipient_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_message_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_recipient"))
        batch_op.drop_index("ix_outbox_message_kept_bodies", sqlite_where=KEPT, postgresql_where=KEPT)
        batch_op.drop_index(batch_op.f("ix_outbox_message_about_id"))
        batch_op.alter_column("text_body", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("about_id")
        batch_op.drop_column("recipient_id")
