"""A lesson (seed §9: date, context, what failed, what was tried, what to try next, a check 30 days
later), its tags of three kinds, the answers to its check, coach comments, and the search index."""

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db

TAG_KINDS = {"system": "System", "root-cause": "Root cause", "metric": "Impacted metric"}
OPEN, WORKED, PARTLY, DID_NOT, NOT_YET = "open", "worked", "partly", "did-not", "not-yet"
ANSWERS = {WORKED: "It worked", PARTLY: "Partly", DID_NOT: "It did not work",
           NOT_YET: "Not tried yet (ask again in 7 days)"}
STATUSES = {OPEN: "Check open", WORKED: "Worked", PARTLY: "Partly worked", DID_NOT: "Did not work"}

lesson_tags = Table(
    "lesson_tag_link",
    db.metadata,
    Column("lesson_id", ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("lesson_tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class LessonTag(db.Model):
    """A learner's tag: a system, a root cause or an impacted metric (seed §9.1)."""

    __table_args__ = (UniqueConstraint("learner_id", "kind", "name", name="uq_lesson_tag_learner_id_kind_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(40))


class Lesson(db.Model):
    """Private unless shared with the coach. `tags_text` mirrors the tag names for the search index."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_lesson_learner_id_idempotency_key"),
        Index("ix_lesson_learner_happened", "learner_id", "happened_on"),
        Index("ix_lesson_status_check", "status", "check_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    happened_on: Mapped[date] = mapped_column(Date)
    context: Mapped[str] = mapped_column(Text, default="")
    what_failed: Mapped[str] = mapped_column(Text)
    what_tried: Mapped[str] = mapped_column(Text, default="")
    try_next: Mapped[str] = mapped_column(Text, default="")
    tags_text: Mapped[str] = mapped_column(Text, default="")
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drill.id", ondelete="SET NULL"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id", ondelete="SET NULL"))
    reflection_id: Mapped[int | None] = mapped_column(ForeignKey("reflection.id", ondelete="SET NULL"))
    routine_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_routine.id", ondelete="SET NULL"))
    feedback_request_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_request.id", ondelete="SET NULL"))
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("lesson.id", ondelete="SET NULL"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("blameless_review.id", ondelete="SET NULL"), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    # A coach's own lesson, shown to their learners ("model fallibility", seed §2.1).
    shared_with_learners: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    check_on: Mapped[date] = mapped_column(Date)  # in the learner's own calendar
    check_notified_on: Mapped[date | None] = mapped_column(Date)  # the check_on its notice was made for
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)

    learner: Mapped[User] = relationship()
    tags: Mapped[list[LessonTag]] = relationship(secondary=lesson_tags, order_by=(LessonTag.kind, LessonTag.name))
    checks: Mapped[list["LessonCheck"]] = relationship(back_populates="lesson", order_by="LessonCheck.answered_at",
                                                       cascade="all, delete-orphan", passive_deletes=True)
    comments: Mapped[list["LessonComment"]] = relationship(order_by="LessonComment.created_at",
                                                           cascade="all, delete-orphan", passive_deletes=True)

    @property
    def title(self) -> str:
        first = self.what_failed.strip().splitlines()[0] if self.what_failed.strip() else ""
        return first if len(first) <= 90 else first[:89] + "…"

    def tags_of(self, kind: str) -> list[LessonTag]:
        return [tag for tag in self.tags if tag.kind == kind]


class LessonCheck(db.Model):
    """One answer to a lesson's check, kept with its date (a "not tried yet" snoozes, then another comes)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)

    lesson: Mapped[Lesson] = relationship(back_populates="checks")


class LessonComment(db.Model):
    """A comment on a shared lesson, by the learner's coach (or the learner answering)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()
