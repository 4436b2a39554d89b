"""Pre-mortems: the five steps (prime, silent write, reveal, cluster and vote, convert), who may take part,
comments, and the tripwires the daily evaluation watches in each learner's calendar."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import day_start, monday_of, today_for, week_bounds, zone_of
from failforward.coaching.access import active_link, learners_record_or_404, own_record_or_404
from failforward.coaching.models import CoachingLink
from failforward.coaching.services import coaches_of, is_coach
from failforward.database import epoch_seconds
from failforward.extensions import db
from failforward.goals.models import ACTIVE, LOWER, Goal
from failforward.goals.services import drills_of
from failforward.ledger import progress
from failforward.ledger.models import MISS, Rep
from failforward.once import say_once
from failforward.premortems.models import (
    CONVERT,
    FORWARD,
    MANUAL,
    METRIC,
    MISSES,
    NEEDS_DRILL,
    NO_REP,
    PLANNED,
    Cause,
    PreMortem,
    PreMortemComment,
    Risk,
    RiskVote,
    TripwireFiring,
)
from failforward.web import absolute_url

FEW_CAUSES, MANY_CAUSES = 5, 10
SIX_MONTHS = 6


class PreMortemError(Exception):
    """A refusal to show beside the form field it concerns (`field`)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- access -------------------------------------------------------------------------------------

def premortem_or_404(viewer: User, premortem_id: int) -> PreMortem:
    """A pre-mortem the viewer may read: its learner, or an active coach of theirs."""
    return learners_record_or_404(viewer, PreMortem, premortem_id)


def own_premortem_or_404(viewer: User, premortem_id: int) -> PreMortem:
    """A pre-mortem the viewer runs (only its learner steers it)."""
    return own_record_or_404(viewer, PreMortem, premortem_id)


def joined_premortem_or_404(viewer: User, premortem_id: int) -> PreMortem:
    """A pre-mortem the viewer takes part in: its learner, or the coach they invited while the link is active."""
    premortem = premortem_or_404(viewer, premortem_id)
    if viewer.id not in premortem.participant_ids():
        abort(404)
    return premortem


def own_risk_or_404(viewer: User, risk_id: int) -> Risk:
    """A risk of the viewer's own pre-mortems."""
    return own_record_or_404(viewer, Risk, risk_id)


# --- the steps ----------------------------------------------------------------------------------

def six_months_on(day: date) -> date:
    """The same day six months later (the month's last day when it is shorter)."""
    month = day.month - 1 + SIX_MONTHS
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def imagined_day(learner: User) -> date:
    """The day the prime imagines the goal failed by: six months from today, in the learner's calendar."""
    return six_months_on(today_for(learner))


def coaches_to_invite(learner: User) -> list[User]:
    """The learner's active coaches, who may be invited into a pre-mortem."""
    return [link.coach for link in coaches_of(learner)]


def start(learner: User, goal: Goal, timer_minutes: int, dots: int, coach_id: int | None) -> PreMortem:
    """Start a pre-mortem on the learner's goal; `coach_id`, an active coach of theirs, is invited to it."""
    if coach_id is not None and active_link(coach_id, learner.id) is None:
        raise PreMortemError("Pick one of your coaches.", "coach")
    premortem = PreMortem(learner_id=learner.id, goal_id=goal.id, coach_id=coach_id, imagined_on=imagined_day(learner),
                          timer_minutes=timer_minutes, dots=dots)
    db.session.add(premortem)
    db.session.commit()
    return premortem


def causes_of(premortem: PreMortem, author_id: int) -> list[Cause]:
    return [cause for cause in premortem.causes if cause.author_id == author_id]


def count_note(count: int) -> str:
    """What to say about the number of causes written (5-10 is the aim; neither end refuses)."""
    if count < FEW_CAUSES:
        return f"{count} cause{'s' if count != 1 else ''} so far: aim for at least {FEW_CAUSES} concrete ones."
    if count > MANY_CAUSES:
        return f"{count} causes: more than {MANY_CAUSES}. Keep the most concrete, or merge them when you cluster."
    return f"{count} causes."


def write_causes(premortem: PreMortem, author: User, lines: list[str], finished: bool) -> str:
    """Keep the author's causes as written (one a line, replacing their earlier list) until the reveal;
    `finished` marks them done writing. Returns what to say about the count."""
    if premortem.revealed:
        raise PreMortemError("The causes are revealed: the list can no longer change.", "causes")
    for cause in causes_of(premortem, author.id):
        premortem.causes.remove(cause)
    premortem.causes.extend(Cause(author_id=author.id, text=line) for line in lines)
    if finished:
        if author.id == premortem.learner_id:
            premortem.learner_done_at = premortem.learner_done_at or clock.now()
        else:
            premortem.coach_done_at = premortem.coach_done_at or clock.now()
    db.session.commit()
    return count_note(len(lines))


def reveal(premortem: PreMortem) -> None:
    """The owner shows every cause now, without waiting for the other participant to finish."""
    if premortem.revealed_at is None:
        premortem.revealed_at = clock.now()
        db.session.commit()


def _require_voting(premortem: PreMortem) -> None:
    if not premortem.revealed or premortem.stage == CONVERT:
        raise PreMortemError("Clustering and voting happen after the reveal and before the vote closes.")


def add_risk(premortem: PreMortem, learner_id: int, title: str, cause_ids: list[int]) -> Risk:
    """Merge causes into a risk with a title of its own (a cause already in a risk moves)."""
    _require_voting(premortem)
    risk = Risk(premortem_id=premortem.id, learner_id=learner_id, title=title)
    premortem.risks.append(risk)
    chosen = set(cause_ids)
    for cause in premortem.causes:
        if cause.id in chosen:
            risk.causes.append(cause)
    db.session.commit()
    return risk


def dots_left(premortem: PreMortem, voter_id: int) -> int:
    return premortem.dots - sum(v.dots for risk in premortem.risks for v in risk.votes if v.voter_id == voter_id)


def vote(premortem: PreMortem, voter: User, dots_by_risk: dict[int, int]) -> None:
    """Put the voter's dots on risks (replacing their earlier ones); at most the pre-mortem's number of dots."""
    _require_voting(premortem)
    if sum(dots_by_risk.values()) > premortem.dots:
        raise PreMortemError(f"You have {premortem.dots} dots: take some off.")
    for risk in premortem.risks:
        mine = next((v for v in risk.votes if v.voter_id == voter.id), None)
        wanted = dots_by_risk.get(risk.id, 0)
        if mine is not None and not wanted:
            risk.votes.remove(mine)
        elif mine is not None:
            mine.dots = wanted
        elif wanted:
            risk.votes.append(RiskVote(voter_id=voter.id, dots=wanted))
    db.session.commit()


def top_risks(risks: list[Risk], keep: int = FORWARD) -> list[Risk]:
    """The risks with dots, most first; the top `keep` go forward, and any tied with the last of them."""
    ranked = sorted((r for r in risks if r.dots), key=lambda r: (-r.dots, r.id))
    if len(ranked) <= keep:
        return ranked
    cutoff = ranked[keep - 1].dots
    return [r for r in ranked if r.dots >= cutoff]


def close_vote(premortem: PreMortem) -> list[Risk]:
    """End the vote: the top risks go forward to be converted into mitigations."""
    _require_voting(premortem)
    chosen = top_risks(premortem.risks)
    if not chosen:
        raise PreMortemError("Put at least one dot on a risk first.")
    for risk in chosen:
        risk.forward = True
    premortem.stage = CONVERT
    db.session.commit()
    return chosen


def convert(risk: Risk, fields: dict) -> Risk:
    """Save a top risk's prevention step, tripwire, contingency plan, owner and date. A changed tripwire
    starts afresh: a firing that stands is cleared and it is evaluated again."""
    if not risk.forward:
        raise PreMortemError("Only the risks that went forward are converted.")
    drill_id = fields.get("drill_id")
    if drill_id is not None and drill_id not in {d.id for d in drills_of(risk.premortem.goal)}:
        raise PreMortemError("Pick one of this goal's drills.", "drill_id")
    changed = (fields["tripwire"], drill_id, fields.get("threshold")) != (risk.tripwire, risk.drill_id, risk.threshold)
    for name in ("prevention", "contingency", "owner", "due_on", "tripwire", "threshold"):
        setattr(risk, name, fields.get(name))
    risk.drill_id = drill_id
    if changed:
        risk.set_on, risk.next_check_at = today_for(risk.premortem.learner), None
        _clear(risk)
    db.session.commit()
    return risk


def next_to_convert(premortem: PreMortem) -> Risk | None:
    """The first top risk without its mitigation yet."""
    return next((risk for risk in premortem.risks if risk.forward and not risk.converted), None)


def set_prevented(risk: Risk) -> None:
    """Mark the prevention step done (once)."""
    if risk.prevented_at is None:
        risk.prevented_at = clock.now()
        db.session.commit()


def add_comment(viewer: User, premortem: PreMortem, body: str) -> PreMortemComment:
    """Comment on a pre-mortem the viewer may read (its learner, or their coach); a double tap adds it once."""
    return say_once(premortem.comments, viewer.id, body,
                    lambda: PreMortemComment(premortem_id=premortem.id, author_id=viewer.id, body=body))


# --- tripwires ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What a tripwire saw on one day: whether it is tripped, the value, and the value in words."""

    tripped: bool
    value: float | None
    seen: str


def _count(*where) -> int:
    return db.session.scalar(db.select(db.func.count(Rep.id)).where(*where))


def read_tripwire(risk: Risk, today: date, zone) -> Reading:
    """Evaluate a structured tripwire on the learner's day `today`, from the days before it (today has
    not been lived yet)."""
    n, drill = risk.threshold or 0, risk.drill
    if drill is None and risk.tripwire in NEEDS_DRILL:
        return Reading(False, None, "its drill was deleted")
    if risk.tripwire == NO_REP:
        last = db.session.scalar(db.select(db.func.max(Rep.performed_at)).where(Rep.drill_id == risk.drill_id))
        since = max(last.astimezone(zone).date() + timedelta(days=1) if last else risk.set_on, risk.set_on)
        days = (today - since).days
        return Reading(days >= n, days, f"{days} day{'s' if days != 1 else ''} without a rep on {drill.name}")
    if risk.tripwire == MISSES:
        misses = _count(Rep.drill_id == risk.drill_id, Rep.outcome == MISS,
                        Rep.performed_at >= day_start(today - timedelta(days=7), zone),
                        Rep.performed_at < day_start(today, zone))
        return Reading(misses >= n, misses, f"{misses} miss{'es' if misses != 1 else ''} on {drill.name} in 7 days")
    if risk.tripwire == METRIC:
        return _read_metric(risk, today, zone)
    if risk.tripwire == PLANNED:
        return _read_planned(risk, today, zone)
    raise ValueError(f"not a structured tripwire: {risk.tripwire}")


def _read_metric(risk: Risk, today: date, zone) -> Reading:
    """The value so far of the week that holds yesterday (on a Monday: the week just ended)."""
    goal = risk.premortem.goal
    monday = monday_of(today - timedelta(days=1))
    start, _end = week_bounds(monday, zone)
    reps = db.session.execute(db.select(epoch_seconds(Rep.performed_at), Rep.value, Rep.duration_minutes).where(
        Rep.goal_id == goal.id, Rep.performed_at >= start, Rep.performed_at < day_start(today, zone))).all()
    week = progress.weekly_values(reps, how=goal.aggregation, direction=goal.direction, target=goal.target,
                                  zone=zone, first_week=monday, now=day_start(today, zone) - timedelta(seconds=1))[-1]
    if week.value is None:
        return Reading(False, None, f"no reps in the week of {monday:%-d %b}")
    worse = week.value > risk.threshold if goal.direction == LOWER else week.value < risk.threshold
    return Reading(worse, week.value, f"{week.value:g} {goal.unit} in the week of {monday:%-d %b}")


def _read_planned(risk: Risk, today: date, zone) -> Reading:
    """The last N completed weeks since the tripwire was set, each below the drill's planned reps."""
    n, drill = int(risk.threshold or 0), risk.drill
    mondays = [monday_of(today) - timedelta(days=7 * k) for k in range(n, 0, -1)]
    if not mondays or mondays[0] < monday_of(risk.set_on):
        return Reading(False, None, f"fewer than {n} full weeks since the tripwire was set")
    counts = [_count(Rep.drill_id == drill.id, Rep.performed_at >= week_bounds(m, zone)[0],
                     Rep.performed_at < week_bounds(m, zone)[1]) for m in mondays]
    short = all(c < drill.planned_reps_per_week for c in counts)
    return Reading(short, counts[-1], f"{', '.join(map(str, counts))} reps a week on {drill.name} "
                                      f"(planned {drill.planned_reps_per_week})")


def _fire(risk: Risk, today: date, reading: Reading) -> TripwireFiring:
    firing = TripwireFiring(learner_id=risk.learner_id, fired_on=today, value=reading.value, seen=reading.seen)
    risk.firings.append(firing)
    db.session.flush()
    return firing


def _clear(risk: Risk) -> None:
    if (standing := risk.open_firing) is not None:
        standing.cleared_at = clock.now()


def watched_risks(now: datetime, limit: int = 500) -> list[Risk]:
    """Structured tripwires of active goals whose daily evaluation is due."""
    return list(db.session.scalars(
        db.select(Risk).join(PreMortem, PreMortem.id == Risk.premortem_id).join(Goal, Goal.id == PreMortem.goal_id)
        .where(Risk.forward.is_(True), Risk.tripwire.in_([NO_REP, MISSES, METRIC, PLANNED]), Goal.status == ACTIVE,
               db.or_(Risk.next_check_at.is_(None), Risk.next_check_at <= now))
        .order_by(Risk.id).limit(limit)
        .options(db.selectinload(Risk.firings), db.joinedload(Risk.premortem).joinedload(PreMortem.learner))))


def evaluate_tripwires(now: datetime | None = None) -> int:
    """Once a day in each learner's zone, evaluate their tripwires: a tripwire that trips fires once (recorded
    with the value seen, and emailed), and fires again only after it has cleared. Idempotent; run by the sweep."""
    now = now or clock.now()
    fired = 0
    for risk in watched_risks(now):
        learner, zone = risk.premortem.learner, zone_of(risk.premortem.learner)
        today = now.astimezone(zone).date()
        risk.next_check_at = day_start(today + timedelta(days=1), zone)
        reading = read_tripwire(risk, today, zone)
        if not reading.tripped:
            _clear(risk)
        elif risk.open_firing is None:
            firing = _fire(risk, today, reading)
            notify(learner, "tripwire", f"tripwire:{firing.id}", f"Tripwire: {risk.title}", "tripwire",
                   risk=risk, firing=firing, url=absolute_url("home.goal", goal_id=risk.premortem.goal_id))
            fired += 1
    db.session.commit()
    return fired


def trigger(risk: Risk) -> TripwireFiring:
    """The learner marks a manual tripwire as triggered (a double tap fires once)."""
    if risk.tripwire != MANUAL:
        raise PreMortemError("The app watches this tripwire itself.")
    firing = risk.open_firing or _fire(risk, today_for(risk.premortem.learner), Reading(True, None, "marked by hand"))
    db.session.commit()
    return firing


def clear(risk: Risk) -> None:
    """The learner clears a manual tripwire that fired; it can fire again later."""
    _clear(risk)
    db.session.commit()


def firings_since(learner: User, moment: datetime) -> list[TripwireFiring]:
    """The learner's firings after `moment`, oldest first (also issue 13's "a tripwire fired" threshold)."""
    return list(db.session.scalars(
        db.select(TripwireFiring).where(TripwireFiring.learner_id == learner.id, TripwireFiring.fired_at > moment)
        .order_by(TripwireFiring.fired_at, TripwireFiring.id)
        .options(db.joinedload(TripwireFiring.risk).joinedload(Risk.premortem).joinedload(PreMortem.goal))))


@dataclass(frozen=True)
class HomeCard:
    """The home page's pre-mortem cards: a learner's tripwires that fired and stand (each with its contingency);
    for a coach, the pre-mortems they are invited to write in, and the open risks they own."""

    firings: list[TripwireFiring]
    invited: list[PreMortem]
    owned: list[Risk]


def home_card(person: User) -> HomeCard:
    """What the home page's pre-mortem card shows to `person`."""
    firings = db.session.scalars(
        db.select(TripwireFiring).where(TripwireFiring.learner_id == person.id, TripwireFiring.cleared_at.is_(None))
        .order_by(TripwireFiring.fired_at.desc(), TripwireFiring.id.desc()).limit(10)
        .options(db.joinedload(TripwireFiring.risk).joinedload(Risk.premortem).joinedload(PreMortem.goal)))
    if not is_coach(person):  # asked once a request (the menu asks too): a learner's card skips two queries
        return HomeCard(firings=list(firings), invited=[], owned=[])
    coached = db.select(CoachingLink.learner_id).where(CoachingLink.coach_id == person.id,
                                                       CoachingLink.ended_at.is_(None))
    owned = db.session.scalars(
        db.select(Risk).where(Risk.forward.is_(True), Risk.owner == "coach", Risk.prevented_at.is_(None),
                              Risk.learner_id.in_(coached))
        .order_by(Risk.due_on, Risk.id).limit(10)
        .options(db.joinedload(Risk.premortem).joinedload(PreMortem.goal).joinedload(Goal.learner)))
    invited = db.session.scalars(
        db.select(PreMortem).where(PreMortem.coach_id == person.id, PreMortem.coach_done_at.is_(None),
                                   PreMortem.revealed_at.is_(None), PreMortem.learner_id.in_(coached))
        .order_by(PreMortem.created_at).limit(10).options(db.joinedload(PreMortem.goal).joinedload(Goal.learner)))
    return HomeCard(firings=list(firings), invited=list(invited), owned=list(owned))


# --- pages --------------------------------------------------------------------------------------

def premortems_of_goal(goal: Goal) -> list[PreMortem]:
    """A goal's pre-mortems, newest first, with their risks, dots and firings (a fixed number of queries)."""
    return list(db.session.scalars(
        db.select(PreMortem).where(PreMortem.goal_id == goal.id).order_by(PreMortem.created_at.desc())
        .options(db.selectinload(PreMortem.comments), db.selectinload(PreMortem.risks).selectinload(Risk.votes),
                 db.selectinload(PreMortem.risks).selectinload(Risk.firings),
                 db.selectinload(PreMortem.risks).joinedload(Risk.drill))))


@dataclass(frozen=True)
class StepPage:
    """What a step's screen shows to `viewer`: the causes they may see by participant (others' stay hidden
    until the reveal), who is still writing, the risks with dots, the viewer's own dots, and the other
    participants who have put none yet (closing the vote now would leave them out)."""

    premortem: PreMortem
    owner: bool
    participant: bool
    written: list[tuple[User, list[Cause]]]
    still_writing: list[User]
    unclustered: list[Cause]
    ranked: list[Risk]
    my_dots: dict[int, int]
    dots_left: int
    not_voted: list[User]


def step_page(viewer: User, premortem: PreMortem) -> StepPage:
    """A step's screen for a participant, or for the learner's coach reading along."""
    people = [premortem.learner] + ([premortem.coach] if premortem.coach else [])
    shown = [p for p in people if premortem.revealed or p.id == viewer.id]
    mine = {risk.id: v.dots for risk in premortem.risks for v in risk.votes if v.voter_id == viewer.id}
    voters = {v.voter_id for risk in premortem.risks for v in risk.votes}
    return StepPage(premortem=premortem, owner=viewer.id == premortem.learner_id,
                    participant=viewer.id in premortem.participant_ids(),
                    written=[(p, causes_of(premortem, p.id)) for p in shown],
                    still_writing=[p for p in people if not premortem.done_at(p.id)],
                    unclustered=[c for c in premortem.causes if c.risk_id is None] if premortem.revealed else [],
                    ranked=sorted(premortem.risks, key=lambda r: (-r.dots, r.id)), my_dots=mine,
                    dots_left=dots_left(premortem, viewer.id),
                    not_voted=[p for p in people if p.id != viewer.id and p.id not in voters])
