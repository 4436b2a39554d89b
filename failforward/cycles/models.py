"""A PDSA cycle (seed §4, the IHI worksheet): the plan with its decision rule, the study the app makes at
the end of the timebox, the learner's decision, changes to the rule after the start, and notes."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.goals.models import Drill, Goal

MISS_RATE, MINUTES, OTHER_GOAL = "miss-rate", "minutes", "goal"
HARMS = {MISS_RATE: "Miss rate", MINUTES: "Practice minutes"}  # short: a phone's select cuts longer names
ADOPT, ADAPT, ABANDON, INCONCLUSIVE = "adopt", "adapt", "abandon", "inconclusive"
VERDICTS = {ADOPT: "adopt", ABANDON: "abandon", INCONCLUSIVE: "inconclusive"}
DECISIONS = {ADOPT: "Adopt: keep the change", ADAPT: "Adapt: change it and test again",
             ABANDON: "Abandon: undo the change"}
PLANNED, RUNNING, ENDED, DECIDED = "planned", "running", "ended", "decided"
STATES = {PLANNED: "Planned", RUNNING: "Running", ENDED: "Ended: decide", DECIDED: "Decided"}
OBSERVATION, COMMENT = "observation", "comment"
SCOPE_ADVISED, TIMEBOX_ADVISED = 10, 14


class Cycle(db.Model):
    """One small test on one drill of a goal; `previous_id` chains it to the cycle it follows."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_cycle_learner_id_idempotency_key"),
        Index("ix_cycle_studied_ends", "studied_at", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id", ondelete="SET NULL"), index=True)
    objective: Mapped[str] = mapped_column(Text)
    change: Mapped[str] = mapped_column(Text)
    prediction: Mapped[str] = mapped_column(Text)
    harm: Mapped[str] = mapped_column(String(10))
    harm_goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    adopt_if_pct: Mapped[float] = mapped_column(Float)  # X: the signal improves by at least X%
    harm_tolerance_pct: Mapped[float] = mapped_column(Float)  # Y: the harm worsens by no more than Y%
    min_reps: Mapped[int] = mapped_column(SmallInteger)  # N: fewer reps in a window is inconclusive
    scope_pct: Mapped[int] = mapped_column(SmallInteger)
    timebox_days: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[date] = mapped_column(Date)  # in the learner's calendar
    ends_on: Mapped[date] = mapped_column(Date)  # starts_on + timebox_days: the test runs until its midnight
    undo_plan: Mapped[str] = mapped_column(Text)
    undo_speed: Mapped[str] = mapped_column(String(100))
    next_if_inconclusive: Mapped[str] = mapped_column(Text, default="")
    rule_changed_after_start: Mapped[bool] = mapped_column(Boolean, default=False)
    studied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the end of the test window
    verdict: Mapped[str | None] = mapped_column(String(12))
    verdict_reason: Mapped[str] = mapped_column(Text, default="")
    baseline_reps: Mapped[int | None] = mapped_column(Integer)
    test_reps: Mapped[int | None] = mapped_column(Integer)
    baseline_signal: Mapped[float | None] = mapped_column(Float)
    test_signal: Mapped[float | None] = mapped_column(Float)
    baseline_harm: Mapped[float | None] = mapped_column(Float)
    test_harm: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str | None] = mapped_column(String(8))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship()
    goal: Mapped[Goal] = relationship(foreign_keys=[goal_id])
    drill: Mapped[Drill] = relationship()
    harm_goal: Mapped[Goal | None] = relationship(foreign_keys=[harm_goal_id])
    previous: Mapped["Cycle | None"] = relationship(remote_side=[id])
    rule_changes: Mapped[list["RuleChange"]] = relationship(order_by="RuleChange.changed_at",
                                                            cascade="all, delete-orphan", passive_deletes=True)
    notes: Mapped[list["CycleNote"]] = relationship(order_by="CycleNote.created_at",
                                                    cascade="all, delete-orphan", passive_deletes=True)

    def state(self, today: date) -> str:
        """Planned, running, ended (waiting for the learner's decision) or decided, on the learner's `today`."""
        if self.decision:
            return DECIDED
        if self.studied_at:
            return ENDED
        return PLANNED if today < self.starts_on else RUNNING

    @property
    def rule_text(self) -> str:
        return (f"Adopt if {self.goal.metric_name} improves by at least {self.adopt_if_pct:g}% against the "
                f"baseline window without {self.harm_label.lower()} worsening by more than "
                f"{self.harm_tolerance_pct:g}%; inconclusive with fewer than {self.min_reps} reps in a window.")

    @property
    def harm_label(self) -> str:
        if self.harm == OTHER_GOAL:
            return f"“{self.harm_goal.title}” ({self.harm_goal.metric_name})" if self.harm_goal else "Another goal"
        return HARMS[self.harm]

    @property
    def warnings(self) -> list[str]:
        """What the seed's guardrails advise against; the plan is kept, the learner is told."""
        found = []
        if self.scope_pct > SCOPE_ADVISED:
            found.append(f"{self.scope_pct}% of your practice is under test: the seed advises under "
                         f"{SCOPE_ADVISED}%, so a miss costs little.")
        if self.timebox_days > TIMEBOX_ADVISED:
            found.append(f"{self.timebox_days} days is a long cycle: one or two weeks keep the learning tight.")
        return found


class RuleChange(db.Model):
    """A change to a cycle's decision rule after it started: kept, and the cycle no longer counts as
    pre-declared."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class CycleNote(db.Model):
    """An observation the learner makes while the cycle runs, or a comment (the coach's, or the learner's)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()
