"""Every learner's personal contract and its rules, the sweep that fires them in the learner's zone,
and the follow-ups they make due (a home card, an email, the coach's queue) until the lesson or
review is written."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify, signed_up
from failforward.calendar import day_start, zone_of
from failforward.coaching.models import CoachingLink, Contract
from failforward.coaching.services import CONTRACT_TERMS, DEFAULT_CONTRACT
from failforward.extensions import db
from failforward.goals.models import ACTIVE, Drill, Goal
from failforward.ledger import services as ledger
from failforward.ledger.models import MISS, Rep
from failforward.once import insert_once
from failforward.premortems.models import Risk, TripwireFiring
from failforward.reflection.models import Reflection
from failforward.thresholds.models import (
    DRILL_MISSES,
    FOLLOW_UP_KINDS,
    LESSON,
    REVIEW,
    RULE_KINDS,
    SETBACK,
    TRIPWIRE,
    WEEKLY_MISSES,
    FollowUp,
    ThresholdRule,
)
from failforward.web import absolute_url

# The numbers of the default contract's text ("3 misses on one drill in a week: write a lesson within
# 72 hours", "a target week missed twice in a row", "an incident: a blameless review within 72 hours").
DEFAULT_RULES = {
    DRILL_MISSES: {"count": 3, "days": 7, "follow_up": LESSON, "window_hours": 72},
    WEEKLY_MISSES: {"count": 2, "follow_up": REVIEW, "window_hours": 72},
    TRIPWIRE: {"follow_up": REVIEW, "window_hours": 72},
    SETBACK: {"intensity": 8, "follow_up": REVIEW, "window_hours": 72},
}
MAX_DAYS = 31  # the longest "within D days" a rule may ask for; the sweep looks back this far
PERSONAL_TERMS = (*CONTRACT_TERMS, "review_thresholds", "commitments")
RULE_NUMBERS = {DRILL_MISSES: ("count", "days"), WEEKLY_MISSES: ("count",), TRIPWIRE: (), SETBACK: ("intensity",)}


# --- the personal contract --------------------------------------------------------------------------

def _rules_of(contract: Contract) -> dict[str, ThresholdRule]:
    rules = db.session.scalars(db.select(ThresholdRule).where(ThresholdRule.contract_id == contract.id))
    return {r.kind: r for r in rules}


def _defaults(learner_id: int) -> tuple[Contract, list[ThresholdRule]]:
    """A personal contract from the defaults, not yet stored."""
    contract = Contract(learner_id=learner_id, version=1, proposed_by_id=learner_id, accepted_at=clock.now(),
                        **{name: DEFAULT_CONTRACT[name] for name in PERSONAL_TERMS})
    return contract, [ThresholdRule(kind=kind, active=True, **DEFAULT_RULES[kind]) for kind in RULE_KINDS]


def _store_defaults(learner_id: int) -> Contract:
    """Store the default personal contract and its rules (the caller commits)."""
    contract, rules = _defaults(learner_id)
    db.session.add(contract)
    db.session.flush()
    for rule in rules:
        rule.contract_id = contract.id
    db.session.add_all(rules)
    return contract


def _contract_at_sign_up(user: User) -> None:
    _store_defaults(user.id)


def listen() -> None:
    """Every new account starts with its personal contract, stored from the defaults in the sign-up's own
    transaction (create_app calls this; connecting twice keeps one receiver)."""
    signed_up.connect(_contract_at_sign_up)


def _stored(learner: User) -> Contract | None:
    return db.session.scalar(db.select(Contract).where(Contract.learner_id == learner.id))


@dataclass(frozen=True)
class ContractPage:
    """The personal contract's text and its rules, in RULE_KINDS order."""

    contract: Contract
    rules: list[ThresholdRule]


def contract_page(learner: User) -> ContractPage:
    """The learner's own contract. Every learner has one: stored at sign-up; an account made another way (the
    demo, an operator's) reads the defaults until it is stored (when first saved, or the sweep first needs its
    rules), and reading it writes nothing."""
    contract = _stored(learner)
    if contract is None:
        return ContractPage(*_defaults(learner.id))
    rules = _rules_of(contract)
    return ContractPage(contract, [rules[kind] for kind in RULE_KINDS if kind in rules])


def update_contract(learner: User, terms: dict, rules: dict[str, dict]) -> Contract:
    """Change the learner's own contract in place: its text, and each rule's numbers, follow-up and window.
    Follow-ups already due keep their deadline."""
    contract = _stored(learner) or _store_defaults(learner.id)
    for name in PERSONAL_TERMS:
        setattr(contract, name, terms[name])
    existing = _rules_of(contract)
    for kind, values in rules.items():
        rule = existing.get(kind) or ThresholdRule(contract_id=contract.id, kind=kind)
        for name, value in values.items():
            setattr(rule, name, value)
        db.session.add(rule)
    db.session.commit()
    return contract


def _rules_by_learner(learner_ids: Iterable[int]) -> dict[int, dict[str, ThresholdRule]]:
    """Each learner's active rules by kind; a learner without a personal contract gets one (the caller commits)."""
    wanted = set(learner_ids)
    if not wanted:
        return {}
    found = db.session.scalars(db.select(Contract).where(Contract.learner_id.in_(wanted)))
    contracts = {c.learner_id: c for c in found}
    for learner_id in wanted - contracts.keys():
        contracts[learner_id] = _store_defaults(learner_id)
    by_contract = {c.id: learner_id for learner_id, c in contracts.items()}
    result: dict[int, dict[str, ThresholdRule]] = {learner_id: {} for learner_id in wanted}
    for rule in db.session.scalars(db.select(ThresholdRule).where(
            ThresholdRule.contract_id.in_(by_contract), ThresholdRule.active.is_(True))):
        result[by_contract[rule.contract_id]][rule.kind] = rule
    return result


# --- tripwires: what the pre-mortems' tripwires fired ------------------------------------------------

@dataclass(frozen=True)
class FiredTripwire:
    """A pre-mortem tripwire that fired: whose, a stable reference (`tripwire:12`), what it said, when."""

    learner_id: int
    ref: str
    label: str
    fired_at: datetime


def fired_tripwires(since: datetime) -> list[FiredTripwire]:
    """Every learner's pre-mortem tripwires that fired after `since`, in one query."""
    return [FiredTripwire(learner_id, f"tripwire:{firing_id}", f"{title} ({seen})", fired_at)
            for firing_id, learner_id, fired_at, title, seen in db.session.execute(
                db.select(TripwireFiring.id, TripwireFiring.learner_id, TripwireFiring.fired_at, Risk.title,
                          TripwireFiring.seen)
                .join(Risk, Risk.id == TripwireFiring.risk_id).where(TripwireFiring.fired_at > since)
                .order_by(TripwireFiring.id))]


# --- firing (run by the sweep) ----------------------------------------------------------------------

@dataclass(frozen=True)
class Occurrence:
    """One firing of a rule: what it is about, and its key (a rule fires once per key)."""

    key: str
    reason: str
    goal_id: int | None = None
    drill_id: int | None = None
    on_day: date | None = None
    reflection_id: int | None = None
    tripwire_ref: str | None = None


Firing = tuple[int, ThresholdRule, Occurrence]  # whose rule fired, which, and on what


def miss_days_that_fire(rule: ThresholdRule, miss_days: list[date], fired_days: list[date], today: date) -> list[date]:
    """The local days (within the last D days) whose last D local days hold N misses of one drill, when
    no firing for the drill is within D days before: windows of two firings never overlap, so a fourth
    miss in the same window fires nothing new."""
    fired, firing = list(fired_days), []
    for day in sorted(set(miss_days)):
        if (today - day).days >= rule.days:
            continue
        count = sum(1 for d in miss_days if 0 <= (day - d).days < rule.days)
        if count >= rule.count and not any(0 <= (day - f).days < rule.days for f in fired):
            fired.append(day)
            firing.append(day)
    return firing


def _drill_misses(now: datetime, rules: dict[int, dict[str, ThresholdRule]], people: dict[int, User],
                  drills: list[Drill]) -> list[Firing]:
    if not drills:
        return []
    by_drill: dict[int, list[datetime]] = defaultdict(list)
    for drill_id, performed_at in db.session.execute(db.select(Rep.drill_id, Rep.performed_at).where(
            Rep.drill_id.in_([d.id for d in drills]), Rep.outcome == MISS,
            Rep.performed_at >= now - timedelta(days=2 * MAX_DAYS + 1))):
        by_drill[drill_id].append(performed_at)
    fired: dict[int, list[date]] = defaultdict(list)
    for drill_id, day in db.session.execute(db.select(FollowUp.drill_id, FollowUp.on_day).where(
            FollowUp.drill_id.in_([d.id for d in drills]), FollowUp.occurrence_key.like(f"{DRILL_MISSES}:%"))):
        fired[drill_id].append(day)
    found = []
    for drill in drills:
        rule = rules[drill.learner_id].get(DRILL_MISSES)
        if rule is None:
            continue
        zone = zone_of(people[drill.learner_id])
        days = [moment.astimezone(zone).date() for moment in by_drill[drill.id]]
        for day in miss_days_that_fire(rule, days, fired[drill.id], now.astimezone(zone).date()):
            found.append((drill.learner_id, rule, Occurrence(
                key=f"{DRILL_MISSES}:{drill.id}:{day.isoformat()}", drill_id=drill.id, goal_id=drill.goal_id,
                on_day=day, reason=f"{rule.count} misses on {drill.name} within {rule.days} days")))
    return found


def weekly_miss_occurrence(rule: ThresholdRule, goal: Goal, weeks: list) -> Occurrence | None:
    """The goal's last N completed weeks all missed the target, and the week before them did not: one
    firing per run of missed weeks (a week without reps has no value to miss, and breaks the run)."""
    completed = [w for w in weeks if not w.in_progress]
    run = 0
    for week in reversed(completed):
        if week.met is not False:
            break
        run += 1
    if run != rule.count:
        return None
    last = completed[-1].start
    return Occurrence(key=f"{WEEKLY_MISSES}:{goal.id}:{last.isoformat()}", goal_id=goal.id, on_day=last,
                      reason=f"{goal.title}: the weekly target missed {rule.count} weeks in a row")


def _weekly_misses(now: datetime, people: dict[int, User]) -> list[Firing]:
    """On a learner's local Monday (the weeks turn then), their goals' runs of missed weeks."""
    mondays = {pid for pid, person in people.items() if now.astimezone(zone_of(person)).weekday() == 0}
    goals = list(db.session.scalars(db.select(Goal).where(Goal.learner_id.in_(mondays), Goal.status == ACTIVE)))
    rules = _rules_by_learner({g.learner_id for g in goals})
    by_zone: dict[str, list[Goal]] = defaultdict(list)
    for goal in goals:
        if WEEKLY_MISSES in rules[goal.learner_id]:
            by_zone[people[goal.learner_id].timezone].append(goal)
    found = []
    for zone_goals in by_zone.values():
        zone = zone_of(people[zone_goals[0].learner_id])
        window = max(rules[g.learner_id][WEEKLY_MISSES].count for g in zone_goals) + 2
        states = ledger.goal_progress(zone_goals, zone, window)
        for goal in zone_goals:
            rule = rules[goal.learner_id][WEEKLY_MISSES]
            if occurrence := weekly_miss_occurrence(rule, goal, states[goal.id].weeks):
                found.append((goal.learner_id, rule, occurrence))
    return found


def _setbacks(since: datetime) -> list[tuple[int, Reflection]]:
    return [(r.learner_id, r) for r in db.session.scalars(db.select(Reflection).where(Reflection.created_at >= since))]


def _fire(learner: User, rule: ThresholdRule, occurrence: Occurrence, now: datetime) -> bool:
    def build() -> FollowUp:
        return FollowUp(learner_id=learner.id, rule_id=rule.id, kind=rule.follow_up, reason=occurrence.reason[:200],
                        goal_id=occurrence.goal_id, drill_id=occurrence.drill_id, on_day=occurrence.on_day,
                        reflection_id=occurrence.reflection_id, tripwire_ref=occurrence.tripwire_ref,
                        occurrence_key=occurrence.key, fired_at=now,
                        due_at=now + timedelta(hours=rule.window_hours))

    follow_up, created = insert_once(FollowUp, learner.id, occurrence.key, build)
    if created:
        notify(learner, "follow-up-due", f"follow-up-due:{follow_up.id}",
               f"Due by {follow_up.due_at.astimezone(zone_of(learner)):%-d %B, %H:%M}: {_asks(follow_up)}",
               "follow_up_due", follow_up=follow_up, url=write_url(follow_up))
    return created


def fire_due(now: datetime | None = None) -> int:
    """Evaluate every rule that could have fired (new misses, setbacks, tripwires, and on a learner's
    Monday their weeks) in the learner's zone; each occurrence becomes a follow-up once, with its email
    in the same transaction. Idempotent; run by the sweep."""
    now = now or clock.now()
    since = now - timedelta(days=1)  # a sweep that stalled for less than a day loses nothing
    drills = list(db.session.scalars(db.select(Drill).where(Drill.id.in_(
        db.select(Rep.drill_id).where(Rep.outcome == MISS, Rep.logged_at >= since)))))
    setbacks = _setbacks(since)
    tripwires = fired_tripwires(since)
    learner_ids = {d.learner_id for d in drills} | {pid for pid, _ in setbacks} | {t.learner_id for t in tripwires}
    people = {u.id: u for u in db.session.scalars(db.select(User).where(
        db.or_(User.id.in_(learner_ids), User.id.in_(db.select(Goal.learner_id).where(Goal.status == ACTIVE)))))}
    rules = _rules_by_learner(learner_ids)
    found = _drill_misses(now, rules, people, drills) + _weekly_misses(now, people)
    for learner_id, reflection in setbacks:
        rule = rules[learner_id].get(SETBACK)
        if rule is not None and reflection.intensity_before >= rule.intensity:
            found.append((learner_id, rule, Occurrence(
                key=f"{SETBACK}:{reflection.id}", reflection_id=reflection.id,
                reason=f"A setback logged at intensity {reflection.intensity_before} of 10")))
    for tripwire in tripwires:
        if (rule := rules[tripwire.learner_id].get(TRIPWIRE)) is not None:
            found.append((tripwire.learner_id, rule, Occurrence(
                key=f"{TRIPWIRE}:{tripwire.ref}", tripwire_ref=tripwire.ref,
                reason=f"Tripwire fired: {tripwire.label}")))
    made = sum(_fire(people[learner_id], rule, occurrence, now) for learner_id, rule, occurrence in found)
    db.session.commit()
    return made


# --- what is due ------------------------------------------------------------------------------------

def _asks(follow_up: FollowUp) -> str:
    return "write a lesson" if follow_up.kind == LESSON else "write a blameless review"


def write_url(follow_up: FollowUp, external: bool = True) -> str:
    """Where to write what a follow-up asks for: the blameless review page, or the lessons page."""
    endpoint = "reviews.new" if follow_up.kind == REVIEW else "lessons.new"
    params = {"from": f"followup:{follow_up.id}"} if endpoint == "reviews.new" else {"followup": follow_up.id}
    return absolute_url(endpoint, **params) if external else url_for(endpoint, **params)


def due_follow_ups(learner: User) -> list[FollowUp]:
    """The learner's follow-ups not yet written, nearest deadline first (for the home card)."""
    return list(db.session.scalars(db.select(FollowUp).where(
        FollowUp.learner_id == learner.id, FollowUp.done_at.is_(None)).order_by(FollowUp.due_at, FollowUp.id)))


def coach_follow_ups(coach: User) -> list[FollowUp]:
    """The follow-ups due (or overdue) for the coach's active learners, nearest deadline first. One fired
    by a setback shows only when the learner shared that reflection (reflections are private)."""
    return list(db.session.scalars(
        db.select(FollowUp)
        .join(CoachingLink, db.and_(CoachingLink.learner_id == FollowUp.learner_id, CoachingLink.coach_id == coach.id,
                                    CoachingLink.ended_at.is_(None)))
        .outerjoin(Reflection, Reflection.id == FollowUp.reflection_id)
        .where(FollowUp.done_at.is_(None), db.or_(FollowUp.reflection_id.is_(None), Reflection.shared.is_(True)))
        .options(db.joinedload(FollowUp.learner)).order_by(FollowUp.due_at, FollowUp.id).distinct()))


def digest_lines(coach: User) -> list[str]:
    """The coach's morning digest lines (feedback.DIGEST_SECTIONS): each follow-up due for their learners."""
    zone = zone_of(coach)
    return [f"{due.learner.name}: {due.reason}, {FOLLOW_UP_KINDS[due.kind]} "
            f"{'overdue since' if due.overdue else 'due by'} {due.due_at.astimezone(zone):%a %-d %b, %H:%M}"
            for due in coach_follow_ups(coach)]


def open_follow_up(learner: User, follow_up_id: int | None) -> FollowUp | None:
    """The learner's own follow-up with this id (None for anyone else's, or a missing one)."""
    follow_up = db.session.get(FollowUp, follow_up_id) if follow_up_id else None
    return follow_up if follow_up is not None and follow_up.learner_id == learner.id else None


def missed_reps(follow_up: FollowUp) -> list[Rep]:
    """The facts behind a drill rule's firing: the drill's misses in the D local days up to the day it fired,
    oldest first (a review written from it starts its timeline with them). Empty for other rules."""
    if follow_up.drill_id is None or follow_up.on_day is None:
        return []
    rule = db.session.get(ThresholdRule, follow_up.rule_id) if follow_up.rule_id else None
    days = rule.days if rule is not None and rule.days else DEFAULT_RULES[DRILL_MISSES]["days"]
    zone = zone_of(follow_up.learner)
    return list(db.session.scalars(db.select(Rep).where(
        Rep.drill_id == follow_up.drill_id, Rep.outcome == MISS,
        Rep.performed_at >= day_start(follow_up.on_day - timedelta(days=days - 1), zone),
        Rep.performed_at < day_start(follow_up.on_day + timedelta(days=1), zone)).order_by(Rep.performed_at)))


def complete_follow_up(learner: User, follow_up_id: int) -> bool:
    """Mark the learner's follow-up done now that its lesson or review is written, in the caller's
    transaction (the caller commits). False when it is not theirs or was done already."""
    follow_up = open_follow_up(learner, follow_up_id)
    if follow_up is None or follow_up.done_at is not None:
        return False
    follow_up.done_at = clock.now()
    return True
