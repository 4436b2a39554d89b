"""Invites, coaching links and the versions of each link's learning contract."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db


class Invite(db.Model):
    """A coach's single-use invitation, opened through a signed link."""

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])


class CoachingLink(db.Model):
    """A coach and a learner working together, from the invite's acceptance until either ends it."""

    __table_args__ = (Index("ix_coaching_link_pair", "coach_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])

    @property
    def active(self) -> bool:
        return self.ended_at is None


class Contract(db.Model):
    """One version of a link's learning contract; a new version needs the learner's acceptance. A
    learner's personal contract (theirs alone, coach or not) has `learner_id` and no link: one row,
    edited in place (failforward/thresholds)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_link.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    experiment: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    incident: Mapped[str] = mapped_column(Text)
    near_miss: Mapped[str] = mapped_column(Text)
    failure: Mapped[str] = mapped_column(Text)
    review_thresholds: Mapped[str] = mapped_column(Text)
    feedback_due_hours: Mapped[int] = mapped_column(Integer, default=24)
    commitments: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
