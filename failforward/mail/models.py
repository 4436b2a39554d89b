"""The outbox: every email is a row written in the transaction of the change that causes it."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from failforward import clock
from failforward.database import UtcDateTime
from failforward.extensions import db

PENDING, SENT, FAILED = "pending", "sent", "failed"
ACCOUNT = "account"  # sign-up, reset, email change: always sent, never held for quiet hours


class OutboxMessage(db.Model):
    """One email to send, identified by a unique key so writing it twice is a no-op."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=ACCOUNT)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
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
