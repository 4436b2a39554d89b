"""Asking for feedback, the coach's queue, answers and follow-ups, and feedback latency."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import abort

from failforward import clock
from failforward.accounts.models import EmailSwitch, User
from failforward.accounts.services import notify, wants
from failforward.calendar import zone_of
from failforward.coaching.access import active_link, learners_record_or_404
from failforward.coaching.models import CoachingLink
from failforward.coaching.services import (
    coaches_of,
    feedback_due_hours,
    invite_url,
    is_coach,
    newest_open_invite,
    roster,
)
from failforward.database import UtcDateTime, hours_between
from failforward.extensions import db
from failforward.feedback.models import FeedbackMessage, FeedbackRequest, request_reps, waiting
from failforward.goals.models import Drill, Goal
from failforward.ledger.models import Rep
from failforward.mail.models import OutboxMessage
from failforward.mail.services import quiet_until
from failforward.once import repeated
from failforward.premortems.models import TripwireFiring
from failforward.premortems.services import firings_since
from failforward.web import absolute_url

LATENCY_WINDOW = timedelta(weeks=4)
QUEUE_PAGE = 20
DIGEST_HOUR = 8
TREND_REPS = 8


class FeedbackError(Exception):
    """A refusal to show beside the form, e.g. asking with no coach."""


def request_or_404(viewer: User, request_id: int) -> FeedbackRequest:
    """A request the viewer may see (its learner, or an active coach of that learner)."""
    return learners_record_or_404(viewer, FeedbackRequest, request_id)


def session_reps(rep: Rep) -> list[Rep]:
    """Other reps of the same drill on the same day (one session), to add to a request."""
    start, end = rep.performed_at - timedelta(hours=12), rep.performed_at + timedelta(hours=12)
    return list(db.session.scalars(
        db.select(Rep).where(Rep.drill_id == rep.drill_id, Rep.id != rep.id, Rep.performed_at.between(start, end))
        .order_by(Rep.performed_at)))


def ask(learner: User, rep: Rep, question: str, extra_reps: list[Rep] = ()) -> FeedbackRequest:
    """Ask every active coach for feedback on a rep (and others of its session); once per rep."""
    existing = db.session.scalar(db.select(FeedbackRequest).where(FeedbackRequest.rep_id == rep.id))
    if existing:
        return existing
    links = coaches_of(learner)
    if not links:
        raise FeedbackError("You have no coach yet. Ask your coach for an invite link first.")
    reps = sorted({rep, *[r for r in extra_reps if r.learner_id == learner.id]}, key=lambda r: r.performed_at)
    practised_at = reps[0].performed_at
    hours = min(feedback_due_hours(link) for link in links)
    feedback = FeedbackRequest(learner_id=learner.id, rep_id=rep.id, question=question, practised_at=practised_at,
                               due_at=practised_at + timedelta(hours=hours), reps=reps)
    db.session.add(feedback)
    db.session.flush()
    for link in links:
        if not wants(link.coach, "feedback-digest"):
            notify(link.coach, "feedback-request", f"feedback-request:{feedback.id}:{link.coach_id}",
                   f"{learner.name} asks for feedback on {rep.drill.name}", "feedback_request", about=learner,
                   feedback=feedback, rep=rep, url=absolute_url("feedback.show", request_id=feedback.id))
    db.session.commit()
    return feedback


def _open_for_coach(coach: User, learner_id: int | None = None):
    """Waiting requests of the coach's active learners (of one of them, given `learner_id`). Shaped as
    EXISTS so that the only index for the request itself is the partial one of waiting requests, read in
    due order: joined on the learner, SQLite without statistics picked the learner index and read every
    answered request."""
    query = db.select(FeedbackRequest).where(waiting(), db.exists().where(
        CoachingLink.learner_id == FeedbackRequest.learner_id, CoachingLink.coach_id == coach.id,
        CoachingLink.ended_at.is_(None)))
    return query if learner_id is None else query.where(FeedbackRequest.learner_id == learner_id)


def queue(coach: User, limit: int | None = None, offset: int = 0,
          learner_id: int | None = None) -> list[FeedbackRequest]:
    """Open requests from all the coach's learners (or one), nearest due first (overdue ones at the top);
    `limit` of them from `offset` for one page of the queue, all of them for the digest."""
    return list(db.session.scalars(
        _open_for_coach(coach, learner_id).order_by(FeedbackRequest.due_at, FeedbackRequest.id)
        .limit(limit).offset(offset)
        # Only the columns a queue item (and the digest) shows: four joined rows of full width each cost
        # more to load than the query took to run.
        .options(db.joinedload(FeedbackRequest.learner).load_only(User.name),
                 db.joinedload(FeedbackRequest.rep).load_only(Rep.drill_id, Rep.value, Rep.outcome, Rep.note,
                                                              Rep.performed_at)
                 .joinedload(Rep.drill).load_only(Drill.name, Drill.goal_id)
                 .joinedload(Drill.goal).load_only(Goal.unit, Goal.direction, Goal.target),
                 db.undefer(FeedbackRequest.rep_count), db.selectinload(FeedbackRequest.messages))))


def queue_size(coach: User, learner_id: int | None = None) -> tuple[int, int]:
    """How many requests wait in the coach's queue (from one learner, given), and how many are overdue."""
    open_requests = _open_for_coach(coach, learner_id).subquery()
    late = db.and_(open_requests.c.answered_at.is_(None), open_requests.c.due_at < clock.now())
    total, overdue = db.session.execute(
        db.select(db.func.count(), db.func.count().filter(late)).select_from(open_requests)).one()
    return total, overdue


def waiting_by_learner(coach: User) -> dict[int, tuple[int, int, datetime]]:
    """For each of the coach's learners with requests waiting: how many, how many overdue, and when the oldest
    was asked (the coach's overview). Counted here, not by a GROUP BY: grouped on the learner, SQLite read the
    learner index through every answered request instead of the waiting requests' index."""
    now, found = clock.now(), {}
    for learner_id, created_at, due_at, answered_at in db.session.execute(_open_for_coach(coach).with_only_columns(
            FeedbackRequest.learner_id, FeedbackRequest.created_at, FeedbackRequest.due_at,
            FeedbackRequest.answered_at)):
        count, overdue, oldest = found.get(learner_id, (0, 0, created_at))
        found[learner_id] = (count + 1, overdue + (answered_at is None and due_at < now), min(oldest, created_at))
    return found


@dataclass(frozen=True)
class Trend:
    """A drill's latest values, oldest first, and the points of the small line that draws them."""

    values: list[float]

    @property
    def points(self) -> str:
        """SVG polyline points in a 80 x 20 box (2 px of margin above and below)."""
        low, high = min(self.values), max(self.values)
        span, step = (high - low) or 1, 80 / max(len(self.values) - 1, 1)
        return " ".join(f"{i * step:.1f},{18 - (v - low) / span * 16:.1f}" for i, v in enumerate(self.values))


@functools.cache
def _latest_values(drills: int):
    """One index range per drill (UNION ALL of LIMITs), with the drill ids bound at execution: built once
    per number of drills, as constructing the union each time cost more than running it."""
    return db.union_all(*[
        db.select(Rep.drill_id, Rep.value, Rep.performed_at).where(Rep.drill_id == db.bindparam(f"drill_{n}"))
        .order_by(Rep.performed_at.desc()).limit(TREND_REPS).subquery().select() for n in range(drills)])


def trends(drill_ids: list[int]) -> dict[int, Trend]:
    """The latest values of each drill that has any, from one query (a window over the drills' whole
    history read every rep they had)."""
    if not drill_ids:
        return {}
    rows = db.session.execute(_latest_values(len(drill_ids)), {f"drill_{n}": d for n, d in enumerate(drill_ids)})
    values: dict[int, list[float]] = {}
    for drill_id, value, _ in sorted(rows, key=lambda row: (row[0], row[2])):
        values.setdefault(drill_id, []).append(value)
    return {drill_id: Trend(latest) for drill_id, latest in values.items()}


@dataclass(frozen=True)
class QueueItem:
    """One waiting request as the queue draws it: the learner, the rep on its drill and goal, when it is due,
    and (while a follow-up is open) the follow-up's words."""

    id: int
    learner_name: str
    drill_id: int
    drill_name: str
    value: float
    outcome: str
    note: str
    performed_at: datetime
    unit: str
    direction: str
    target: float
    due_at: datetime
    answered_at: datetime | None
    follow_up_open: bool
    question: str
    rep_count: int
    follow_up: str | None = None  # the last message, while a follow-up is open

    @property
    def overdue(self) -> bool:
        return self.answered_at is None and clock.now() > self.due_at

    @classmethod
    def of(cls, feedback: FeedbackRequest) -> "QueueItem":
        """The item for a request already loaded (the answer form again, with its error)."""
        rep, goal = feedback.rep, feedback.rep.drill.goal
        return cls(feedback.id, feedback.learner.name, rep.drill_id, rep.drill.name, rep.value, rep.outcome, rep.note,
                   rep.performed_at, goal.unit, goal.direction, goal.target, feedback.due_at, feedback.answered_at,
                   feedback.follow_up_open, feedback.question, feedback.rep_count,
                   feedback.messages[-1].body if feedback.follow_up_open and feedback.messages else None)


def queue_items(coach: User, limit: int, offset: int, learner_id: int | None = None) -> list[QueueItem]:
    """One page of the queue (the order of `queue`) as plain rows, from one query: loading the request, its
    learner, rep, drill, goal and messages as objects cost more than drawing them."""
    last_message = (db.select(FeedbackMessage.body).where(FeedbackMessage.request_id == FeedbackRequest.id)
                    .order_by(FeedbackMessage.created_at.desc(), FeedbackMessage.id.desc()).limit(1)
                    .correlate(FeedbackRequest).scalar_subquery())
    rows = db.session.execute(
        _open_for_coach(coach, learner_id).with_only_columns(
            FeedbackRequest.id, User.name, Rep.drill_id, Drill.name, Rep.value, Rep.outcome, Rep.note,
            Rep.performed_at, Goal.unit, Goal.direction, Goal.target, FeedbackRequest.due_at,
            FeedbackRequest.answered_at, FeedbackRequest.follow_up_open, FeedbackRequest.question,
            FeedbackRequest.rep_count, db.case((FeedbackRequest.follow_up_open, last_message)))
        .join(User, User.id == FeedbackRequest.learner_id).join(Rep, Rep.id == FeedbackRequest.rep_id)
        .join(Drill, Drill.id == Rep.drill_id).join(Goal, Goal.id == Drill.goal_id)
        .order_by(FeedbackRequest.due_at, FeedbackRequest.id).limit(limit).offset(offset))
    return [QueueItem(*row) for row in rows]


@dataclass(frozen=True)
class Learner:
    """One of the coach's learners, as the queue names them: the link, the learner, their name."""

    link_id: int
    learner_id: int
    name: str


def learners_of(coach: User) -> list[Learner]:
    """The coach's active learners by name, as plain rows (the queue's filter and latency table)."""
    if not is_coach(coach):
        return []
    return [Learner(*row) for row in db.session.execute(
        db.select(CoachingLink.id, CoachingLink.learner_id, User.name).join(User, User.id == CoachingLink.learner_id)
        .where(CoachingLink.coach_id == coach.id, CoachingLink.ended_at.is_(None)).order_by(User.name))]


@dataclass(frozen=True)
class QueuePage:
    """One page of a coach's queue, of every learner or the one picked (`learner`): the requests nearest
    due with each drill's trend, how many wait and how many are overdue, the latency of each of the
    coach's learners, and the newest invite link still open (to copy)."""

    requests: list[QueueItem]
    total: int
    overdue: int
    page: int
    last_page: int
    trends: dict[int, Trend]
    learners: list[Learner]
    latency: dict[int, "Latency"]
    learner: Learner | None = None
    invite_url: str | None = None

    @property
    def first_shown(self) -> int:
        return (self.page - 1) * QUEUE_PAGE + 1


def queue_page(coach: User, page: int, learner_id: int | None = None) -> QueuePage:
    """Page `page` of the coach's queue, of one learner's requests given `learner_id` (404 unless the coach
    coaches them). The page is kept within the pages there are: the nearest due are the ones to answer,
    and a long queue stays quick to draw."""
    learners = learners_of(coach)
    learner = next((link for link in learners if link.learner_id == learner_id), None)
    if learner_id is not None and learner is None:
        abort(404)
    total, overdue = queue_size(coach, learner_id)
    last_page = max(1, -(-total // QUEUE_PAGE))
    page = max(1, min(page, last_page))
    requests = queue_items(coach, QUEUE_PAGE, (page - 1) * QUEUE_PAGE, learner_id)
    invite = newest_open_invite(coach)
    return QueuePage(requests, total, overdue, page, last_page, trends(sorted({r.drill_id for r in requests})),
                     learners, latency([link.learner_id for link in learners], coach.id), learner,
                     invite_url(invite) if invite else None)


def answer(coach: User, feedback: FeedbackRequest, body: str) -> FeedbackMessage:
    """Answer a request (an active coach of the learner only); the first answer stops the latency clock."""
    if active_link(coach.id, feedback.learner_id) is None:
        abort(404)
    if last := repeated(feedback.messages, coach.id, body):
        return last
    message = FeedbackMessage(request_id=feedback.id, author_id=coach.id, body=body)
    db.session.add(message)
    if feedback.answered_at is None:
        feedback.answered_at = clock.now()
    feedback.follow_up_open = False
    db.session.commit()
    return message


def follow_up(learner: User, feedback: FeedbackRequest, body: str) -> FeedbackMessage:
    """The learner asks a follow-up; the request goes back into the coach's queue."""
    if feedback.learner_id != learner.id:
        abort(404)
    if last := repeated(feedback.messages, learner.id, body):
        return last
    message = FeedbackMessage(request_id=feedback.id, author_id=learner.id, body=body)
    db.session.add(message)
    feedback.follow_up_open = True
    db.session.commit()
    return message


def mark_helpful(learner: User, feedback: FeedbackRequest, helpful: bool) -> None:
    """The learner says whether the feedback helped."""
    if feedback.learner_id != learner.id:
        abort(404)
    feedback.helpful = helpful
    db.session.commit()


def requests_for_reps(rep_ids: list[int]) -> dict[int, FeedbackRequest]:
    """The feedback request covering each rep, if any, from one query."""
    if not rep_ids:
        return {}
    rows = db.session.execute(
        db.select(request_reps.c.rep_id, FeedbackRequest).join(
            FeedbackRequest, FeedbackRequest.id == request_reps.c.request_id)
        .where(request_reps.c.rep_id.in_(rep_ids)))
    return {rep_id: feedback for rep_id, feedback in rows}


def learner_requests(learner: User, limit: int = 30) -> list[FeedbackRequest]:
    """The learner's latest requests with their answers."""
    return list(db.session.scalars(
        db.select(FeedbackRequest).where(FeedbackRequest.learner_id == learner.id)
        .order_by(FeedbackRequest.created_at.desc()).limit(limit)
        .options(db.joinedload(FeedbackRequest.rep).joinedload(Rep.drill),
                 db.selectinload(FeedbackRequest.messages).joinedload(FeedbackMessage.author))))


# --- latency ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Latency:
    """Feedback latency over the last four weeks: hours from the practice to the first answer.
    Requests not answered yet count with their age so far, so silence cannot look fast."""

    requests: int
    answered: int
    median_hours: float | None
    p90_hours: float | None
    late: int


def _percentile(values: list[float], share: float) -> float:
    """The `share` quantile, interpolating between the nearest ranks (statistics.quantiles' "inclusive"
    method, without computing all 99 cut points for each learner)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(learner_ids: list[int], coach_id: int | None = None) -> dict[int, Latency]:
    """Latency figures per learner from one query over the last four weeks. With `coach_id`, that coach's
    own: the clock stops at their first answer, and a request another coach answered first is theirs, not
    this coach's (it counts only if this coach answered it too)."""
    now = clock.now()
    stopped_at = FeedbackRequest.answered_at
    if coach_id is not None:
        # Per request in the window, by the messages' request index (a grouped subquery read every message the
        # coach ever wrote: a year of answers to read four weeks).
        stopped_at = (db.select(db.func.min(FeedbackMessage.created_at))
                      .where(FeedbackMessage.request_id == FeedbackRequest.id, FeedbackMessage.author_id == coach_id)
                      .correlate(FeedbackRequest).scalar_subquery())
    # The window's requests with the time their clock stopped, looked up once each: MATERIALIZED, as written
    # inline SQLite ran the coach's subquery once for every place that reads it (four).
    window = (db.select(FeedbackRequest.learner_id, FeedbackRequest.practised_at, FeedbackRequest.due_at,
                        FeedbackRequest.answered_at,
                        db.type_coerce(stopped_at, FeedbackMessage.created_at.type).label("stopped_at"))
              .where(FeedbackRequest.learner_id.in_(learner_ids), FeedbackRequest.created_at >= now - LATENCY_WINDOW)
              .cte("latency_window").prefix_with("MATERIALIZED"))
    # Unanswered: its age so far. `now` typed like the column, so it is sent as naive UTC like the stored
    # values (untyped, SQLite got the zone's wall time and PostgreSQL compared it as timestamptz).
    until = db.func.coalesce(window.c.stopped_at, db.literal(now, UtcDateTime()))
    query = db.select(window.c.learner_id, hours_between(until, window.c.practised_at), until > window.c.due_at,
                      window.c.stopped_at.is_not(None))
    if coach_id is not None:
        # A request another coach answered first is theirs, not this coach's, unless this coach answered it too.
        query = query.where(db.or_(window.c.stopped_at.is_not(None), window.c.answered_at.is_(None)))
    rows = db.session.execute(query)
    samples: dict[int, list] = {learner_id: [] for learner_id in learner_ids}
    for learner_id, hours, late, answered in rows:
        samples[learner_id].append((hours, bool(late), bool(answered)))
    result = {}
    for learner_id, items in samples.items():
        hours = [h for h, _, _ in items]
        result[learner_id] = Latency(
            requests=len(items), answered=sum(1 for _, _, answered in items if answered),
            median_hours=_percentile(hours, 0.5) if hours else None,
            p90_hours=_percentile(hours, 0.9) if hours else None, late=sum(1 for _, late, _ in items if late))
    return result


# --- reminders and digests (run by the sweep) ----------------------------------------------------

def create_due_reminders() -> int:
    """One reminder per coach for each request that fell due unanswered; the morning digest for
    coaches who chose it. Idempotent: keys in the outbox and `reminded_at` guard against repeats."""
    now = clock.now()
    overdue = list(db.session.scalars(
        db.select(FeedbackRequest).where(FeedbackRequest.answered_at.is_(None), FeedbackRequest.reminded_at.is_(None),
                                         FeedbackRequest.due_at <= now)
        .options(db.joinedload(FeedbackRequest.learner), db.joinedload(FeedbackRequest.rep).joinedload(Rep.drill))))
    for feedback in overdue:
        # Asked about an old rep, a request can be overdue when it is made: its first email said so.
        coaches = coaches_of(feedback.learner) if feedback.created_at < feedback.due_at else []
        for link in coaches:
            if not wants(link.coach, "feedback-digest"):
                notify(link.coach, "feedback-reminder", f"feedback-reminder:{feedback.id}:{link.coach_id}",
                       f"Overdue: feedback for {feedback.learner.name}", "feedback_reminder",
                       about=feedback.learner, feedback=feedback,
                       url=absolute_url("feedback.show", request_id=feedback.id))
        feedback.reminded_at = now
    db.session.commit()
    return len(overdue) + create_due_digests(now)


def _firings_since_last_digest(coach: User, now) -> list[tuple[User, TripwireFiring]]:
    """The tripwires of the coach's learners that fired since their last digest (or in the last day)."""
    last = db.session.scalar(db.select(db.func.max(OutboxMessage.created_at)).where(
        OutboxMessage.key.startswith(f"feedback-digest:{coach.id}:")))
    since = last or now - timedelta(days=1)
    return [(link.learner, firing) for link in roster(coach) for firing in firings_since(link.learner, since)]


# More lines for the morning digest from packages above this one (thresholds: the lessons and reviews
# due for the coach's learners): each takes the coach and returns its lines, none when it has nothing.
DIGEST_SECTIONS: list[Callable[[User], list[str]]] = []


def create_due_digests(now) -> int:
    """At 08:00 in each digest coach's zone, one email listing their open requests, the tripwires their
    learners' pre-mortems fired since the last digest, and what DIGEST_SECTIONS add (if any of these)."""
    coaches = list(db.session.scalars(
        db.select(User).join(EmailSwitch, EmailSwitch.user_id == User.id)
        .where(EmailSwitch.kind == "feedback-digest", EmailSwitch.enabled.is_(True))))
    sent = 0
    for coach in coaches:
        zone = zone_of(coach)
        local = now.astimezone(zone)
        # Not before 08:00, and not in the evening's quiet hours either: a digest written then would
        # wait until 07:00 and arrive an hour before the next morning's one.
        if local.hour < DIGEST_HOUR or quiet_until(now, zone) is not None:
            continue
        waiting = queue(coach)
        fired = _firings_since_last_digest(coach, now)
        extra = [line for section in DIGEST_SECTIONS for line in section(coach)]
        subject = (f"{len(waiting)} feedback request{'s' if len(waiting) != 1 else ''} waiting" if waiting
                   else "Your learners' lessons and reviews due" if extra
                   else f"{len(fired)} tripwire{'s' if len(fired) != 1 else ''} fired")
        key = f"feedback-digest:{coach.id}:{local.date().isoformat()}"
        if (waiting or fired or extra) and notify(coach, "feedback-digest", key, subject, "feedback_digest",
                                                  requests=waiting, firings=fired, extra=extra,
                                                  url=absolute_url("feedback.queue")):
            sent += 1
    db.session.commit()
    return sent
