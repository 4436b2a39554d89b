"""A rep: one logged attempt at a drill; and a goal's weeks, rolled up from its reps."""

from datetime import date, datetime, timedelta

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.goals.models import Drill

HIT, PARTIAL, MISS = "hit", "partial", "miss"
OUTCOMES = {HIT: "Hit", PARTIAL: "Partial", MISS: "Miss"}
EDIT_WINDOW = timedelta(hours=24)


class Rep(db.Model):
    """One attempt: when, which drill, the metric value, how long, the outcome, and what to adjust."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_rep_learner_id_idempotency_key"),
        Index("ix_rep_learner_performed", "learner_id", "performed_at"),
        Index("ix_rep_drill_performed", "drill_id", "performed_at"),
        Index("ix_rep_goal_performed", "goal_id", "performed_at"),
        Index("ix_rep_learner_logged", "learner_id", "logged_at"),  # the last-used drill, on every quick log
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"))
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"))
    performed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(7))
    note: Mapped[str] = mapped_column(Text, default="")
    adjustment: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str] = mapped_column(String(64))
    logged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    drill: Mapped[Drill] = relationship()

    @property
    def editable(self) -> bool:
        """A rep can be changed or deleted for 24 hours after it was logged; then it is the record."""
        return clock.now() - self.logged_at < EDIT_WINDOW


class GoalWeek(db.Model):
    """A goal's local week rolled up from its reps: the week's value under the goal's rule, reps and minutes.

    Only weeks with reps have a row. `ledger.weekly` keeps the rows in step with every write; progress reads
    them instead of every rep of the last weeks.
    """

    __tablename__ = "goal_week"

    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), primary_key=True)
    monday: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    reps: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
