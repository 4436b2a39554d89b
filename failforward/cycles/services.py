"""PDSA cycles: planning one (prefilled from a pre-mortem risk, a lesson or the cycle before), the rule that
cannot change silently once started, the study at the end of the timebox (the sweep, or "study it now"),
the learner's decision, notes and comments, and what the goal and home pages show of them."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import day_start, today_for, zone_of
from failforward.coaching.access import learners_record_or_404, own_record_or_404
from failforward.cycles import rule
from failforward.cycles.models import (
    ADAPT,
    COMMENT,
    DECIDED,
    ENDED,
    INCONCLUSIVE,
    MINUTES,
    MISS_RATE,
    OBSERVATION,
    OTHER_GOAL,
    RUNNING,
    STATES,
    Cycle,
    CycleNote,
    RuleChange,
)
from failforward.extensions import db
from failforward.goals.models import ACTIVE, HIGHER, LOWER, Drill, Goal
from failforward.ledger.models import Rep
from failforward.once import insert_once, say_once
from failforward.web import absolute_url

PLAN_FIELDS = ("drill_id", "objective", "change", "prediction", "harm", "harm_goal_id", "adopt_if_pct",
               "harm_tolerance_pct", "min_reps", "scope_pct", "timebox_days", "starts_on", "undo_plan",
               "undo_speed", "next_if_inconclusive")
RULE_FIELDS = ("harm", "harm_goal_id", "adopt_if_pct", "harm_tolerance_pct", "min_reps")
DEFAULTS = {"adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5, "scope_pct": 10, "timebox_days": 14,
            "harm": MISS_RATE}


# --- access -------------------------------------------------------------------------------------

def cycle_or_404(viewer: User, cycle_id: int) -> Cycle:
    """A cycle the viewer may see: its learner, or their active coach; 404 for anyone else."""
    return learners_record_or_404(viewer, Cycle, cycle_id)


def own_cycle_or_404(viewer: User, cycle_id: int) -> Cycle:
    """A cycle of the viewer's own (only the learner plans, changes and decides)."""
    return own_record_or_404(viewer, Cycle, cycle_id)


# --- plan ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanChoices:
    """What a plan on this goal can pick: its drills that can be practised, and the learner's other goals
    (whose metric can be the harm to watch)."""

    drills: list[Drill]
    other_goals: list[Goal]


def plan_choices(goal: Goal) -> PlanChoices:
    """The goal's active drills and the learner's other active goals."""
    drills = db.session.scalars(db.select(Drill).where(Drill.goal_id == goal.id, Drill.archived_at.is_(None))
                                .order_by(Drill.created_at))
    others = db.session.scalars(db.select(Goal).where(Goal.learner_id == goal.learner_id, Goal.id != goal.id,
                                                      Goal.status == ACTIVE).order_by(Goal.created_at))
    return PlanChoices(list(drills), list(others))


def prefill(goal: Goal, previous_id: int | None, wanted: dict[str, str | int | None]) -> tuple[dict, Cycle | None]:
    """Starting values for a new plan, and the cycle it follows: the previous cycle of this goal copied
    forward when asked, else the defaults with what a link brought (a risk's prevention step, a lesson's
    "try next": `change`, `objective`, `drill`)."""
    previous = db.session.get(Cycle, previous_id) if previous_id else None
    if previous is not None and previous.goal_id == goal.id:
        data = {name: getattr(previous, name) for name in PLAN_FIELDS}
        data["harm"] = f"goal:{previous.harm_goal_id}" if previous.harm == OTHER_GOAL else previous.harm
        return {**data, "starts_on": today_for(goal.learner)}, previous
    data = {**DEFAULTS, "starts_on": today_for(goal.learner)}
    return {**data, **{name: value for name, value in wanted.items() if value}}, None


def _rule_values(fields: dict) -> dict:
    return {name: fields[name] for name in RULE_FIELDS}


def create_cycle(learner: User, goal: Goal, fields: dict, previous_id: int | None,
                 idempotency_key: str) -> tuple[Cycle, bool]:
    """Save the plan once per key (a double tap saves one), chained to the cycle it follows on this goal."""
    previous = db.session.get(Cycle, previous_id) if previous_id else None

    def new_cycle() -> Cycle:
        values = {name: fields[name] for name in PLAN_FIELDS}
        return Cycle(learner_id=learner.id, goal_id=goal.id, idempotency_key=idempotency_key,
                     previous_id=previous.id if previous is not None and previous.goal_id == goal.id else None,
                     ends_on=values["starts_on"] + timedelta(days=values["timebox_days"]), **values)

    cycle, created = insert_once(Cycle, learner.id, idempotency_key, new_cycle)
    db.session.commit()
    return cycle, created


def update_rule(cycle: Cycle, fields: dict, reason: str) -> bool:
    """Change the decision rule. Before the start it is still being declared; once started the change is
    recorded and the cycle marked "rule changed after start". After the study the rule is fixed: False."""
    state = cycle.state(today_for(cycle.learner))
    if state in (ENDED, DECIDED):
        return False
    before = cycle.rule_text
    for name, value in _rule_values(fields).items():
        setattr(cycle, name, value)
    db.session.flush()
    db.session.refresh(cycle, ["harm_goal"])
    after = cycle.rule_text
    if state == RUNNING and after != before:
        cycle.rule_changed_after_start = True
        db.session.add(RuleChange(cycle_id=cycle.id, before=before, after=after, reason=reason))
    db.session.commit()
    return True


# --- study --------------------------------------------------------------------------------------

def _figures(where, since: datetime, until: datetime) -> list[rule.RepFigures]:
    rows = db.session.execute(db.select(Rep.performed_at, Rep.value, Rep.duration_minutes, Rep.outcome)
                              .where(where, Rep.performed_at >= since, Rep.performed_at < until))
    return [rule.RepFigures(*row) for row in rows]


def _window(cycle: Cycle, drill_reps: list[rule.RepFigures], harm_reps: list[rule.RepFigures],
            bounds: tuple[datetime, datetime]) -> rule.Window:
    reps = rule.inside(drill_reps, bounds)
    if cycle.harm == MISS_RATE:
        harm = rule.miss_rate(reps)
    elif cycle.harm == MINUTES:
        harm = rule.minutes(reps)
    else:
        other = cycle.harm_goal
        harm = rule.signal(rule.inside(harm_reps, bounds), other.aggregation, other.direction) if other else None
    return rule.Window(len(reps), rule.signal(reps, cycle.goal.aggregation, cycle.goal.direction), harm)


def _harm_direction(cycle: Cycle) -> str:
    if cycle.harm == OTHER_GOAL:
        return cycle.harm_goal.direction if cycle.harm_goal else LOWER
    return HIGHER if cycle.harm == MINUTES else LOWER


def study(cycle: Cycle, now: datetime | None = None) -> Cycle:
    """Compute signal and harm over the baseline and test windows and apply the rule; the test window ends at
    the end of the timebox, or now if that is sooner ("study it now"). Once studied, nothing changes."""
    if cycle.studied_at is not None:
        return cycle
    now = now or clock.now()
    zone = zone_of(cycle.learner)
    baseline, test = rule.windows(cycle.starts_on, cycle.timebox_days, zone, now)
    drill_reps = _figures(Rep.drill_id == cycle.drill_id, baseline[0], test[1])
    harm_reps = _figures(Rep.goal_id == cycle.harm_goal_id, baseline[0], test[1]) if cycle.harm_goal_id else []
    before, during = _window(cycle, drill_reps, harm_reps, baseline), _window(cycle, drill_reps, harm_reps, test)
    verdict = rule.decide(before, during, direction=cycle.goal.direction, harm_direction=_harm_direction(cycle),
                          adopt_if_pct=cycle.adopt_if_pct, harm_tolerance_pct=cycle.harm_tolerance_pct,
                          min_reps=cycle.min_reps)
    cycle.studied_at, cycle.ended_at = now, test[1]
    cycle.verdict, cycle.verdict_reason = verdict.outcome, verdict.reason
    cycle.baseline_reps, cycle.test_reps = before.reps, during.reps
    cycle.baseline_signal, cycle.test_signal = before.signal, during.signal
    cycle.baseline_harm, cycle.test_harm = before.harm, during.harm
    return cycle


def study_now(cycle: Cycle) -> bool:
    """End a running cycle early and study it. False when it has not started or was studied already."""
    if cycle.state(today_for(cycle.learner)) != RUNNING:
        return False
    study(cycle)
    db.session.commit()
    return True


def study_due_cycles(now: datetime | None = None) -> int:
    """Study every cycle whose timebox ended at midnight in its learner's zone, and tell the learner by
    email (key `cycle-ended:<id>`) in the same transaction. Idempotent; run by the sweep."""
    now = now or clock.now()
    horizon = (now + timedelta(days=1)).date()  # no zone is more than 14 hours ahead of UTC
    due = db.session.scalars(db.select(Cycle).where(Cycle.studied_at.is_(None), Cycle.ends_on <= horizon)
                             .order_by(Cycle.ends_on, Cycle.id).options(db.joinedload(Cycle.learner)).limit(200))
    studied = 0
    for cycle in due:
        if day_start(cycle.ends_on, zone_of(cycle.learner)) > now:
            continue
        study(cycle, now)
        notify(cycle.learner, "cycle-ended", f"cycle-ended:{cycle.id}", "Your small test ended: see what the "
               "rule says", "cycle_ended", cycle=cycle, url=absolute_url("cycles.show", cycle_id=cycle.id))
        studied += 1
    db.session.commit()
    return studied


# --- act, notes ---------------------------------------------------------------------------------

def decide(cycle: Cycle, decision: str, note: str) -> bool:
    """Record the learner's call (adopt, adapt, abandon) beside the rule's; only once the cycle is studied."""
    if cycle.studied_at is None:
        return False
    if (cycle.decision, cycle.decision_note) != (decision, note):
        cycle.decision, cycle.decision_note, cycle.decided_at = decision, note, clock.now()
        db.session.commit()
    return True


def next_offered(cycle: Cycle) -> bool:
    """"Start the next cycle" is offered after an adapt, or when the rule found the test inconclusive."""
    return cycle.decision == ADAPT or (cycle.verdict == INCONCLUSIVE and cycle.decision is None)


def add_note(viewer: User, cycle: Cycle, kind: str, body: str) -> CycleNote:
    """An observation (the learner's, while it runs) or a comment; a double tap adds it once."""
    return say_once([n for n in cycle.notes if n.kind == kind], viewer.id, body,
                    lambda: CycleNote(cycle_id=cycle.id, author_id=viewer.id, kind=kind, body=body))


# --- pages --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CyclePage:
    """A cycle with its state on the learner's today, its windows as local dates, and its notes by kind."""

    cycle: Cycle
    state: str
    mine: bool
    baseline_days: tuple[date, date]  # first and last local day
    test_days: tuple[date, date]
    observations: list[CycleNote]
    comments: list[CycleNote]
    next_offered: bool
    ended_early: bool  # studied before its timebox ran out


def cycle_page(viewer: User, cycle: Cycle) -> CyclePage:
    """What a cycle's page shows to `viewer` (the learner or their coach: cycle_or_404 checked)."""
    zone = zone_of(cycle.learner)
    scheduled_end = day_start(cycle.ends_on, zone)
    baseline, test = rule.windows(cycle.starts_on, cycle.timebox_days, zone, cycle.ended_at or scheduled_end)

    def days(bounds: tuple[datetime, datetime]) -> tuple[date, date]:
        last = max(bounds[0], bounds[1] - timedelta(microseconds=1))
        return bounds[0].astimezone(zone).date(), last.astimezone(zone).date()

    return CyclePage(cycle=cycle, state=cycle.state(today_for(cycle.learner)), mine=viewer.id == cycle.learner_id,
                     baseline_days=days(baseline), test_days=days(test),
                     observations=[n for n in cycle.notes if n.kind == OBSERVATION],
                     comments=[n for n in cycle.notes if n.kind == COMMENT], next_offered=next_offered(cycle),
                     ended_early=cycle.ended_at is not None and cycle.ended_at < scheduled_end)


@dataclass(frozen=True)
class ChainLink:
    """One cycle in a goal's chain, with its state."""

    cycle: Cycle
    state: str

    @property
    def label(self) -> str:
        return STATES[self.state]


def cycles_of_goal(goal: Goal) -> list[ChainLink]:
    """A goal's cycles, oldest first (each names the one it follows), with their states."""
    today = today_for(goal.learner)
    rows = db.session.scalars(db.select(Cycle).where(Cycle.goal_id == goal.id).order_by(Cycle.created_at, Cycle.id)
                              .options(db.joinedload(Cycle.drill)).limit(100))
    return [ChainLink(cycle, cycle.state(today)) for cycle in rows]


def ended_cycles(learner: User) -> list[Cycle]:
    """Studied cycles waiting for the learner's decision, for the home page."""
    return list(db.session.scalars(db.select(Cycle).where(Cycle.learner_id == learner.id,
                                                          Cycle.studied_at.is_not(None), Cycle.decision.is_(None))
                                   .order_by(Cycle.studied_at).options(db.joinedload(Cycle.goal)).limit(5)))

