"""Weekly check-ins: find who is due (their day and hour, their zone), summarise their week in a
few queries per batch, write the check-in and its email in one transaction, take the answers."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort
from sqlalchemy import Row

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import week_bounds, week_start, zone_of
from failforward.checkins.models import WeeklyCheckin
from failforward.coaching.access import can_view_learner
from failforward.extensions import db
from failforward.feedback.models import FeedbackRequest
from failforward.goals.models import ACTIVE, Drill, Goal
from failforward.ledger.models import Rep
from failforward.ledger.services import STATUS_WEEKS, goal_progress
from failforward.lessons.models import OPEN, Lesson
from failforward.reviews import services as reviews
from failforward.signing import LinkError, sign, unsign
from failforward.web import absolute_url

LINK_DAYS = 7
BATCH = 500  # check-ins per transaction, so the sweep never holds the write lock for long


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def due_moment(user: User | Row, now: datetime) -> tuple[datetime, date]:
    """When this week's check-in is due for the person (their day and hour, their zone), and the Monday.
    `user` may be a row of those columns (due_users reads only them)."""
    zone = zone_of(user)
    monday = week_start(now, zone)
    day = monday + timedelta(days=user.checkin_weekday)
    return datetime.combine(day, time(user.checkin_hour), tzinfo=zone), monday


def due_users(now: datetime) -> list[tuple[int, date]]:
    """People (ids) whose check-in moment this week has passed and who have no check-in for the week yet.

    Reads only the columns it needs: the sweep loads whole people a batch at a time (create_due).
    """
    candidates = []
    for user in db.session.execute(db.select(User.id, User.timezone, User.checkin_weekday, User.checkin_hour,
                                             User.created_at)):
        moment, monday = due_moment(user, now)
        if moment <= now and user.created_at <= moment:
            candidates.append((user.id, monday))
    weeks = {iso_week(monday) for _, monday in candidates}
    done = set(db.session.execute(
        db.select(WeeklyCheckin.user_id, WeeklyCheckin.iso_week).where(WeeklyCheckin.iso_week.in_(weeks))).all())
    return [(user_id, monday) for user_id, monday in candidates if (user_id, iso_week(monday)) not in done]


@dataclass
class WeekSummary:
    """What a learner did in the reviewed week, for the email."""

    reps: int = 0
    minutes: int = 0
    planned_reps: int = 0
    planned_minutes: int = 0  # planned reps times the time box, for drills that have one
    goals: list = field(default_factory=list)  # (goal, progress)
    feedback_answered: int = 0
    feedback_hours: list = field(default_factory=list)
    # (lesson, overdue): open lessons whose 30-day check falls this week or fell in the reviewed one (an
    # older unanswered check is not listed again and again: its own email and the home page ask for it)
    checks: list = field(default_factory=list)
    # (action, overdue): open fixes from blameless reviews due by the end of this week, or overdue
    actions: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.reps == 0 and self.feedback_answered == 0 and not self.checks and not self.actions


def summaries(people: list[tuple[User, date]]) -> dict[int, WeekSummary]:
    """Each person's reviewed week (the one before `monday`), from a few queries per time zone."""
    result = {user.id: WeekSummary() for user, _ in people}
    by_zone: dict[tuple[str, date], list[User]] = defaultdict(list)
    for user, monday in people:
        by_zone[(user.timezone, monday)].append(user)
    ids = list(result)
    for learner_id, planned, planned_minutes in db.session.execute(
            db.select(Drill.learner_id, db.func.sum(Drill.planned_reps_per_week),
                      db.func.sum(Drill.planned_reps_per_week * Drill.time_box_minutes))
            .join(Goal, Goal.id == Drill.goal_id)
            .where(Drill.learner_id.in_(ids), Drill.archived_at.is_(None), Goal.status == ACTIVE)
            .group_by(Drill.learner_id)):
        result[learner_id].planned_reps = int(planned or 0)
        result[learner_id].planned_minutes = int(planned_minutes or 0)
    for (zone_name, monday), users in by_zone.items():
        zone = ZoneInfo(zone_name)
        start, end = week_bounds(monday - timedelta(weeks=1), zone)
        group = [u.id for u in users]
        for learner_id, count, minutes in db.session.execute(
                db.select(Rep.learner_id, db.func.count(), db.func.coalesce(db.func.sum(Rep.duration_minutes), 0))
                .where(Rep.learner_id.in_(group), Rep.performed_at >= start, Rep.performed_at < end)
                .group_by(Rep.learner_id)):
            result[learner_id].reps, result[learner_id].minutes = count, int(minutes)
        for learner_id, practised_at, answered_at in db.session.execute(
                db.select(FeedbackRequest.learner_id, FeedbackRequest.practised_at, FeedbackRequest.answered_at)
                .where(FeedbackRequest.learner_id.in_(group), FeedbackRequest.answered_at >= start,
                       FeedbackRequest.answered_at < end)):
            result[learner_id].feedback_answered += 1
            result[learner_id].feedback_hours.append((answered_at - practised_at).total_seconds() / 3600)
        for lesson in db.session.scalars(
                db.select(Lesson).where(Lesson.learner_id.in_(group), Lesson.status == OPEN,
                                        Lesson.check_on >= monday - timedelta(weeks=1),
                                        Lesson.check_on < monday + timedelta(weeks=1))
                .order_by(Lesson.check_on, Lesson.id)):
            result[lesson.learner_id].checks.append((lesson, lesson.check_on < monday))
        for action in reviews.open_actions_due(group, monday + timedelta(days=6)):
            result[action.learner_id].actions.append((action, action.due_on < monday))
        goals = list(db.session.scalars(db.select(Goal).where(Goal.learner_id.in_(group), Goal.status == ACTIVE)))
        states = goal_progress(goals, zone, STATUS_WEEKS)
        for goal in goals:
            result[goal.learner_id].goals.append((goal, states[goal.id]))
    return result


def answer_token(checkin: WeeklyCheckin) -> str:
    """The signed token of the answer link in the email."""
    return sign("email-action", {"c": checkin.id, "u": checkin.user_id})


def create_due(now: datetime | None = None) -> int:
    """Write every due check-in and its email (unless the week was empty or email is off); idempotent."""
    now = now or clock.now()
    due = due_users(now)
    for start in range(0, len(due), BATCH):
        mondays = dict(due[start:start + BATCH])
        # Loaded per batch, each with their email choices: the previous batch's commit expired its people.
        people = db.session.scalars(db.select(User).where(User.id.in_(mondays)).order_by(User.id)
                                    .options(db.selectinload(User.email_switches))).all()
        batch = [(user, mondays[user.id]) for user in people]
        weeks = summaries(batch)
        checkins = [WeeklyCheckin(user_id=user.id, iso_week=iso_week(monday),
                                  reviewed_week=monday - timedelta(weeks=1)) for user, monday in batch]
        db.session.add_all(checkins)
        db.session.flush()  # one INSERT for the batch; the emails' links need the ids
        for (user, _), checkin in zip(batch, checkins, strict=True):
            summary = weeks[user.id]
            if summary.empty and not user.checkin_always:
                continue
            checkin.emailed = notify(
                user, "weekly-checkin", f"weekly-checkin:{user.id}:{checkin.iso_week}",
                f"Your week of {checkin.reviewed_week:%-d %b}: check-in", "weekly_checkin",
                summary=summary, checkin=checkin, days=LINK_DAYS, review_url=absolute_url("lessons.review"),
                url=absolute_url("checkins.answer_from_link", token=answer_token(checkin)))
        db.session.commit()
    return len(due)


# --- answers ----------------------------------------------------------------------------------------

def checkin_from_token(token: str) -> WeeklyCheckin:
    """The check-in an emailed link opens, or LinkError saying why not."""
    payload = unsign("email-action", token, LINK_DAYS * 86400)
    checkin = db.session.get(WeeklyCheckin, payload.get("c"))
    if checkin is None or checkin.user_id != payload.get("u"):
        raise LinkError("This check-in no longer exists.")
    return checkin


def open_checkin_from_token(token: str) -> WeeklyCheckin:
    """The unanswered check-in an emailed link opens: the link acts once, later changes need signing in."""
    checkin = checkin_from_token(token)
    if checkin.answered_at is not None:
        raise LinkError("This check-in is answered already. Sign in to change the answers.")
    return checkin


def own_checkin_or_404(viewer: User, checkin_id: int) -> WeeklyCheckin:
    """A check-in of the viewer's own."""
    checkin = db.session.get(WeeklyCheckin, checkin_id)
    if checkin is None or checkin.user_id != viewer.id:
        abort(404)
    return checkin


def answer(checkin: WeeklyCheckin, went_well: str, failed: str, try_next: str) -> None:
    """Store the week's three answers (the learner may revise them while signed in)."""
    checkin.went_well, checkin.failed, checkin.try_next = went_well, failed, try_next
    checkin.answered_at = clock.now()
    db.session.commit()


def checkins_of(viewer: User, learner_id: int, limit: int = 26) -> list[WeeklyCheckin]:
    """A learner's check-ins, newest first: for the learner and their active coaches."""
    if not can_view_learner(viewer, learner_id):
        abort(404)
    return list(db.session.scalars(
        db.select(WeeklyCheckin).where(WeeklyCheckin.user_id == learner_id)
        .order_by(WeeklyCheckin.reviewed_week.desc()).limit(limit)))
