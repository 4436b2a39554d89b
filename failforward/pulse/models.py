"""One learner's pulse about one coaching link for one four-week period: the intent, then their answers."""

from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, Date, ForeignKey, SmallInteger, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.coaching.models import CoachingLink
from failforward.database import UtcDateTime
from failforward.extensions import db

PERIOD = timedelta(weeks=4)


def last_day(start: date) -> date:
    """The last day of a period that began on `start`, as people read it."""
    return start + PERIOD - timedelta(days=1)


# The statements, in our own words on the themes of the research on psychological safety: the column that
# holds the answer (1 = strongly disagree, 5 = strongly agree), and what the learner reads.
STATEMENTS = {
    "mistakes": "When I get something wrong, my coach does not hold it against me.",
    "problems": "I can bring up problems and hard questions with my coach.",
    "help": "Asking my coach for help feels easy.",
    "skills": "My coach values what I am good at and builds on it.",
    "risks": "I feel safe trying something new with my coach, even if it may not work.",
}

# The same themes in a few words, for the columns of a table.
THEMES = {
    "mistakes": "Mistakes not held against me",
    "problems": "Can raise problems",
    "help": "Easy to ask for help",
    "skills": "Skills valued",
    "risks": "Safe to try new things",
}


class Pulse(db.Model):
    """Created when the period's pulse falls due (whether or not an email went out); answered once, or it
    closes unanswered at the period's end."""

    __table_args__ = (UniqueConstraint("link_id", "period_start", name="uq_pulse_link_id_period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("coaching_link.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)  # the Monday a four-week period begins (learner's calendar)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the period's end in the learner's zone
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    mistakes: Mapped[int | None] = mapped_column(SmallInteger)
    problems: Mapped[int | None] = mapped_column(SmallInteger)
    help: Mapped[int | None] = mapped_column(SmallInteger)
    skills: Mapped[int | None] = mapped_column(SmallInteger)
    risks: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")

    link: Mapped[CoachingLink] = relationship()

    @property
    def last_day(self) -> date:
        return last_day(self.period_start)

    def scores(self) -> list[tuple[str, int | None]]:
        """(statement, answer) in the order the form asks them."""
        return [(text, getattr(self, name)) for name, text in STATEMENTS.items()]
