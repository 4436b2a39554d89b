"""Each goal's weekly roll-up (GoalWeek), kept in step with its reps.

A coach's overview asks for 150 goals' last five weeks. Read from the reps, that was about 3,500 rows on every
view and most of the page's cost; from the roll-up it is one row a goal a week. One listener on every flush
keeps the rows, so no write path can forget them: a rep added, changed or deleted recomputes the weeks it
left and joined; a goal whose aggregation or direction changes, and a learner whose time zone changes,
recompute all their weeks. Writes that bypass the session (the bench's bulk load) call `rebuild()`, which
`flask rebuild-weeks` runs too.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from failforward.accounts.models import User
from failforward.calendar import week_bounds, week_start
from failforward.extensions import db
from failforward.goals.models import Goal
from failforward.ledger import progress
from failforward.ledger.models import GoalWeek, Rep

WEEKS = GoalWeek.__table__
PENDING = "failforward.weekly"  # the key in session.info between before_flush and after_flush


@dataclass
class Pending:
    """What a flush changes, noted before it: (goal, moment) of reps, goals, learners."""

    moments: set[tuple[int, datetime]] = field(default_factory=set)
    goals: set[int] = field(default_factory=set)
    learners: set[int] = field(default_factory=set)


def _before_and_after(obj, name: str) -> tuple[set, bool]:
    """An attribute's values before and after this flush (one when unchanged), and whether it changed. Loads an
    expired attribute, so it runs before the flush, while the row still holds the old values."""
    history = inspect(obj).attrs[name].load_history()
    return {*history.deleted, *history.added, *history.unchanged} - {None}, history.has_changes()


def _before_flush(session: Session, _context, _instances) -> None:
    """Note what the flush will change that only the state before it tells: the weeks a deleted or changed rep
    leaves, goals whose rule's value changes, learners whose zone changes."""
    pending = session.info.setdefault(PENDING, Pending())
    for rep in session.deleted:
        if isinstance(rep, Rep):
            pending.moments.add((rep.goal_id, rep.performed_at))
    for obj in session.dirty:
        if isinstance(obj, Rep):
            states = [_before_and_after(obj, name) for name in ("goal_id", "performed_at", "value", "duration_minutes")]
            if any(changed for _, changed in states):
                pending.moments |= {(goal_id, at) for goal_id in states[0][0] for at in states[1][0]}
        elif isinstance(obj, Goal) and any(_before_and_after(obj, name)[1] for name in ("aggregation", "direction")):
            pending.goals.add(obj.id)
        elif isinstance(obj, User) and _before_and_after(obj, "timezone")[1]:
            pending.learners.add(obj.id)


def _recompute(connection: Connection, goal_id: int, how: str, direction: str, zone: ZoneInfo, monday: date) -> None:
    start, end = week_bounds(monday, zone)
    entries = connection.execute(db.select(Rep.value, Rep.duration_minutes).where(
        Rep.goal_id == goal_id, Rep.performed_at >= start, Rep.performed_at < end)).all()
    week = progress.total(entries, how, direction)
    connection.execute(WEEKS.delete().where(WEEKS.c.goal_id == goal_id, WEEKS.c.monday == monday))
    if week is not None:
        connection.execute(WEEKS.insert().values(goal_id=goal_id, monday=monday, value=week.value, reps=week.reps,
                                                 minutes=week.minutes))


def _goal_rules(connection: Connection, where) -> dict[int, tuple[str, str, ZoneInfo]]:
    """Each goal's rule and zone, its row locked until the transaction ends: two reps logged at once on one goal
    recompute its weeks one after the other, the second seeing the first's rep (PostgreSQL; SQLite's writers take
    turns anyway). In id order, so that two writers never wait for each other."""
    return {goal_id: (how, direction, ZoneInfo(timezone)) for goal_id, how, direction, timezone in connection.execute(
        db.select(Goal.id, Goal.aggregation, Goal.direction, User.timezone)
        .join(User, User.id == Goal.learner_id).where(where).order_by(Goal.id).with_for_update(of=Goal))}


def _after_flush(session: Session, _context) -> None:
    """Recompute what the flush changed, new reps included (their columns are all set only now)."""
    pending = session.info.pop(PENDING, None) or Pending()
    pending.moments |= {(rep.goal_id, rep.performed_at) for rep in session.new if isinstance(rep, Rep)}
    if not (pending.moments or pending.goals or pending.learners):
        return
    connection = session.connection()
    if pending.goals or pending.learners:
        rebuild(connection, db.or_(Goal.id.in_(pending.goals), Goal.learner_id.in_(pending.learners)))
    rules = _goal_rules(connection, Goal.id.in_({goal_id for goal_id, _ in pending.moments}))
    weeks = {(goal_id, week_start(at, rules[goal_id][2])) for goal_id, at in pending.moments if goal_id in rules}
    for goal_id, monday in sorted(weeks):
        _recompute(connection, goal_id, *rules[goal_id], monday)


def rebuild(connection: Connection, where=None) -> int:
    """Recompute the weeks of every goal (or of the goals `where` selects) from their reps; returns the rows."""
    rules = _goal_rules(connection, db.true() if where is None else where)
    if not rules:
        return 0
    connection.execute(WEEKS.delete().where(WEEKS.c.goal_id.in_(rules)))
    buckets: dict[tuple[int, date], list[tuple[float, int | None]]] = {}
    for goal_id, performed_at, value, minutes in connection.execute(
            db.select(Rep.goal_id, Rep.performed_at, Rep.value, Rep.duration_minutes)
            .where(Rep.goal_id.in_(rules))):
        buckets.setdefault((goal_id, week_start(performed_at, rules[goal_id][2])), []).append((value, minutes))
    rows = [{"goal_id": goal_id, "monday": monday, "value": week.value, "reps": week.reps, "minutes": week.minutes}
            for (goal_id, monday), entries in buckets.items()
            if (week := progress.total(entries, *rules[goal_id][:2])) is not None]
    if rows:
        connection.execute(WEEKS.insert(), rows)
    return len(rows)


def listen() -> None:
    """Keep the roll-ups on every flush of every session (idempotent: create_app calls it for each app)."""
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def weeks_of(goal_ids: Iterable[int], since: date) -> dict[int, dict[date, progress.WeekTotal]]:
    """The rolled-up weeks from `since` on of each goal, by Monday."""
    ids = list(goal_ids)
    result: dict[int, dict[date, progress.WeekTotal]] = {goal_id: {} for goal_id in ids}
    for goal_id, monday, value, reps, minutes in db.session.connection().execute(
            db.select(WEEKS.c.goal_id, WEEKS.c.monday, WEEKS.c.value, WEEKS.c.reps, WEEKS.c.minutes)
            .where(WEEKS.c.goal_id.in_(ids), WEEKS.c.monday >= since)).all():
        result[goal_id][monday] = progress.WeekTotal(value, reps, minutes)
    return result
