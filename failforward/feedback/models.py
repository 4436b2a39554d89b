"""A learner's request for feedback on one or more reps, and the messages that answer it."""

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Table, Text, func, or_, select
from sqlalchemy.orm import Mapped, backref, column_property, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.ledger.models import Rep

request_reps = Table(
    "feedback_request_rep",
    db.metadata,
    Column("request_id", ForeignKey("feedback_request.id", ondelete="CASCADE"), primary_key=True),
    # Its own index: the primary key (request_id, rep_id) cannot find the requests of a rep, which
    # every list of reps asks for.
    Column("rep_id", ForeignKey("rep.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class FeedbackRequest(db.Model):
    """Asked by a learner, answered by any of their active coaches; latency runs from the practice."""

    __table_args__ = (Index("ix_feedback_request_learner_created", "learner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text, default="")
    practised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    follow_up_open: Mapped[bool] = mapped_column(Boolean, default=False)
    helpful: Mapped[bool | None] = mapped_column(Boolean)

    learner: Mapped[User] = relationship()
    rep: Mapped[Rep] = relationship(foreign_keys=[rep_id])
    # The backref lets a rep row show its feedback (and the coach's answer) without the ledger knowing
    # about feedback; selectin loading keeps each to one extra query per list of reps.
    reps: Mapped[list[Rep]] = relationship(secondary=request_reps, order_by=Rep.performed_at,
                                           backref=backref("feedback_requests", lazy="selectin"))
    messages: Mapped[list["FeedbackMessage"]] = relationship(
        back_populates="request", order_by="FeedbackMessage.created_at", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin")

    # How many reps the request covers, counted by the database: the queue shows the number, and loading
    # each rep of every request on the page only to count them cost more than the rest of the query.
    rep_count: Mapped[int] = column_property(
        select(func.count()).where(request_reps.c.request_id == id).correlate_except(request_reps).scalar_subquery(),
        deferred=True)

    @property
    def latency_hours(self) -> float:
        """Hours from the practice to the first answer, or to now while unanswered."""
        return ((self.answered_at or clock.now()) - self.practised_at).total_seconds() / 3600

    @property
    def asked_hours(self) -> float:
        """Hours from asking to the first answer, or to now while unanswered."""
        return ((self.answered_at or clock.now()) - self.created_at).total_seconds() / 3600

    @property
    def overdue(self) -> bool:
        return self.answered_at is None and clock.now() > self.due_at

    @property
    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.due_at


def waiting():
    """A request waits for its coach until answered, and again while a follow-up is open: the queue's
    filter, and the condition of the index that finds the few waiting among many answered."""
    return or_(FeedbackRequest.answered_at.is_(None), FeedbackRequest.follow_up_open.is_(True))


# The queue reads this in due order and keeps the requests of the coach's learners (feedback.services.queue).
Index("ix_feedback_request_waiting", FeedbackRequest.due_at, sqlite_where=waiting(), postgresql_where=waiting())


class FeedbackMessage(db.Model):
    """A coach's answer, or a learner's follow-up question, on a request."""

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("feedback_request.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    request: Mapped[FeedbackRequest] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
