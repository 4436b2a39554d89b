"""One learner's check-in for one ISO week: what was sent, and their three answers."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db


class WeeklyCheckin(db.Model):
    """Created when the check-in falls due (the intent), whether or not an email went out."""

    __table_args__ = (UniqueConstraint("user_id", "iso_week", name="uq_weekly_checkin_user_id_iso_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    iso_week: Mapped[str] = mapped_column(String(8))  # the week it was sent in, e.g. 2026-W48
    reviewed_week: Mapped[date] = mapped_column(Date)  # the Monday of the week it looks back on
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    went_well: Mapped[str] = mapped_column(Text, default="")
    failed: Mapped[str] = mapped_column(Text, default="")
    try_next: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()
