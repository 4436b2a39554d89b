"""Logging reps (idempotent), the 24-hour edit window, ledger weeks, and goal progress."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import day_start, today_in, week_bounds, week_start, zone_of
from failforward.coaching.access import learners_record_or_404, own_record_or_404
from failforward.database import commit_keeping_rows
from failforward.extensions import db
from failforward.goals import services as goals
from failforward.goals.models import ACTIVE, REACHED, Drill, Goal
from failforward.ledger import progress, weekly
from failforward.ledger.models import HIT, MISS, PARTIAL, Rep
from failforward.once import insert_once

LEDGER_WEEKS_PER_PAGE = 4
STATUS_WEEKS = 1  # "3 of 4 weeks held" reads only the rule's weeks, not the chart's twelve
TODAY_SHOWN = 5  # today's reps under the quick-log form; the rest are in the ledger
ALREADY_SAVED = "Already saved (you tapped twice): nothing was added."


def rep_or_404(viewer: User, rep_id: int) -> Rep:
    """A rep the viewer may see (its learner or an active coach); 404 for anyone else."""
    return learners_record_or_404(viewer, Rep, rep_id)


def own_rep_or_404(viewer: User, rep_id: int) -> Rep:
    """A rep the viewer logged."""
    return own_record_or_404(viewer, Rep, rep_id)


def auto_outcome(goal: Goal, value: float) -> str:
    """Hit when the value reaches the target; partial when it is at least the goal's share of the way
    from the baseline to the target (halfway by default); else miss."""
    if goal.meets_target(value):
        return HIT
    return PARTIAL if goal.at_least(value, goal.partial_from) else MISS


def standing(goal: Goal, value: float) -> str:
    """Where a value stands against the target, as the card says it after saving."""
    if goal.meets_target(value):
        return "on target"
    return f"{abs(value - goal.target):g} {goal.unit} to go"


def _rep_values(goal: Goal, fields: dict, performed_at: datetime) -> dict:
    """A rep's columns from the form's fields: `performed_at` when no time was typed, the outcome worked
    out from the target when none was picked."""
    return {"performed_at": fields.get("performed_at") or performed_at, "value": fields["value"],
            "duration_minutes": fields.get("duration_minutes"),
            "outcome": fields.get("outcome") or auto_outcome(goal, fields["value"]),
            "note": fields.get("note") or "", "adjustment": fields.get("adjustment") or ""}


def _add_rep(learner: User, drill: Drill, fields: dict, idempotency_key: str) -> tuple[Rep, bool]:
    rep, created = insert_once(Rep, learner.id, idempotency_key, lambda: Rep(
        learner_id=learner.id, goal_id=drill.goal_id, drill_id=drill.id, idempotency_key=idempotency_key,
        **_rep_values(drill.goal, fields, clock.now())))
    if created:
        refresh_goal_status(drill.goal)
    return rep, created


def log_rep(learner: User, drill: Drill, fields: dict, idempotency_key: str) -> tuple[Rep, bool]:
    """Save a rep once per idempotency key; a second tap returns the first rep and False."""
    rep, created = _add_rep(learner, drill, fields, idempotency_key)
    db.session.commit()
    return rep, created


def _require_editable(rep: Rep) -> None:
    if not rep.editable:
        abort(403, "This rep was logged more than 24 hours ago and is now part of the record.")


def update_rep(rep: Rep, drill: Drill, fields: dict) -> Rep:
    """Change a rep (possibly moving it to another of the learner's drills) within its edit window."""
    _require_editable(rep)
    old_goal = rep.drill.goal
    rep.drill, rep.goal_id = drill, drill.goal_id
    for name, value in _rep_values(drill.goal, fields, rep.performed_at).items():
        setattr(rep, name, value)
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
        .order_by(Rep.performed_at.desc()).limit(limit).options(db.joinedload(Rep.drill).joinedload(Drill.goal))))


# --- the quick-log card ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DrillChoice:
    """A drill the learner can log a rep on, and what its value measures ("5 km time, min")."""

    id: int
    goal_id: int
    name: str
    measures: str


@dataclass(frozen=True)
class QuickLog:
    """The quick-log card: the drills to pick from (the wanted one, else the last used, picked), today's
    latest reps, and after a save what was saved."""

    learner: User
    drills: list[DrillChoice]
    wanted: int | None = None
    saved: str = ""  # "Saved: 4 min on Pager drill (hit)." once a rep is saved (or found saved)
    created: bool = False
    miss_id: int | None = None  # a new rep that missed: the card offers to reflect on it
    # The drills' rows, held so that the session (which holds them weakly) still has them when a rep is
    # saved on one: no query for the drill or its goal then.
    rows: list[Drill] = field(default_factory=list, repr=False, compare=False)

    @cached_property
    def drill_id(self) -> int | None:
        """The drill to offer first; the last-used one may be archived or on a paused goal since."""
        loggable = {d.id for d in self.drills}
        if self.wanted in loggable:
            return self.wanted
        last = last_used_drill_id(self.learner) if self.drills else None
        return last if last in loggable else (self.drills[0].id if self.drills else None)

    @cached_property
    def _today(self) -> list[Rep]:
        # Read when the card is drawn: after a save that is once web.done() has ended the write, so
        # the read neither holds SQLite's write lock nor happens at all for a plain post's redirect.
        return todays_reps(self.learner, TODAY_SHOWN + 1)

    @property
    def todays_reps(self) -> list[Rep]:
        return self._today[:TODAY_SHOWN]

    @property
    def more_today(self) -> bool:
        """The ledger holds more of today's reps than the card shows."""
        return len(self._today) > TODAY_SHOWN

    @property
    def hints(self) -> dict[int, str]:
        """What each drill's value measures, drawn beside its radio button."""
        return {d.id: d.measures for d in self.drills}

    @property
    def flash(self) -> str:
        """What a plain post says on the next page."""
        return self.saved if self.created else ALREADY_SAVED


def quick_log(learner: User, wanted: int | None = None) -> QuickLog:
    """The quick-log card for the learner, with the `wanted` drill picked if it can be logged."""
    drills = goals.active_drills(learner)
    return QuickLog(learner, [DrillChoice(d.id, d.goal_id, d.name, f"{d.goal.metric_name}, {d.goal.unit}")
                              for d in drills], wanted, rows=drills)


def log_from_card(card: QuickLog, drill_id: int, fields: dict, idempotency_key: str) -> QuickLog:
    """Save a rep on one of the card's drills, once per key; the card again, saying what was saved."""
    drill = next(d for d in card.rows if d.id == drill_id)
    rep, created = _add_rep(card.learner, drill, fields, idempotency_key)
    # Read before the commit, which expires every loaded row.
    goal = rep.drill.goal
    saved = f"Saved: {rep.value:g} {goal.unit} on {rep.drill.name} ({rep.outcome}; {standing(goal, rep.value)})."
    drills = [d for d in card.drills if d.goal_id != drill.goal_id or drill.goal.status == ACTIVE]
    after = QuickLog(card.learner, drills, rep.drill_id, saved, created,
                     rep.id if created and rep.outcome == MISS else None)
    commit_keeping_rows()  # the card is drawn from the rows just written: reading them back cost more than the rest
    return after


# --- weeks and progress ---------------------------------------------------------------------------

def _window_start(zone: ZoneInfo, weeks: int) -> date:
    return week_start(clock.now(), zone) - timedelta(weeks=weeks - 1)


def goal_progress(goals: list[Goal], zone: ZoneInfo | dict[int, ZoneInfo],
                  weeks: int = progress.CHART_WEEKS) -> dict[int, progress.Progress]:
    """Each goal's recent weeks (at least the rule's own and the one in progress) and rule status, from
    one query of their weekly roll-ups. A status line needs no more: pass `weeks=STATUS_WEEKS`. `zone` is the
    learner's, or each learner's by id when the goals are several learners' (a coach's overview)."""
    if not goals:
        return {}
    zones = zone if isinstance(zone, dict) else {g.learner_id: zone for g in goals}
    window = max(weeks, max(g.weeks_required for g in goals) + 1)
    firsts = {g.id: _window_start(zones[g.learner_id], window) for g in goals}
    totals = weekly.weeks_of(firsts, min(firsts.values()))
    current = {learner_id: week_start(clock.now(), zone) for learner_id, zone in zones.items()}
    result = {}
    for goal in goals:
        # Weeks count from the goal's creation, or from its first rep when that came earlier (a rep
        # logged as practised before the goal was set up, or the weeks of practice it was set up from).
        begins = min([week_start(goal.created_at, zones[goal.learner_id]), *totals[goal.id]])
        shown = progress.weeks_from(totals[goal.id], direction=goal.direction, target=goal.target,
                                      mondays=progress.mondays_between(max(firsts[goal.id], begins),
                                                                       current[goal.learner_id]))
        result[goal.id] = progress.evaluate(shown, goal.weeks_required)
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


@dataclass(frozen=True)
class LedgerPage:
    """One page of the ledger: four local weeks of reps, whether older ones exist, the filter, and the
    goals and drills to filter by."""

    weeks: list[LedgerWeek]
    older: bool
    page: int
    goal_id: int | None
    drill_id: int | None
    goals: list[Goal]
    drills: list[Drill]

    @property
    def empty(self) -> bool:
        """Nothing logged at all (not merely nothing on this page or under this filter)."""
        return (self.page == 1 and not self.older and not self.goal_id and not self.drill_id
                and not any(week.reps for week in self.weeks))


def ledger_page(learner: User, page: int, goal_id: int | None = None, drill_id: int | None = None) -> LedgerPage:
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
    # Every drill and goal is on the page already (the filters), so each rep finds its drill in the
    # session instead of in a join repeated on every row.
    all_goals, all_drills = goals.goals_of(learner), goals.drills_of_learner(learner)
    shown = mine.where(Rep.performed_at >= since, Rep.performed_at < until).order_by(Rep.performed_at.desc())
    weeks: dict[date, list[Rep]] = {newest - timedelta(weeks=i): [] for i in range(LEDGER_WEEKS_PER_PAGE)}
    for rep in db.session.scalars(shown):
        weeks[week_start(rep.performed_at, zone)].append(rep)
    older = db.session.scalar(mine.with_only_columns(Rep.id).where(Rep.performed_at < since).limit(1))
    return LedgerPage([LedgerWeek(start, reps) for start, reps in weeks.items()], older is not None, page,
                      goal_id, drill_id, all_goals, all_drills)


def recent_reps(goal: Goal, limit: int = 10) -> list[Rep]:
    """A goal's latest reps."""
    return list(db.session.scalars(
        db.select(Rep).where(Rep.goal_id == goal.id).order_by(Rep.performed_at.desc()).limit(limit)
        .options(db.joinedload(Rep.drill))))
