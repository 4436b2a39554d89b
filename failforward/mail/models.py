"""The outbox: every email is a row written in the transaction of the change that causes it."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from failforward import clock
from failforward.database import UtcDateTime
from failforward.extensions import db

PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
STATUSES = (PENDING, SENT, FAILED, CANCELLED)  # cancelled: its recipient could no longer see whom it was about
ACCOUNT = "account"  # sign-up, reset, email change: always sent, never held for quiet hours
FORGOTTEN = "(deleted account)"  # what is left of an address, or a subject, of a person who deleted their account


class OutboxMessage(db.Model):
    """One email to send, identified by a unique key so writing it twice is a no-op."""

    __table_args__ = (
        # The sweep's purge looks only at bodies still kept: a partial index, so it reads the few rows to
        # purge (and the odd old pending one) rather than every message ever sent, every minute.
        Index("ix_outbox_message_kept_bodies", "created_at", sqlite_where=text("text_body IS NOT NULL"),
              postgresql_where=text("text_body IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=ACCOUNT)
    # Indexed: deleting an account finds mail to its address, even mail queued before the account existed.
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    # The accounts the message concerns: its recipient's, and the learner whose data it shows (re-checked
    # against the access rule when it is sent). Indexed for withdrawing and forgetting them.
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    about_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    # None once purged (MAIL_KEEP_DAYS after it was queued, or when cancelled): the envelope stays.
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    # Held until then: quiet hours in the recipient's zone, or the backoff after a failed try.
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The recipient's time zone when the message must respect quiet hours (retries too).
    quiet_zone: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
