"""The coach's overview: one row per active learner with this week's practice against plan, goals held,
what waits for the coach, and who needs them. Every figure comes from one grouped query across all the
coach's learners (never one per learner), with weeks and days in each learner's own zone."""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import week_bounds, week_start, zone_of
from failforward.checkins.models import WeeklyCheckin
from failforward.coaching.models import CoachingLink
from failforward.coaching.services import roster
from failforward.extensions import db
from failforward.feedback.models import FeedbackRequest
from failforward.feedback.services import queue, queue_size, waiting_by_learner
from failforward.goals.models import ACTIVE, Drill, Goal
from failforward.ledger import services as ledger
from failforward.ledger.models import MISS, Rep
from failforward.ledger.progress import Progress
from failforward.reflection.models import Reflection
from failforward.reviews.models import DONE, NOT_YET, OPEN, Review, ReviewAction
from failforward.reviews.services import SOON
from failforward.thresholds.models import FollowUp

IDLE_AFTER = timedelta(days=7)  # no practice for this long: the learner needs their coach
NEVER = datetime.min.replace(tzinfo=UTC)  # sorts a learner who never practised (or answered) before everyone


@dataclass(frozen=True)
class GoalHeld:
    """An active goal: the weeks its rule has held of the weeks it needs, and whether it is slipping (its
    last finished week missed after the week before had met the target)."""

    goal_id: int
    title: str
    held: int
    required: int
    slipping: bool


@dataclass(frozen=True)
class LearnerRow:
    """One learner's line on the overview. Times are UTC; `week` is the Monday of their week, in their zone."""

    link_id: int
    learner_id: int
    name: str
    week: date
    last_practice: datetime | None = None
    reps: int = 0
    planned_reps: int = 0
    minutes: int = 0
    planned_minutes: int = 0
    goals: tuple[GoalHeld, ...] = ()
    misses: int = 0
    open_requests: int = 0
    overdue_requests: int = 0
    oldest_request: datetime | None = None
    follow_ups: int = 0
    overdue_follow_ups: int = 0
    setbacks: int = 0
    last_checkin: datetime | None = None
    reasons: tuple[str, ...] = field(default=())

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)


def _attention(row: LearnerRow, now: datetime) -> tuple[str, ...]:
    """Why this learner needs their coach, in the words the page states its rules in."""
    reasons = []
    if row.last_practice is None or now - row.last_practice > IDLE_AFTER:
        reasons.append("no practice in 7 days")
    if row.overdue_requests:
        reasons.append("a feedback request is overdue")
    if row.overdue_follow_ups:
        reasons.append("a follow-up is overdue")
    reasons.extend(f"“{goal.title}” is slipping" for goal in row.goals if goal.slipping)
    return tuple(reasons)


def _slipping(state: Progress) -> bool:
    finished = [week for week in state.weeks if not week.in_progress]
    return len(finished) >= 2 and not finished[-1].met and bool(finished[-2].met)


# --- one grouped query per figure -----------------------------------------------------------------

def _last_practice(ids: list[int]) -> dict[int, datetime]:
    """Each learner's latest rep: one index seek per learner (a GROUP BY read every rep of every learner)."""
    latest = (db.select(db.func.max(Rep.performed_at)).where(Rep.learner_id == User.id)
              .correlate(User).scalar_subquery())
    return {learner_id: at for learner_id, at in db.session.execute(
        db.select(User.id, db.type_coerce(latest, Rep.performed_at.type)).where(User.id.in_(ids))) if at}


def _this_week(ids: list[int], starts: dict[int, datetime]) -> dict[int, tuple[int, int, int]]:
    """Reps, minutes and misses in each learner's week so far (read from the earliest week start of all
    the zones, then kept to each learner's own: at most a week and a day of reps)."""
    totals = {learner_id: (0, 0, 0) for learner_id in ids}
    rows = db.session.execute(db.select(Rep.learner_id, Rep.performed_at, Rep.duration_minutes, Rep.outcome)
                              .where(Rep.learner_id.in_(ids), Rep.performed_at >= min(starts.values())))
    for learner_id, performed_at, minutes, outcome in rows:
        if performed_at >= starts[learner_id]:
            reps, total, misses = totals[learner_id]
            totals[learner_id] = (reps + 1, total + (minutes or 0), misses + (outcome == MISS))
    return totals


def _plans(ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each learner's weekly plan: the planned reps of their live drills on active goals, and those reps times
    each drill's time box in minutes."""
    rows = db.session.execute(
        db.select(Drill.learner_id, db.func.sum(Drill.planned_reps_per_week),
                  db.func.sum(Drill.planned_reps_per_week * db.func.coalesce(Drill.time_box_minutes, 0)))
        .join(Goal, Goal.id == Drill.goal_id)
        .where(Drill.learner_id.in_(ids), Drill.archived_at.is_(None), Goal.status == ACTIVE)
        .group_by(Drill.learner_id))
    return {learner_id: (int(reps or 0), int(minutes or 0)) for learner_id, reps, minutes in rows}


def _goals(ids: list[int], zones: dict[int, ZoneInfo]) -> dict[int, list[GoalHeld]]:
    goals = list(db.session.scalars(db.select(Goal).where(Goal.learner_id.in_(ids), Goal.status == ACTIVE)
                                    .order_by(Goal.created_at, Goal.id)))
    states = ledger.goal_progress(goals, zones, ledger.STATUS_WEEKS)
    held: dict[int, list[GoalHeld]] = {}
    for goal in goals:
        state = states[goal.id]
        held.setdefault(goal.learner_id, []).append(
            GoalHeld(goal.id, goal.title, state.held, state.required, _slipping(state)))
    return held


def _follow_ups(ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Lessons and reviews the contract's thresholds asked for, not written yet: how many, how many overdue.
    One fired by a setback counts only when the learner shared that reflection (reflections are private)."""
    return {learner_id: (count, overdue) for learner_id, count, overdue in db.session.execute(
        db.select(FollowUp.learner_id, db.func.count(), db.func.count().filter(FollowUp.due_at <= now))
        .outerjoin(Reflection, Reflection.id == FollowUp.reflection_id)
        .where(FollowUp.learner_id.in_(ids), FollowUp.done_at.is_(None),
               db.or_(FollowUp.reflection_id.is_(None), Reflection.shared.is_(True)))
        .group_by(FollowUp.learner_id))}


def _actions(ids: list[int], coach: User, todays: dict[int, date]) -> dict[int, tuple[int, int]]:
    """Fixes from reviews due within a week, and checks whose day has come: how many, how many past their day.
    Only fixes the coach may know of: in a review the learner shared, or owned by the coach."""
    latest = max(todays.values()) + SOON
    rows = db.session.execute(
        db.select(ReviewAction.learner_id, ReviewAction.status, ReviewAction.due_on, ReviewAction.check_on,
                  ReviewAction.check_answer)
        .join(Review, Review.id == ReviewAction.review_id)
        .where(ReviewAction.learner_id.in_(ids), db.or_(Review.shared.is_(True), ReviewAction.owner_id == coach.id),
               db.or_(db.and_(ReviewAction.status == OPEN, ReviewAction.due_on <= latest),
                      db.and_(ReviewAction.status.in_((OPEN, DONE)), ReviewAction.check_on <= latest,
                              db.or_(ReviewAction.check_answer.is_(None), ReviewAction.check_answer == NOT_YET)))))
    totals: dict[int, tuple[int, int]] = {}
    for learner_id, status, due_on, check_on, check_answer in rows:
        today = todays[learner_id]
        if status == OPEN and due_on <= today + SOON:
            day = due_on
        elif check_on <= today and check_answer in (None, NOT_YET):
            day = check_on
        else:
            continue
        count, overdue = totals.get(learner_id, (0, 0))
        totals[learner_id] = (count + 1, overdue + (day < today))
    return totals


def _setbacks(ids: list[int], starts: dict[int, datetime]) -> dict[int, int]:
    """Setbacks each learner shared with their coaches that happened this week (their week)."""
    counts: dict[int, int] = {}
    for learner_id, created_at in db.session.execute(
            db.select(Reflection.learner_id, Reflection.created_at)
            .where(Reflection.learner_id.in_(ids), Reflection.shared.is_(True),
                   Reflection.created_at >= min(starts.values()))):
        if created_at >= starts[learner_id]:
            counts[learner_id] = counts.get(learner_id, 0) + 1
    return counts


def _last_checkins(ids: list[int]) -> dict[int, datetime]:
    return dict(db.session.execute(db.select(WeeklyCheckin.user_id, db.func.max(WeeklyCheckin.answered_at))
                                   .where(WeeklyCheckin.user_id.in_(ids), WeeklyCheckin.answered_at.is_not(None))
                                   .group_by(WeeklyCheckin.user_id)).all())


def learner_rows(coach: User, links: list[CoachingLink] | None = None) -> list[LearnerRow]:
    """Every active learner's row, by name (`links`: the coach's roster when the caller has it already)."""
    links = roster(coach) if links is None else links
    if not links:
        return []
    now = clock.now()
    learners = {link.learner_id: link.learner for link in links}
    ids = list(learners)
    zones = {learner_id: zone_of(learner) for learner_id, learner in learners.items()}
    weeks = {learner_id: week_start(now, zone) for learner_id, zone in zones.items()}
    starts = {learner_id: week_bounds(weeks[learner_id], zone)[0] for learner_id, zone in zones.items()}
    todays = {learner_id: now.astimezone(zone).date() for learner_id, zone in zones.items()}
    last_practice, this_week, plans = _last_practice(ids), _this_week(ids, starts), _plans(ids)
    goals, requests = _goals(ids, zones), waiting_by_learner(coach)
    follow_ups, actions = _follow_ups(ids, now), _actions(ids, coach, todays)
    setbacks, checkins = _setbacks(ids, starts), _last_checkins(ids)
    rows = []
    for link in links:
        learner_id = link.learner_id
        reps, minutes, misses = this_week[learner_id]
        planned_reps, planned_minutes = plans.get(learner_id, (0, 0))
        waiting_count, overdue_requests, oldest = requests.get(learner_id, (0, 0, None))
        due, overdue = (a + b for a, b in zip(follow_ups.get(learner_id, (0, 0)), actions.get(learner_id, (0, 0)),
                                              strict=True))
        row = LearnerRow(link.id, learner_id, learners[learner_id].name, weeks[learner_id],
                         last_practice.get(learner_id), reps, planned_reps, minutes, planned_minutes,
                         tuple(goals.get(learner_id, ())), misses, waiting_count, overdue_requests, oldest,
                         due, overdue, setbacks.get(learner_id, 0), checkins.get(learner_id))
        rows.append(replace(row, reasons=_attention(row, now)))
    return rows


# --- the page -------------------------------------------------------------------------------------

def _share(done: int, planned: int) -> float:
    return done / planned if planned else (1.0 if done else 0.0)


def _held(row: LearnerRow) -> float:
    return min((goal.held / goal.required for goal in row.goals if goal.required), default=1.0)


# Each column's sort key; ascending puts the learner who needs the coach most first where that has a meaning
# (least practice against plan, longest since practice, fewest weeks held).
SORTS = {
    "name": lambda row: row.name.casefold(),
    "practice": lambda row: row.last_practice or NEVER,
    "reps": lambda row: _share(row.reps, row.planned_reps),
    "minutes": lambda row: _share(row.minutes, row.planned_minutes),
    "goals": _held,
    "misses": lambda row: row.misses,
    "requests": lambda row: (row.overdue_requests, row.open_requests),
    "follow_ups": lambda row: (row.overdue_follow_ups, row.follow_ups),
    "setbacks": lambda row: row.setbacks,
    "checkin": lambda row: row.last_checkin or NEVER,
}


# The columns' headings, in order (the keys of SORTS).
COLUMNS = {"name": "Learner", "practice": "Last practice", "reps": "Reps this week", "minutes": "Minutes this week",
           "goals": "Weeks held", "misses": "Misses this week", "requests": "Feedback waiting",
           "follow_ups": "Follow-ups due", "setbacks": "Setbacks shared", "checkin": "Last check-in"}


@dataclass(frozen=True)
class OverviewPage:
    """The rows shown (sorted, maybe only those who need attention), how they are sorted, and the counts."""

    rows: list[LearnerRow]
    sort: str
    descending: bool
    attention_only: bool
    learners: int
    needing: int


def overview_page(coach: User, sort: str, descending: bool, attention_only: bool) -> OverviewPage:
    """The overview for a coach (an unknown column sorts by name); a 404 for anyone who coaches nobody."""
    rows = learner_rows(coach)
    if not rows:
        abort(404)
    sort = sort if sort in SORTS else "name"
    shown = [row for row in rows if row.needs_attention or not attention_only]
    shown.sort(key=SORTS[sort], reverse=descending)
    return OverviewPage(shown, sort, descending, attention_only, len(rows), sum(row.needs_attention for row in rows))


# --- the coach's home -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CoachCard:
    """The top of a coach's home: their queue's state (waiting, overdue, the nearest due) and the learners who
    need them, with how many learners they have."""

    waiting: int
    overdue: int
    nearest: FeedbackRequest | None
    attention: list[LearnerRow]
    learners: int


def coach_card(coach: User) -> CoachCard | None:
    """What a coach's home starts with; None for someone who coaches nobody."""
    links = roster(coach)
    if not links:
        return None
    waiting_count, overdue = queue_size(coach)
    nearest = queue(coach, 1)
    rows = learner_rows(coach, links)
    return CoachCard(waiting_count, overdue, nearest[0] if nearest else None,
                     [row for row in rows if row.needs_attention], len(rows))
