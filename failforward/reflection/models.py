"""A reflection after a setback (feeling, intensity before and after, the reappraisal), the
learner's own saved prompts, and a recovery routine in progress."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.ledger.models import Rep

FEELINGS = {
    "frustrated": "Frustrated",
    "disappointed": "Disappointed",
    "embarrassed": "Embarrassed",
    "anxious": "Anxious",
    "angry": "Angry",
    "discouraged": "Discouraged",
    "numb": "Numb",
}


class Reflection(db.Model):
    """Private unless the learner shares this one with their coach."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_reflection_learner_id_idempotency_key"),
        Index("ix_reflection_learner_created", "learner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id", ondelete="SET NULL"), index=True)
    situation: Mapped[str] = mapped_column(String(20))
    feeling: Mapped[str] = mapped_column(String(20), default="")
    feeling_own: Mapped[str] = mapped_column(String(60), default="")
    intensity_before: Mapped[int] = mapped_column(SmallInteger)
    what_happened: Mapped[str] = mapped_column(Text)
    prompt_key: Mapped[str | None] = mapped_column(String(40))
    reappraisal: Mapped[str] = mapped_column(Text, default="")
    intensity_after: Mapped[int | None] = mapped_column(SmallInteger)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship()
    rep: Mapped[Rep | None] = relationship()

    @property
    def feeling_label(self) -> str:
        named = FEELINGS.get(self.feeling, "")
        return ", ".join(part for part in (named, self.feeling_own) if part)

    @property
    def drop(self) -> int | None:
        """How many points the feeling fell after reappraising (negative when it rose)."""
        return None if self.intensity_after is None else self.intensity_before - self.intensity_after


class OwnPrompt(db.Model):
    """A reappraisal the learner wrote and kept to reuse."""

    __table_args__ = (UniqueConstraint("learner_id", "text", name="uq_own_prompt_learner_id_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class RecoveryRoutine(db.Model):
    """The 20-minute routine (seed §8.1): body reset, write-through, connection. Saved step by step,
    so it can be left and resumed; any step may be skipped."""

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reflection_id: Mapped[int | None] = mapped_column(ForeignKey("reflection.id", ondelete="SET NULL"))
    step: Mapped[int] = mapped_column(SmallInteger, default=1)  # the step to resume at (4 = all done)
    body_done: Mapped[bool] = mapped_column(Boolean, default=False)
    what_happened: Mapped[str] = mapped_column(Text, default="")
    what_i_controlled: Mapped[str] = mapped_column(Text, default="")
    try_next: Mapped[str] = mapped_column(Text, default="")
    share_learning: Mapped[str] = mapped_column(Text, default="")
    tell_whom: Mapped[str] = mapped_column(String(120), default="")
    ask_them: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    learner: Mapped[User] = relationship()
