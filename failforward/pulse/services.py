"""The safety pulse: find the links whose four-weekly pulse is due (the learner's zone), write it and its email in
one transaction, take one answer per period, and show a coach only aggregates of periods that have closed with
at least MIN_ANSWERS learners answering."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import abort
from sqlalchemy import case, func, update

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import day_start, week_start, zone_of
from failforward.coaching.models import CoachingLink
from failforward.extensions import db
from failforward.pulse.models import PERIOD, STATEMENTS, Pulse, last_day
from failforward.signing import LinkError, sign, unsign
from failforward.web import absolute_url

KIND = "safety-pulse"
# Periods are the four-week blocks counted from this Monday: the same dates in every zone, so a coach's learners
# across the world share their periods.
EPOCH = date(2024, 1, 1)
MIN_LINK_AGE = timedelta(days=14)  # a newer link has little to rate yet: it waits for the next period
MIN_OPEN = timedelta(days=7)  # a pulse is never asked with less than a week left to answer it
MIN_ANSWERS = 3  # fewer learners answering a period and the coach sees nothing of it
TREND_PERIODS = 6
BATCH = 500  # pulses per transaction, so the sweep never holds the write lock for long
OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


def period_start(moment: datetime, zone) -> date:
    """The Monday (local date in `zone`) on which the four-week period holding `moment` begins."""
    weeks = (week_start(moment, zone) - EPOCH).days // 7
    return EPOCH + timedelta(weeks=weeks - weeks % 4)


def period_end(start: date, zone) -> datetime:
    """The UTC instant a period that began on `start` ends in `zone`."""
    return day_start(start + PERIOD, zone).astimezone(UTC)


# --- asking -------------------------------------------------------------------------------------------

def due_pulses(now: datetime) -> list[tuple[int, int, date, datetime]]:
    """(link, learner, period start, closes at) for each active link whose pulse of this period is due and not
    yet written: from the learner's check-in hour on the period's first day, on a link at least MIN_LINK_AGE
    old, with at least MIN_OPEN left to answer."""
    candidates = []
    for row in db.session.execute(
            db.select(CoachingLink.id, CoachingLink.learner_id, CoachingLink.started_at, User.timezone,
                      User.checkin_hour)
            .join(User, User.id == CoachingLink.learner_id).where(CoachingLink.ended_at.is_(None))):
        zone = zone_of(row)
        start = period_start(now, zone)
        closes = period_end(start, zone)
        asked = datetime.combine(start, time(row.checkin_hour), tzinfo=zone)
        if asked <= now <= closes - MIN_OPEN and row.started_at <= now - MIN_LINK_AGE:
            candidates.append((row.id, row.learner_id, start, closes))
    starts = {start for _, _, start, _ in candidates}
    written = set(db.session.execute(
        db.select(Pulse.link_id, Pulse.period_start).where(Pulse.period_start.in_(starts))).all())
    return [due for due in candidates if (due[0], due[2]) not in written]


def answer_token(pulse: Pulse) -> str:
    """The signed token of the answer link in the email."""
    return sign("email-action", {"p": pulse.id, "u": pulse.learner_id})


def create_due(now: datetime | None = None) -> int:
    """Write every due pulse and its email (unless the learner switched the pulse email off); idempotent."""
    now = now or clock.now()
    due = due_pulses(now)
    for first in range(0, len(due), BATCH):
        batch = due[first:first + BATCH]
        links = {link.id: link for link in db.session.scalars(
            db.select(CoachingLink).where(CoachingLink.id.in_([link_id for link_id, *_ in batch]))
            .options(db.selectinload(CoachingLink.learner).selectinload(User.email_switches),
                     db.selectinload(CoachingLink.coach)))}
        pulses = [Pulse(link_id=link_id, learner_id=learner_id, period_start=start, closes_at=closes)
                  for link_id, learner_id, start, closes in batch]
        db.session.add_all(pulses)
        db.session.flush()  # the emails' links need the ids
        for pulse in pulses:
            link = links[pulse.link_id]
            pulse.emailed = notify(
                link.learner, KIND, f"{KIND}:{pulse.link_id}:{pulse.period_start.isoformat()}",
                "How is your coaching going? A one-minute pulse", "safety_pulse", coach=link.coach,
                statements=len(STATEMENTS), last_day=pulse.last_day, needed=MIN_ANSWERS,
                url=absolute_url("pulse.answer_from_link", token=answer_token(pulse)))
        db.session.commit()
    return len(due)


# --- answering ----------------------------------------------------------------------------------------

def pulse_from_token(token: str) -> Pulse:
    """The pulse an emailed link opens, or LinkError saying why not."""
    payload = unsign("email-action", token, int(PERIOD.total_seconds()))
    if "p" not in payload:
        raise LinkError("This link is meant for something else.")
    pulse = db.session.get(Pulse, payload["p"])
    if pulse is None or pulse.learner_id != payload.get("u"):
        raise LinkError("This pulse no longer exists.")
    return pulse


def own_pulse_or_404(viewer: User, pulse_id: int) -> Pulse:
    """A pulse of the viewer's own; a 404 for anyone else, their coach too."""
    pulse = db.session.get(Pulse, pulse_id)
    if pulse is None or pulse.learner_id != viewer.id:
        abort(404)
    return pulse


def state(pulse: Pulse) -> str:
    """OPEN to answer, ANSWERED, or CLOSED (its period ended, or the coaching did)."""
    if pulse.answered_at is not None:
        return ANSWERED
    if not pulse.link.active or pulse.closes_at <= clock.now():
        return CLOSED
    return OPEN


def why_not(pulse: Pulse) -> str:
    """The sentence for a pulse that cannot take an answer."""
    if pulse.answered_at is not None:
        return "You have answered this pulse already, and each one takes a single answer, so nothing changed."
    if not pulse.link.active:
        return "This coaching has ended, so its pulse is closed."
    return (f"This pulse closed on {pulse.last_day:%-d %B} without an answer. "
            "The next one comes at the start of the next four weeks.")


def answer(pulse: Pulse, scores: dict[str, int], comment: str) -> bool:
    """Store the answers once; False when the pulse was answered already or has closed (a second go, a double
    tap racing the first: the update only touches an unanswered row)."""
    if state(pulse) != OPEN:
        return False
    values = {name: scores[name] for name in STATEMENTS}
    saved = db.session.execute(update(Pulse).where(Pulse.id == pulse.id, Pulse.answered_at.is_(None))
                               .values(**values, comment=comment, answered_at=clock.now())).rowcount
    db.session.commit()
    return saved == 1


def open_pulses(learner: User) -> list[Pulse]:
    """The learner's pulses waiting for an answer (for the home card)."""
    return list(db.session.scalars(
        db.select(Pulse).join(CoachingLink, CoachingLink.id == Pulse.link_id)
        .where(Pulse.learner_id == learner.id, Pulse.answered_at.is_(None), Pulse.closes_at > clock.now(),
               CoachingLink.ended_at.is_(None))
        .order_by(Pulse.period_start, Pulse.id).options(db.contains_eager(Pulse.link).joinedload(CoachingLink.coach))))


def pulses_of(learner: User, limit: int = 26) -> list[Pulse]:
    """The learner's own pulses, newest first, with their coaches."""
    return list(db.session.scalars(
        db.select(Pulse).where(Pulse.learner_id == learner.id).order_by(Pulse.period_start.desc(), Pulse.id)
        .limit(limit).options(db.selectinload(Pulse.link).selectinload(CoachingLink.coach))))


# --- the coach's aggregates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementResult:
    """One statement over a period: the average answer and the share who agreed (4 or 5)."""

    text: str
    average: float
    agree_pct: int


@dataclass(frozen=True)
class PeriodResult:
    """A closed period: how many learners answered and, when enough did, each statement and the comments
    (in alphabetical order: the order they came in could name someone)."""

    start: date
    answers: int | None  # None when fewer than MIN_ANSWERS learners answered (how many is not shown either)
    statements: list[StatementResult]
    comments: list[str]

    @property
    def last_day(self) -> date:
        return last_day(self.start)


@dataclass(frozen=True)
class CoachPulse:
    """The coach's pulse page: closed periods, newest first, and the day the open period ends, if one is open."""

    periods: list[PeriodResult]
    open_until: date | None
    needed: int = MIN_ANSWERS

    @property
    def latest(self) -> PeriodResult | None:
        """The newest period with enough answers to show."""
        return next((period for period in self.periods if period.answers is not None), None)


def coach_pulse(coach: User) -> CoachPulse:
    """What the coach's pulse page shows; a 404 for someone who has never coached anyone."""
    if not db.session.scalar(db.select(db.exists().where(CoachingLink.coach_id == coach.id))):
        abort(404)
    answered = Pulse.answered_at.is_not(None)
    columns = [getattr(Pulse, name) for name in STATEMENTS]
    rows = db.session.execute(
        db.select(Pulse.period_start, func.max(Pulse.closes_at),
                  func.count(func.distinct(case((answered, Pulse.learner_id)))), func.count(Pulse.answered_at),
                  *(func.avg(column) for column in columns),
                  *(func.sum(case((column >= 4, 1), else_=0)) for column in columns))
        .join(CoachingLink, CoachingLink.id == Pulse.link_id).where(CoachingLink.coach_id == coach.id)
        .group_by(Pulse.period_start).order_by(Pulse.period_start.desc()).limit(TREND_PERIODS + 1)).all()
    now, closed, open_until = clock.now(), [], None
    for start, closes, learners, count, *figures in rows:
        if closes > now:  # still open somewhere: a result that moved with each answer would give answers away
            open_until = open_until or last_day(start)
        elif learners < MIN_ANSWERS:
            closed.append((start, None, []))
        else:
            averages, agreeing = figures[:len(columns)], figures[len(columns):]
            closed.append((start, learners, [
                StatementResult(text, round(float(average), 1), round(100 * int(agree) / count))
                for text, average, agree in zip(STATEMENTS.values(), averages, agreeing, strict=True)]))
    closed = closed[:TREND_PERIODS]
    comments: dict[date, list[str]] = {start: [] for start, learners, _ in closed if learners}
    for start, comment in db.session.execute(
            db.select(Pulse.period_start, Pulse.comment).join(CoachingLink, CoachingLink.id == Pulse.link_id)
            .where(CoachingLink.coach_id == coach.id, Pulse.period_start.in_(comments), Pulse.comment != "")):
        comments[start].append(comment)
    return CoachPulse([PeriodResult(start, learners, statements, sorted(comments.get(start, []), key=str.casefold))
                       for start, learners, statements in closed], open_until)
