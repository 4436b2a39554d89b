"""A goal names the behaviour to change and its stretch target; drills practise it."""

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db

LOWER, HIGHER = "lower", "higher"
DIRECTIONS = {LOWER: "Lower is better", HIGHER: "Higher is better"}
AGGREGATIONS = {
    "median": "the median of the week's reps",
    "best": "the week's best rep",
    "mean": "the mean of the week's reps",
    "total": "the total of the week's reps",
    "count": "the number of reps in the week",
}
ACTIVE, REACHED, PAUSED, DROPPED = "active", "reached", "paused", "dropped"
PARTIAL_FROM_PCT = 50  # halfway from the baseline to the target
STATUSES = {ACTIVE: "Active", REACHED: "Reached", PAUSED: "Paused", DROPPED: "Dropped"}
FEEDBACK_SOURCES = {"coach": "From my coach", "self-check": "Self-check (checklist, recording)",
                    "tool": "A tool (timer, app, device)"}


class Goal(db.Model):
    """A specific, hard target for one bottleneck behaviour, reached by a weekly rule."""

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    bottleneck: Mapped[str] = mapped_column(Text)
    metric_name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(30))
    direction: Mapped[str] = mapped_column(String(6))
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    weeks_required: Mapped[int] = mapped_column(SmallInteger)
    aggregation: Mapped[str] = mapped_column(String(10))
    deadline: Mapped[date | None] = mapped_column(Date)
    why: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    reached_on: Mapped[date | None] = mapped_column(Date)
    drop_reason: Mapped[str | None] = mapped_column(Text)
    # A rep that is not a hit is "partial" from this share of the way from the baseline to the target.
    partial_from_pct: Mapped[int] = mapped_column(SmallInteger, default=PARTIAL_FROM_PCT,
                                                  server_default=str(PARTIAL_FROM_PCT))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship()

    def meets_target(self, value: float) -> bool:
        """Does a week's value reach the target, in this goal's direction?"""
        return self.at_least(value, self.target)

    def at_least(self, value: float, mark: float) -> bool:
        """Is `value` as good as `mark` or better, in this goal's direction?"""
        return value <= mark if self.direction == LOWER else value >= mark

    @property
    def partial_from(self) -> float:
        """The value from which a rep short of the target counts as partial."""
        return self.baseline + (self.target - self.baseline) * self.partial_from_pct / 100

    @property
    def outcome_text(self) -> str:
        sign = "≤" if self.direction == LOWER else "≥"
        share = "halfway" if self.partial_from_pct == 50 else f"{self.partial_from_pct}% of the way"
        return (f"A rep is a hit at {sign} {self.target:g} {self.unit}, partial at {sign} {self.partial_from:g} "
                f"{self.unit} ({share} from the baseline to the target), a miss otherwise.")

    @property
    def rule_text(self) -> str:
        sign = "≤" if self.direction == LOWER else "≥"
        weeks = "1 week" if self.weeks_required == 1 else f"{self.weeks_required} consecutive weeks"
        return f"{AGGREGATIONS[self.aggregation].capitalize()} {sign} {self.target:g} {self.unit} for {weeks}"


class Drill(db.Model):
    """A focused exercise for one goal, just beyond current ability, with fast feedback."""

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    practises: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(300), default="")
    tools: Mapped[str] = mapped_column(String(300), default="")
    time_box_minutes: Mapped[int | None] = mapped_column(Integer)
    feedback_source: Mapped[str] = mapped_column(String(12))
    planned_reps_per_week: Mapped[int] = mapped_column(SmallInteger)
    difficulty_note: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    goal: Mapped[Goal] = relationship()
