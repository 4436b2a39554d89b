"""A blameless review (seed §6.1, §6.2): why we write and what was affected, a timeline of facts, several
contributing factors, the counterfactual, what worked, and the two closing lists: fixes (tracked actions with an
owner, a due date, a done condition and a check) and assumptions to test (each can become a PDSA cycle)."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db

FACTOR_KINDS = {"tools": "Tools", "information": "Information", "environment": "Environment", "skill": "Skill",
                "process": "Process", "other": "Other"}
OPEN, DONE, VERIFIED, NOT_DOING = "open", "done", "verified", "not-doing"
ACTION_STATUSES = {OPEN: "Open", DONE: "Done", VERIFIED: "Verified", NOT_DOING: "Not doing"}
WORKED, PARTLY, DID_NOT, NOT_YET = "worked", "partly", "did-not", "not-yet"
CHECK_ANSWERS = {WORKED: "It worked", PARTLY: "Partly", DID_NOT: "It did not work",
                 NOT_YET: "Too early to tell (ask again in 7 days)"}


class Review(db.Model):
    """Private unless shared with the coach. Started from a rep, a reflection, a missed week of a goal, a
    follow-up (`follow_up_id`, kept without a key: the thresholds wire it) or nothing."""

    __tablename__ = "blameless_review"
    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_blameless_review_learner_id_idempotency_key"),
        Index("ix_blameless_review_learner_created", "learner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id", ondelete="SET NULL"))
    reflection_id: Mapped[int | None] = mapped_column(ForeignKey("reflection.id", ondelete="SET NULL"))
    missed_week: Mapped[date | None] = mapped_column(Date)  # the Monday of the goal's missed week
    follow_up_id: Mapped[int | None] = mapped_column(Integer, index=True)
    trigger: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    counterfactual: Mapped[str] = mapped_column(Text, default="")
    what_worked: Mapped[str] = mapped_column(Text, default="")
    assumptions: Mapped[str] = mapped_column(Text, default="")  # one per line
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship()
    events: Mapped[list["ReviewEvent"]] = relationship(order_by="(ReviewEvent.at, ReviewEvent.id)",
                                                       cascade="all, delete-orphan", passive_deletes=True)
    factors: Mapped[list["ReviewFactor"]] = relationship(order_by="ReviewFactor.id", cascade="all, delete-orphan",
                                                         passive_deletes=True)
    actions: Mapped[list["ReviewAction"]] = relationship(back_populates="review", order_by="ReviewAction.id",
                                                         cascade="all, delete-orphan", passive_deletes=True)
    comments: Mapped[list["ReviewComment"]] = relationship(order_by="ReviewComment.created_at",
                                                           cascade="all, delete-orphan", passive_deletes=True)

    @property
    def title(self) -> str:
        first = self.trigger.strip().splitlines()[0] if self.trigger.strip() else ""
        return first if len(first) <= 90 else first[:89] + "…"

    @property
    def assumption_list(self) -> list[str]:
        return [line.strip() for line in self.assumptions.splitlines() if line.strip()]


class ReviewEvent(db.Model):
    """One fact of the timeline, to the minute (stored in UTC, shown in the learner's zone)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("blameless_review.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    what: Mapped[str] = mapped_column(Text)


class ReviewFactor(db.Model):
    """A contributing factor, of one kind (tools, information, environment, skill, process, other)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("blameless_review.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    what: Mapped[str] = mapped_column(Text)


class ReviewAction(db.Model):
    """A fix we'll implement: owned by the learner or their coach, due on a day of the learner's calendar,
    done when its condition is observed, verified at its check date (with the evidence), or not done (with the
    reason). `due_notified_on` and `check_notified_on` are the dates their notices were made for."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_review_action_learner_id_idempotency_key"),
        Index("ix_review_action_status_due", "status", "due_on"),
        Index("ix_review_action_status_check", "status", "check_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("blameless_review.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    what: Mapped[str] = mapped_column(Text)
    done_condition: Mapped[str] = mapped_column(Text, default="")
    verify_plan: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date)
    check_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    evidence: Mapped[str] = mapped_column(Text, default="")  # what showed it worked, or why not doing it
    check_answer: Mapped[str | None] = mapped_column(String(8))
    due_notified_on: Mapped[date | None] = mapped_column(Date)
    check_notified_on: Mapped[date | None] = mapped_column(Date)
    # When it was last marked done or verified (None while open or not doing): the Progress page's closure rate.
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    review: Mapped[Review] = relationship(back_populates="actions")
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])


class ReviewComment(db.Model):
    """A comment on a shared review, by the learner's coach (or the learner answering)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("blameless_review.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()
