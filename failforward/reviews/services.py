"""Blameless reviews: started from where the trouble showed (a rep, a setback, a missed week, a follow-up) or
blank, the gentle blameless-language check, the actions with their due-date reminder and their "did the fix
work?" check, sharing with the coach and the coach's comments."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import today_for, zone_of
from failforward.coaching import services as coaching
from failforward.coaching.access import may_see_learner, may_see_private, own_record_or_404, private_record_or_404
from failforward.coaching.models import CoachingLink
from failforward.extensions import db
from failforward.goals.models import ACTIVE, Goal
from failforward.ledger.models import Rep
from failforward.once import insert_once, say_once
from failforward.reflection.models import Reflection
from failforward.reviews.models import (
    DONE,
    NOT_DOING,
    NOT_YET,
    OPEN,
    VERIFIED,
    WORKED,
    Review,
    ReviewAction,
    ReviewComment,
    ReviewEvent,
    ReviewFactor,
)
from failforward.thresholds import services as thresholds
from failforward.web import absolute_url

DUE_AFTER = timedelta(days=30)  # the seed's closure window
CHECK_AFTER_DUE = timedelta(days=14)
SNOOZE = timedelta(days=7)
SOON = timedelta(days=7)  # actions due within a week show on the home page

# --- the blameless-language check -----------------------------------------------------------------

BLAMING = (
    (re.compile(r"\bwho\b", re.I), "“Who” looks for a person. Ask what made the slip likely instead."),
    (re.compile(r"\b(?:your|my|his|her|their) fault\b", re.I), "Fault points at a person; name the conditions."),
    (re.compile(r"\bcareless(?:ly|ness)?\b", re.I), "“Careless” judges a person. What made care hard here?"),
    (re.compile(r"\bshould(?:n't| not)? have\b|\bshould've\b", re.I),
     "“Should have” is hindsight. What did you know at the time, and what signal was missing?"),
    (re.compile(r"\bstupid(?:ity)?\b|\bidiot(?:ic)?\b|\bdumb\b", re.I), "Name-calling hides the cause. What got in "
                                                                         "the way?"),
)
# A capitalised word before "caused" is most often a name ("Sam caused"); these sentence openings are not.
NOT_NAMES = frozenset({"It", "This", "That", "What", "Which", "The", "Nothing", "Something", "Everything", "And",
                       "But", "So", "Also", "Then", "There", "Rain", "Traffic", "Noise", "Fatigue", "Pressure",
                       "Time", "Work", "Weather", "Stress", "Sleep"})
NAME_CAUSED = re.compile(r"\b([A-Z][\w'’-]*|he|she|they)\s+caused\b")
ONE_FACTOR = "Most failures have several causes: add another?"
TEXT_FIELDS = ("trigger", "scope", "counterfactual", "what_worked", "assumptions", "timeline", "factors")


def blame_notes(texts: dict[str, str], factor_count: int | None = None) -> dict[str, list[str]]:
    """Gentle notes for person-blaming words, field by field, and for a single contributing factor. It advises;
    nothing is refused. `texts` maps a field name to its text (the timeline and factors joined)."""
    notes: dict[str, list[str]] = {}
    for name, text in texts.items():
        found = [note for pattern, note in BLAMING if pattern.search(text or "")]
        for match in NAME_CAUSED.finditer(text or ""):
            if match.group(1) not in NOT_NAMES:
                found.append(f"“{match.group(0)}” points at a person. What in the situation led to it?")
                break
        if found:
            notes[name] = found
    if factor_count == 1:
        notes.setdefault("factors", []).append(ONE_FACTOR)
    return notes


def review_notes(review: Review) -> dict[str, list[str]]:
    """The blameless-language notes of a saved review."""
    texts = {name: getattr(review, name) for name in ("trigger", "scope", "counterfactual", "what_worked",
                                                      "assumptions")}
    texts["timeline"] = "\n".join(event.what for event in review.events)
    texts["factors"] = "\n".join(factor.what for factor in review.factors)
    return blame_notes(texts, len(review.factors))


# --- access -------------------------------------------------------------------------------------

def review_or_404(viewer: User, review_id: int) -> Review:
    """A review the viewer may see: its learner; their active coach once it is shared. 404 for anyone else."""
    return private_record_or_404(viewer, Review, review_id)


def own_review_or_404(viewer: User, review_id: int) -> Review:
    """A review the viewer wrote."""
    return own_record_or_404(viewer, Review, review_id)


def own_action_or_404(viewer: User, action_id: int) -> ReviewAction:
    """An action of a review the viewer wrote (its check is the learner's to answer)."""
    return own_record_or_404(viewer, ReviewAction, action_id)


def action_to_mark_or_404(viewer: User, action_id: int) -> ReviewAction:
    """An action whose status the viewer may change: the learner's, or the coach's own fix in a review shared with
    them (while they coach the learner). A 404 for anyone else."""
    action = db.session.get(ReviewAction, action_id)
    if action is None or not (viewer.id == action.learner_id or (
            viewer.id == action.owner_id and may_see_private(viewer, action.review))):
        abort(404)
    return action


# --- where a review starts ------------------------------------------------------------------------

Source = tuple[str, int, date | None]


def _owned(model, learner: User, row_id: int):
    row = db.session.get(model, row_id)
    return row if row is not None and row.learner_id == learner.id else None


def source_links(learner: User, source: Source | None) -> dict:
    """The columns linking a review to where it started; ids that are not the learner's own are ignored."""
    if not source:
        return {}
    kind, row_id, week = source
    if kind == "rep" and (rep := _owned(Rep, learner, row_id)):
        return {"rep_id": rep.id, "goal_id": rep.goal_id}
    if kind == "reflection" and (reflection := _owned(Reflection, learner, row_id)):
        return {"reflection_id": reflection.id, "rep_id": reflection.rep_id,
                "goal_id": reflection.rep.goal_id if reflection.rep else None}
    if kind == "goal-week" and (goal := _owned(Goal, learner, row_id)):
        return {"goal_id": goal.id, "missed_week": week}
    if kind == "followup" and (due := thresholds.open_follow_up(learner, row_id)):
        return {"follow_up_id": due.id, "goal_id": due.goal_id, "reflection_id": due.reflection_id}
    return {}


def prefill(learner: User, source: Source | None) -> dict:
    """Starting text for the trigger and scope, and a first timeline row, from the learner's own record."""
    if not source:
        return {}
    kind, row_id, week = source
    zone = zone_of(learner)
    if kind == "rep" and (rep := _owned(Rep, learner, row_id)):
        return {"trigger": f"A {rep.outcome} rep of {rep.drill.name}: {rep.value:g} {rep.drill.goal.unit}",
                "scope": f"The goal “{rep.drill.goal.title}”", "events": [_rep_event(rep, zone)]}
    if kind == "reflection" and (reflection := _owned(Reflection, learner, row_id)):
        return {"trigger": reflection.what_happened,
                "events": [{"at": reflection.created_at.astimezone(zone).replace(tzinfo=None),
                            "what": reflection.what_happened.splitlines()[0][:500]}]}
    if kind == "goal-week" and (goal := _owned(Goal, learner, row_id)):
        return {"trigger": f"The week of {week:%-d %B %Y} missed the weekly target of “{goal.title}”",
                "scope": f"The goal “{goal.title}”"}
    if kind == "followup" and (due := thresholds.open_follow_up(learner, row_id)):
        # What fired, and its facts: the misses that crossed the line, or the setback.
        start = prefill(learner, ("reflection", due.reflection_id, None)) if due.reflection_id else {}
        goal = db.session.get(Goal, due.goal_id) if due.goal_id else None
        return {"trigger": due.reason, **({"scope": f"The goal “{goal.title}”"} if goal else {}),
                "events": start.get("events", []) + [_rep_event(rep, zone) for rep in thresholds.missed_reps(due)]}
    return {}


def _rep_event(rep: Rep, zone: ZoneInfo) -> dict:
    """A rep as a timeline row: its local time, and its note or its value."""
    return {"at": rep.performed_at.astimezone(zone).replace(tzinfo=None),
            "what": rep.note or f"A {rep.outcome}: {rep.value:g} {rep.drill.goal.unit} on {rep.drill.name}"}


# --- writing ------------------------------------------------------------------------------------

def _apply(review: Review, fields: dict, events: list[tuple[datetime, str]], factors: list[tuple[str, str]]) -> None:
    for name in ("trigger", "scope", "counterfactual", "what_worked", "assumptions", "shared"):
        setattr(review, name, fields[name])
    review.events = [ReviewEvent(at=at, what=what) for at, what in sorted(events, key=lambda row: row[0])]
    review.factors = [ReviewFactor(kind=kind, what=what) for kind, what in factors]


def create_review(learner: User, fields: dict, events: list[tuple[datetime, str]], factors: list[tuple[str, str]],
                  source: Source | None, idempotency_key: str) -> tuple[Review, bool]:
    """Save a review once per key (a second tap returns the first and False), linked to where it started.
    `events` are (UTC instant, what happened); `factors` are (kind, what)."""
    def new_review() -> Review:
        review = Review(learner_id=learner.id, idempotency_key=idempotency_key, **source_links(learner, source))
        _apply(review, fields, events, factors)
        return review

    review, created = insert_once(Review, learner.id, idempotency_key, new_review)
    if created and review.follow_up_id:
        thresholds.complete_follow_up(learner, review.follow_up_id)  # the review the contract asked for
    db.session.commit()
    return review, created


def update_review(review: Review, fields: dict, events: list[tuple[datetime, str]],
                  factors: list[tuple[str, str]]) -> Review:
    """Save changes: the timeline and the factors are replaced by what the form holds."""
    _apply(review, fields, events, factors)
    db.session.commit()
    return review


def set_shared(review: Review, shared: bool) -> None:
    """Share one review with the coach, or stop sharing it."""
    if review.shared != shared:
        review.shared = shared
        db.session.commit()


def add_comment(viewer: User, review: Review, body: str) -> ReviewComment:
    """Comment on a review the viewer may see; a double tap adds it once."""
    return say_once(review.comments, viewer.id, body,
                    lambda: ReviewComment(review_id=review.id, author_id=viewer.id, body=body))


def recent_reviews(learner: User, limit: int = 30) -> list[Review]:
    """The learner's newest reviews."""
    return list(db.session.scalars(db.select(Review).where(Review.learner_id == learner.id)
                                   .order_by(Review.created_at.desc(), Review.id.desc()).limit(limit)))


def shared_reviews(learner: User, limit: int = 30) -> list[Review]:
    """The reviews the learner shared with their coach, newest first (the caller checked the viewer may see the
    learner)."""
    return list(db.session.scalars(db.select(Review).where(Review.learner_id == learner.id, Review.shared)
                                   .order_by(Review.created_at.desc(), Review.id.desc()).limit(limit)))


# --- actions ------------------------------------------------------------------------------------

def owners(learner: User) -> list[User]:
    """Who may own an action of the learner's review: the learner, or one of their active coaches."""
    return [learner, *(link.coach for link in coaching.coaches_of(learner))]


def action_defaults(learner: User) -> dict:
    """Due in 30 days in the learner's calendar; checked two weeks after."""
    due = today_for(learner) + DUE_AFTER
    return {"due_on": due, "check_on": due + CHECK_AFTER_DUE}


def add_action(review: Review, fields: dict, idempotency_key: str) -> tuple[ReviewAction, bool]:
    """Add a fix we'll implement, once per key. The owner must be the learner or an active coach (the form's
    choices); an empty due or check date takes the default."""
    learner = review.learner
    defaults = action_defaults(learner)
    due = fields.get("due_on") or defaults["due_on"]
    owner_id = fields["owner_id"] if fields["owner_id"] in {o.id for o in owners(learner)} else learner.id

    def new_action() -> ReviewAction:
        return ReviewAction(review_id=review.id, learner_id=learner.id, owner_id=owner_id, what=fields["what"],
                            done_condition=fields["done_condition"], verify_plan=fields["verify_plan"],
                            due_on=due, check_on=fields.get("check_on") or due + CHECK_AFTER_DUE,
                            idempotency_key=idempotency_key)

    action, created = insert_once(ReviewAction, learner.id, idempotency_key, new_action)
    db.session.commit()
    return action, created


def set_status(action: ReviewAction, status: str, note: str) -> ReviewAction:
    """Open, done, verified (the note is the evidence) or not doing (the note is the reason)."""
    action.status = status
    _stamp_completion(action)
    if status in (VERIFIED, NOT_DOING) or note:
        action.evidence = note
    db.session.commit()
    return action


def _stamp_completion(action: ReviewAction) -> None:
    """Keep the first time a fix was done or verified (verifying a done fix keeps the day it was done);
    reopening it or deciding not to do it clears it."""
    if action.status not in (DONE, VERIFIED):
        action.completed_at = None
    elif action.completed_at is None:
        action.completed_at = clock.now()


def answer_check(action: ReviewAction, answer: str, note: str) -> ReviewAction:
    """"Did the fix work?" It worked: verified, with the note as evidence. Partly or did not: kept, done stays.
    Too early: asked again in 7 days."""
    action.check_answer = answer
    if answer == NOT_YET:
        action.check_on = today_for(action.learner) + SNOOZE
    elif answer == WORKED:
        action.status = VERIFIED
        _stamp_completion(action)
        action.evidence = note or action.evidence or "It worked."
    elif note:
        action.evidence = note
    db.session.commit()
    return action


@dataclass(frozen=True)
class ActionsDue:
    """For the home page: open actions the person owns that are due within a week or overdue, and the learner's
    fixes whose check date has come."""

    today: date
    due: list[ReviewAction]
    checks: list[ReviewAction]

    def __bool__(self) -> bool:
        return bool(self.due or self.checks)


def actions_due(person: User) -> ActionsDue:
    """What the home page lists (the coach's own actions among them, in the coach's calendar)."""
    today = today_for(person)
    due = list(db.session.scalars(db.select(ReviewAction).where(
        ReviewAction.owner_id == person.id, ReviewAction.status == OPEN, ReviewAction.due_on <= today + SOON)
        .order_by(ReviewAction.due_on, ReviewAction.id)
        .options(db.joinedload(ReviewAction.learner), db.joinedload(ReviewAction.review)).limit(20)))
    checks = list(db.session.scalars(db.select(ReviewAction).where(
        ReviewAction.learner_id == person.id, ReviewAction.status.in_((OPEN, DONE)), ReviewAction.check_on <= today,
        db.or_(ReviewAction.check_answer.is_(None), ReviewAction.check_answer == NOT_YET))
        .order_by(ReviewAction.check_on, ReviewAction.id).limit(20)))
    return ActionsDue(today, due, checks)


def coach_fixes(coach: User, limit: int = 20) -> list[ReviewAction]:
    """Open fixes a coach owns in their learners' reviews (while they coach them), nearest due first: for the
    coach's queue page, in one query."""
    return list(db.session.scalars(db.select(ReviewAction).join(CoachingLink, db.and_(
        CoachingLink.coach_id == coach.id, CoachingLink.learner_id == ReviewAction.learner_id,
        CoachingLink.ended_at.is_(None))).where(ReviewAction.owner_id == coach.id, ReviewAction.status == OPEN)
        .order_by(ReviewAction.due_on, ReviewAction.id)
        .options(db.joinedload(ReviewAction.learner), db.joinedload(ReviewAction.review)).limit(limit)))


def open_actions_due(learner_ids: list[int], until: date) -> list[ReviewAction]:
    """For the weekly check-in: these learners' open actions due by `until` (overdue ones too), soonest first."""
    return list(db.session.scalars(db.select(ReviewAction).where(
        ReviewAction.learner_id.in_(learner_ids), ReviewAction.status == OPEN, ReviewAction.due_on <= until)
        .order_by(ReviewAction.due_on, ReviewAction.id)))


def _day_began(day: date, zone: ZoneInfo, now: datetime) -> bool:
    return datetime.combine(day, time(0), tzinfo=zone) <= now


def create_due_notices(now: datetime | None = None) -> int:
    """On an action's due date, remind its owner (key `action-due:<id>:<date>`); on its check date, ask the
    learner "did the fix work?" (key `action-check:<id>:<date>`). Each once per date, in the learner's calendar.
    Idempotent; run by the sweep."""
    now = now or clock.now()
    horizon = (now + timedelta(days=1)).date()  # no calendar is more than 14 hours ahead of UTC
    made = 0
    for action in db.session.scalars(db.select(ReviewAction).where(
            ReviewAction.status == OPEN, ReviewAction.due_on <= horizon,
            db.or_(ReviewAction.due_notified_on.is_(None), ReviewAction.due_notified_on != ReviewAction.due_on))
            .options(db.joinedload(ReviewAction.learner), db.joinedload(ReviewAction.owner),
                     db.joinedload(ReviewAction.review)).limit(500)):
        if not _day_began(action.due_on, zone_of(action.learner), now):
            continue
        action.due_notified_on = action.due_on
        owner = action.owner or action.learner
        mine = owner.id == action.learner_id
        if may_see_learner(owner.id, action.learner_id):  # the coach while they still coach
            notify(owner, "action-due", f"action-due:{action.id}:{action.due_on.isoformat()}",
                   "A fix from a review is due today", "action_due", action=action,
                   about=None if mine else action.learner,
                   url=absolute_url("reviews.show", blameless_id=action.review_id, _anchor=f"action-{action.id}")
                   if mine or action.review.shared else None)
        made += 1
    for action in db.session.scalars(db.select(ReviewAction).where(
            ReviewAction.status.in_((OPEN, DONE)), ReviewAction.check_on <= horizon,
            db.or_(ReviewAction.check_answer.is_(None), ReviewAction.check_answer == NOT_YET),
            db.or_(ReviewAction.check_notified_on.is_(None), ReviewAction.check_notified_on != ReviewAction.check_on))
            .options(db.joinedload(ReviewAction.learner)).limit(500)):
        if not _day_began(action.check_on, zone_of(action.learner), now):
            continue
        action.check_notified_on = action.check_on
        notify(action.learner, "action-check", f"action-check:{action.id}:{action.check_on.isoformat()}",
               "Did the fix work?", "action_check", action=action,
               url=absolute_url("reviews.check", action_id=action.id))
        made += 1
    db.session.commit()
    return made


# --- the review page ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewPage:
    """A review with its timeline, factors, actions and comments; the blameless notes; the goals an
    assumption can be tested on; `mine` when the viewer is the learner (a coach reads and comments)."""

    review: Review
    mine: bool
    zone: ZoneInfo
    notes: dict[str, list[str]]
    goals: list[Goal]
    today: date


def review_page(viewer: User, review: Review) -> ReviewPage:
    """What a review's page shows to `viewer` (review_or_404 checked)."""
    mine = review.learner_id == viewer.id
    goals = [] if review.goal_id or not mine else list(db.session.scalars(db.select(Goal).where(
        Goal.learner_id == review.learner_id, Goal.status == ACTIVE).order_by(Goal.created_at.desc())))
    return ReviewPage(review=review, mine=mine, zone=zone_of(review.learner), notes=review_notes(review),
                      goals=goals, today=today_for(review.learner))
