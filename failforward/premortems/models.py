"""A pre-mortem on a goal (seed §3.1): its participants' causes, the risks they were clustered into with
their dots, each top risk's prevention, tripwire and contingency, the tripwire's firings, and comments."""

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.goals.models import Drill, Goal

WRITE, VOTE, CONVERT = "write", "vote", "convert"
STAGES = {WRITE: "Silent write", VOTE: "Cluster and vote", CONVERT: "Convert to mitigations"}
FORWARD = 5  # the top risks by dots that go forward, ties kept (the seed's 5-7)

# Tripwires the app evaluates from the ledger, and the one the learner marks by hand.
NO_REP, MISSES, METRIC, PLANNED, MANUAL = "no-rep", "misses", "metric", "planned", "manual"
TRIPWIRE_KINDS = {
    NO_REP: "No rep on a drill for N days",
    MISSES: "N misses on a drill within 7 days",
    METRIC: "This week's value of the goal's metric worse than X",
    PLANNED: "Planned reps per week not reached for N weeks",
    MANUAL: "I'll mark it myself when it happens",
}
NEEDS_DRILL = frozenset({NO_REP, MISSES, PLANNED})
OWNERS = {"learner": "The learner", "coach": "The coach"}


class PreMortem(db.Model):
    """"It is six months from now and this goal failed": one exercise on a goal, owned by its learner, with
    their coach as a second participant when invited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imagined_on: Mapped[date] = mapped_column(Date)  # six months on, in the learner's calendar
    timer_minutes: Mapped[int] = mapped_column(SmallInteger, default=6)
    dots: Mapped[int] = mapped_column(SmallInteger, default=3)
    stage: Mapped[str] = mapped_column(String(8), default=WRITE)
    learner_done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    coach_done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    coach: Mapped[User | None] = relationship(foreign_keys=[coach_id])
    goal: Mapped[Goal] = relationship()
    causes: Mapped[list["Cause"]] = relationship(order_by="Cause.id", cascade="all, delete-orphan",
                                                 passive_deletes=True)
    risks: Mapped[list["Risk"]] = relationship(order_by="Risk.id", back_populates="premortem",
                                               cascade="all, delete-orphan", passive_deletes=True)
    comments: Mapped[list["PreMortemComment"]] = relationship(order_by="PreMortemComment.created_at",
                                                              cascade="all, delete-orphan", passive_deletes=True)

    def participant_ids(self) -> list[int]:
        return [self.learner_id] + ([self.coach_id] if self.coach_id else [])

    def done_at(self, person_id: int) -> datetime | None:
        """When this participant finished writing."""
        return self.learner_done_at if person_id == self.learner_id else self.coach_done_at

    @property
    def revealed(self) -> bool:
        """Every participant has finished writing, or the owner revealed the causes early."""
        return self.revealed_at is not None or all(self.done_at(p) for p in self.participant_ids())


class Cause(db.Model):
    """One concrete cause of the imagined failure, by one participant; later part of a risk."""

    id: Mapped[int] = mapped_column(primary_key=True)
    premortem_id: Mapped[int] = mapped_column(ForeignKey("pre_mortem.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(300))
    risk_id: Mapped[int | None] = mapped_column(ForeignKey("risk.id", ondelete="SET NULL"), index=True)

    author: Mapped[User | None] = relationship()


class Risk(db.Model):
    """Similar causes merged under a title of their own; with its dots, and once it goes forward, its
    prevention step, tripwire, contingency plan, owner and date."""

    id: Mapped[int] = mapped_column(primary_key=True)
    premortem_id: Mapped[int] = mapped_column(ForeignKey("pre_mortem.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    forward: Mapped[bool] = mapped_column(default=False)
    prevention: Mapped[str] = mapped_column(Text, default="")
    contingency: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(8), default="learner")
    due_on: Mapped[date | None] = mapped_column(Date)
    prevented_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the prevention step was done
    tripwire: Mapped[str | None] = mapped_column(String(8))
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drill.id", ondelete="SET NULL"))
    threshold: Mapped[float | None] = mapped_column(Float)  # N (days, misses, weeks) or X (the metric)
    set_on: Mapped[date | None] = mapped_column(Date)  # the learner's day the tripwire was set
    # When the daily evaluation is next due: the start of the learner's next day (None: now).
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    premortem: Mapped[PreMortem] = relationship(back_populates="risks")
    drill: Mapped[Drill | None] = relationship()
    causes: Mapped[list[Cause]] = relationship(order_by=Cause.id)
    votes: Mapped[list["RiskVote"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    firings: Mapped[list["TripwireFiring"]] = relationship(order_by="TripwireFiring.fired_at", back_populates="risk",
                                                           cascade="all, delete-orphan", passive_deletes=True)

    @property
    def dots(self) -> int:
        return sum(vote.dots for vote in self.votes)

    @property
    def open_firing(self) -> "TripwireFiring | None":
        """The firing that has not cleared yet: while it stands, the tripwire does not fire again."""
        return next((f for f in self.firings if f.cleared_at is None), None)

    @property
    def tripwire_text(self) -> str:
        """The tripwire in words, with its drill and its N or X."""
        n = f"{self.threshold:g}" if self.threshold is not None else "N"
        drill = self.drill.name if self.drill else "the drill"
        goal = self.premortem.goal
        worse = "above" if goal.direction == "lower" else "below"
        return {NO_REP: f"no rep on {drill} for {n} days", MISSES: f"{n} misses on {drill} within 7 days",
                METRIC: f"this week's {goal.metric_name} {worse} {n} {goal.unit}",
                PLANNED: f"fewer reps than planned on {drill} for {n} weeks in a row",
                MANUAL: "you mark it when it happens"}.get(self.tripwire or "", "not set yet")

    @property
    def converted(self) -> bool:
        return bool(self.prevention and self.contingency and self.tripwire)


class RiskVote(db.Model):
    """The dots one participant put on one risk."""

    __table_args__ = (UniqueConstraint("risk_id", "voter_id", name="uq_risk_vote_risk_id_voter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dots: Mapped[int] = mapped_column(Integer)


class TripwireFiring(db.Model):
    """A tripwire that fired: when, and the value seen. It counts once: while it stands (until the condition
    clears, or the learner clears a manual one) the tripwire does not fire again."""

    __tablename__ = "tripwire_firing"
    __table_args__ = (Index("ix_tripwire_firing_learner_fired", "learner_id", "fired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    fired_on: Mapped[date] = mapped_column(Date)  # in the learner's calendar
    value: Mapped[float | None] = mapped_column(Float)
    seen: Mapped[str] = mapped_column(String(200))  # the value in words: "9 days without a rep"
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    risk: Mapped[Risk] = relationship(back_populates="firings")


class PreMortemComment(db.Model):
    """A comment on a pre-mortem, by the learner's coach (invited or reading along) or the learner."""

    id: Mapped[int] = mapped_column(primary_key=True)
    premortem_id: Mapped[int] = mapped_column(ForeignKey("pre_mortem.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()
