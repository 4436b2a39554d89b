"""A contract's review thresholds as rules, and the follow-ups a fired rule makes due."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db

DRILL_MISSES, WEEKLY_MISSES, TRIPWIRE, SETBACK = "drill-misses", "weekly-misses", "tripwire", "setback"
RULE_KINDS = (DRILL_MISSES, WEEKLY_MISSES, TRIPWIRE, SETBACK)
RULE_TITLES = {
    DRILL_MISSES: "Misses on one drill within a few days",
    WEEKLY_MISSES: "A goal's weekly target missed weeks in a row",
    TRIPWIRE: "A pre-mortem tripwire fired",
    SETBACK: "A hard setback (logged with a strong feeling)",
}
LESSON, REVIEW = "lesson", "review"
FOLLOW_UP_KINDS = {LESSON: "a lesson", REVIEW: "a blameless review"}


class ThresholdRule(db.Model):
    """One rule of a contract: when it fires (its kind and numbers), what it asks for, and how soon.

    `count` and `days` are N and D of "N misses on one drill within D days" (count alone: "missed N
    weeks in a row"); `intensity` is I of "a setback logged with intensity >= I". One rule per kind."""

    __table_args__ = (UniqueConstraint("contract_id", "kind", name="uq_threshold_rule_contract_id_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    count: Mapped[int | None] = mapped_column(SmallInteger)
    days: Mapped[int | None] = mapped_column(SmallInteger)
    intensity: Mapped[int | None] = mapped_column(SmallInteger)
    follow_up: Mapped[str] = mapped_column(String(10))
    window_hours: Mapped[int] = mapped_column(SmallInteger)

    @property
    def sentence(self) -> str:
        """The rule in words, e.g. "3 misses on one drill within 7 days"."""
        if self.kind == DRILL_MISSES:
            return f"{self.count} misses on one drill within {self.days} days"
        if self.kind == WEEKLY_MISSES:
            return f"a goal's weekly value missed {self.count} weeks in a row"
        if self.kind == SETBACK:
            return f"a setback logged with intensity {self.intensity} or more"
        return "a pre-mortem tripwire fired"


class FollowUp(db.Model):
    """A lesson or review a fired rule asks for, due by `due_at`; done when it is written.

    `occurrence_key` names what fired (e.g. `drill-misses:<drill>:<local date>`), so a rule fires once
    per occurrence however often the sweep looks."""

    __table_args__ = (UniqueConstraint("learner_id", "occurrence_key", name="uq_follow_up_learner_id_occurrence_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("threshold_rule.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(200))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"), index=True)
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drill.id", ondelete="SET NULL"), index=True)
    on_day: Mapped[date | None] = mapped_column(Date)  # the local day of the Nth miss, or the last missed week's Monday
    reflection_id: Mapped[int | None] = mapped_column(ForeignKey("reflection.id", ondelete="SET NULL"), index=True)
    tripwire_ref: Mapped[str | None] = mapped_column(String(64))
    occurrence_key: Mapped[str] = mapped_column(String(120))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    learner: Mapped[User] = relationship()
    idempotency_key = synonym("occurrence_key")  # for once.insert_once

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_at <= clock.now()
