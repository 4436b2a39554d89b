"""Logging reps (idempotent), the 24-hour edit window, ledger weeks, and goal progress."""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import abort
from sqlalchemy.exc import IntegrityError

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import day_start, today_in, week_bounds, week_start, zone_of
from failforward.coaching.access import learners_record_or_404, own_record_or_404
from failforward.extensions import db
from failforward.goals.models import ACTIVE, LOWER, REACHED, Drill, Goal
from failforward.ledger import progress
from failforward.ledger.models import HIT, MISS, PARTIAL, Rep

LEDGER_WEEKS_PER_PAGE = 4
STATUS_WEEKS = 1  # "3 of 4 weeks held" reads only the rule's weeks, not the chart's twelve
REP_FIELDS = ("performed_at", "value", "duration_minutes", "outcome", "note", "adjustment")


def rep_or_404(viewer: User, rep_id: int) -> Rep:
    """A rep the viewer may see (its learner or an active coach); 404 for anyone else."""
    return learners_record_or_404(viewer, Rep, rep_id)


def own_rep_or_404(viewer: User, rep_id: int) -> Rep:
    """A rep the viewer logged."""
    return own_record_or_404(viewer, Rep, rep_id)


def auto_outcome(goal: Goal, value: float) -> str:
    """Hit when the value reaches the target, partial when it beats the baseline, else miss."""
    if goal.meets_target(value):
        return HIT
    better = value < goal.baseline if goal.direction == LOWER else value > goal.baseline
    return PARTIAL if better else MISS


def _rep_by_key(learner: User, idempotency_key: str) -> Rep | None:
    return db.session.scalar(
        db.select(Rep).where(Rep.learner_id == learner.id, Rep.idempotency_key == idempotency_key))


def log_rep(learner: User, drill: Drill, fields: dict, idempotency_key: str) -> tuple[Rep, bool]:
    """Save a rep once per idempotency key; a second tap returns the first rep and False."""
    existing = _rep_by_key(learner, idempotency_key)
    if existing:
        return existing, False
    values = {name: fields.get(name) for name in REP_FIELDS}
    values["performed_at"] = values["performed_at"] or clock.now()
    values["outcome"] = values["outcome"] or auto_outcome(drill.goal, values["value"])
    values["note"], values["adjustment"] = values["note"] or "", values["adjustment"] or ""
    rep = Rep(learner_id=learner.id, goal_id=drill.goal_id, drill_id=drill.id,
              idempotency_key=idempotency_key, **values)
    try:
        with db.session.begin_nested():
            db.session.add(rep)
    except IntegrityError:
        # Both taps passed the check at once (PostgreSQL runs them side by side); the unique key
        # let one in.
        db.session.rollback()
        return _rep_by_key(learner, idempotency_key), False
    refresh_goal_status(drill.goal)
    db.session.commit()
    return rep, True


def _require_editable(rep: Rep) -> None:
    if not rep.editable:
        abort(403, "This rep was logged more than 24 hours ago and is now part of the record.")


def update_rep(rep: Rep, drill: Drill, fields: dict) -> Rep:
    """Change a rep (possibly moving it to another of the learner's drills) within its edit window."""
    _require_editable(rep)
    old_goal = rep.drill.goal
    rep.drill, rep.goal_id = drill, drill.goal_id
    rep.performed_at = fields.get("performed_at") or rep.performed_at
    rep.value, rep.duration_minutes = fields["value"], fields.get("duration_minutes")
    rep.outcome = fields.get("outcome") or auto_outcome(drill.goal, fields["value"])
    rep.note, rep.adjustment = fields.get("note") or "", fields.get("adjustment") or ""
    db.session.flush()
    refresh_goal_status(drill.goal)
    if old_goal.id != drill.goal_id:
        refresh_goal_status(old_goal)
    db.session.commit()
    return rep


def delete_rep(rep: Rep) -> None:
    """Delete a rep within its edit window."""
    _require_editable(rep)
    goal = rep.drill.goal
    db.session.delete(rep)
    db.session.flush()
    refresh_goal_status(goal)
    db.session.commit()


def last_used_drill_id(learner: User) -> int | None:
    """The drill of the learner's most recently logged rep."""
    return db.session.scalar(
        db.select(Rep.drill_id).where(Rep.learner_id == learner.id).order_by(Rep.logged_at.desc()).limit(1))


def todays_reps(learner: User, limit: int | None = None) -> list[Rep]:
    """Reps performed today in the learner's time zone, newest first (the latest `limit` of them)."""
    zone = zone_of(learner)
    start = day_start(today_in(zone), zone)
    return list(db.session.scalars(
        db.select(Rep).where(Rep.learner_id == learner.id, Rep.performed_at >= start)
        .order_by(Rep.performed_at.desc()).limit(limit).options(db.joinedload(Rep.drill))))


# --- weeks and progress ---------------------------------------------------------------------------

def _window_start(zone: ZoneInfo, weeks: int) -> date:
    return week_start(clock.now(), zone) - timedelta(weeks=weeks - 1)


def goal_progress(goals: list[Goal], zone: ZoneInfo, weeks: int = progress.CHART_WEEKS) -> dict[int, progress.Progress]:
    """Each goal's recent weeks (at least the rule's own and the one in progress) and rule status, from
    one query for all of them. A status line needs no more: pass `weeks=STATUS_WEEKS`."""
    if not goals:
        return {}
    window = max(weeks, max(g.weeks_required for g in goals) + 1)
    first = _window_start(zone, window)
    since, _ = week_bounds(first, zone)
    rows = db.session.execute(
        db.select(Rep.goal_id, Rep.performed_at, Rep.value, Rep.duration_minutes)
        .where(Rep.goal_id.in_([g.id for g in goals]), Rep.performed_at >= since))
    by_goal: dict[int, list] = {g.id: [] for g in goals}
    for goal_id, performed_at, value, minutes in rows:
        by_goal[goal_id].append((performed_at, value, minutes))
    now = clock.now()
    result = {}
    for goal in goals:
        created = week_start(goal.created_at, zone)
        weekly = progress.weekly_values(by_goal[goal.id], how=goal.aggregation, direction=goal.direction,
                                        target=goal.target, zone=zone, first_week=max(first, created), now=now)
        result[goal.id] = progress.evaluate(weekly, goal.weeks_required)
    return result


def refresh_goal_status(goal: Goal) -> bool:
    """Mark an active goal reached when its rule holds; True when it changed. The caller commits."""
    if goal.status != ACTIVE:
        return False
    learner = db.session.get(User, goal.learner_id)
    state = goal_progress([goal], zone_of(learner))[goal.id]
    # The streak that completed counts even if later weeks broke it before this refresh ran.
    if state.reached_on is not None:
        goal.status, goal.reached_on = REACHED, state.reached_on
        return True
    return False


def refresh_all_goals() -> int:
    """Mark every active goal whose rule now holds as reached (a week ended since the last rep)."""
    changed = sum(refresh_goal_status(goal) for goal in db.session.scalars(
        db.select(Goal).where(Goal.status == ACTIVE)))
    db.session.commit()
    return changed


@dataclass(frozen=True)
class LedgerWeek:
    """One local week of the ledger: its reps, practice time and rep count."""

    start: date
    reps: list[Rep]

    @property
    def minutes(self) -> int:
        return sum(rep.duration_minutes or 0 for rep in self.reps)


def ledger_page(learner: User, page: int, goal_id: int | None = None,
                drill_id: int | None = None) -> tuple[list[LedgerWeek], bool]:
    """Four local weeks of reps per page, newest first, filtered by goal or drill, and whether
    anything older exists. Never loads the whole history."""
    zone = zone_of(learner)
    newest = week_start(clock.now(), zone) - timedelta(weeks=LEDGER_WEEKS_PER_PAGE * (page - 1))
    oldest = newest - timedelta(weeks=LEDGER_WEEKS_PER_PAGE - 1)
    since, _ = week_bounds(oldest, zone)
    _, until = week_bounds(newest, zone)
    mine = db.select(Rep).where(Rep.learner_id == learner.id)
    if goal_id:
        mine = mine.where(Rep.goal_id == goal_id)
    if drill_id:
        mine = mine.where(Rep.drill_id == drill_id)
    shown = (mine.where(Rep.performed_at >= since, Rep.performed_at < until)
             .order_by(Rep.performed_at.desc()).options(db.joinedload(Rep.drill)))
    weeks: dict[date, list[Rep]] = {newest - timedelta(weeks=i): [] for i in range(LEDGER_WEEKS_PER_PAGE)}
    for rep in db.session.scalars(shown):
        weeks[week_start(rep.performed_at, zone)].append(rep)
    older = db.session.scalar(mine.with_only_columns(Rep.id).where(Rep.performed_at < since).limit(1))
    return [LedgerWeek(start, reps) for start, reps in weeks.items()], older is not None


def recent_reps(goal: Goal, limit: int = 10) -> list[Rep]:
    """A goal's latest reps."""
    return list(db.session.scalars(
        db.select(Rep).where(Rep.goal_id == goal.id).order_by(Rep.performed_at.desc()).limit(limit)
        .options(db.joinedload(Rep.drill))))
