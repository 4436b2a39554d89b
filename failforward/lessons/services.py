"""Lessons: capture (prefilled from where they came from), tags, one search over SQLite FTS5 or
PostgreSQL full-text search, the 30-day check with its snooze, the weekly review and monthly
synthesis, and who may see a lesson."""

from datetime import datetime, time, timedelta

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.services import notify
from failforward.calendar import today_for, zone_of
from failforward.coaching.access import own_record_or_404, private_record_or_404
from failforward.coaching.models import CoachingLink
from failforward.coaching.services import is_coach
from failforward.extensions import db
from failforward.feedback.models import FeedbackRequest
from failforward.ledger.models import Rep
from failforward.lessons.models import (
    DID_NOT,
    NOT_YET,
    OPEN,
    Lesson,
    LessonCheck,
    LessonComment,
    LessonTag,
)
from failforward.once import insert_once, say_once
from failforward.reflection.models import RecoveryRoutine, Reflection
from failforward.reflection.prompts import SITUATIONS
from failforward.reviews.models import Review
from failforward.thresholds import services as thresholds
from failforward.web import absolute_url

CHECK_AFTER = timedelta(days=30)
SNOOZE = timedelta(days=7)


# --- access -------------------------------------------------------------------------------------

def lesson_or_404(viewer: User, lesson_id: int) -> Lesson:
    """A lesson the viewer may see; 404 for anyone else, an unshared lesson's coach too."""
    return private_record_or_404(viewer, Lesson, lesson_id)


def own_lesson_or_404(viewer: User, lesson_id: int) -> Lesson:
    """A lesson the viewer wrote."""
    return own_record_or_404(viewer, Lesson, lesson_id)


# --- capture ------------------------------------------------------------------------------------

def _owned(model, learner: User, row_id: int):
    row = db.session.get(model, row_id)
    owner = row.learner_id if row is not None else None
    return row if owner == learner.id else None


def source_links(learner: User, source: tuple[str, int] | None) -> dict:
    """The goal, drill, rep, reflection, routine, feedback or earlier lesson a lesson comes from;
    ids that are not the learner's own are ignored."""
    if not source:
        return {}
    kind, row_id = source
    links: dict = {}
    if kind == "reflection" and (reflection := _owned(Reflection, learner, row_id)):
        links["reflection_id"] = reflection.id
        rep = reflection.rep
    elif kind == "routine" and (routine := _owned(RecoveryRoutine, learner, row_id)):
        links["routine_id"], links["reflection_id"] = routine.id, routine.reflection_id
        rep = None
    elif kind == "feedback" and (request := _owned(FeedbackRequest, learner, row_id)):
        links["feedback_request_id"] = request.id
        rep = request.rep
    elif kind == "follow_up" and (earlier := _owned(Lesson, learner, row_id)):
        links.update(follow_up_of_id=earlier.id, goal_id=earlier.goal_id, drill_id=earlier.drill_id)
        rep = None
    elif kind == "followup" and (due := thresholds.open_follow_up(learner, row_id)):
        links.update(goal_id=due.goal_id, drill_id=due.drill_id, reflection_id=due.reflection_id)
        rep = None
    elif kind == "review" and (review := _owned(Review, learner, row_id)):
        links.update(review_id=review.id, goal_id=review.goal_id, reflection_id=review.reflection_id)
        rep = db.session.get(Rep, review.rep_id) if review.rep_id else None
    elif kind == "rep":
        rep = _owned(Rep, learner, row_id)
    else:
        rep = None
    if rep is not None:
        links.update(rep_id=rep.id, drill_id=rep.drill_id, goal_id=rep.goal_id)
    return links


def prefill(learner: User, source: tuple[str, int] | None) -> dict:
    """Starting text for a quick capture from a rep, a reflection, a routine, a feedback answer or a
    check that did not work. Only the learner's own records are read."""
    if not source:
        return {}
    kind, row_id = source
    zone = zone_of(learner)
    if kind == "rep" and (rep := _owned(Rep, learner, row_id)):
        return {"happened_on": rep.performed_at.astimezone(zone).date(),
                "context": f"{rep.drill.name}: {rep.value:g} {rep.drill.goal.unit} ({rep.outcome})",
                "what_failed": rep.note, "try_next": rep.adjustment}
    if kind == "reflection" and (reflection := _owned(Reflection, learner, row_id)):
        return {"happened_on": reflection.created_at.astimezone(zone).date(),
                "context": SITUATIONS.get(reflection.situation, ""), "what_failed": reflection.what_happened}
    if kind == "routine" and (routine := _owned(RecoveryRoutine, learner, row_id)):
        return {"happened_on": routine.started_at.astimezone(zone).date(), "what_failed": routine.what_happened,
                "what_tried": routine.what_i_controlled, "try_next": routine.try_next}
    if kind == "feedback" and (request := _owned(FeedbackRequest, learner, row_id)):
        answers = [m.body for m in request.messages if m.author_id != learner.id]
        return {"happened_on": request.practised_at.astimezone(zone).date(),
                "context": f"Feedback on {request.rep.drill.name}",
                "what_failed": request.question, "try_next": answers[-1] if answers else ""}
    if kind == "review" and (review := _owned(Review, learner, row_id)):
        return _from_review(review, zone)
    if kind == "follow_up" and (earlier := _owned(Lesson, learner, row_id)):
        return {"context": earlier.context, "what_failed": f"What I tried did not work: {earlier.try_next}".strip(),
                "what_tried": earlier.try_next, "system_tags": ", ".join(t.name for t in earlier.tags_of("system")),
                "root_cause_tags": ", ".join(t.name for t in earlier.tags_of("root-cause")),
                "metric_tags": ", ".join(t.name for t in earlier.tags_of("metric"))}
    if kind == "followup" and (due := thresholds.open_follow_up(learner, row_id)):
        return {"happened_on": due.on_day or due.fired_at.astimezone(zone).date(), "context": due.reason}
    return {}


def _from_review(review: Review, zone) -> dict:
    """A lesson from a blameless review: its trigger, scope and factors, the fixes as what to try next, and the
    factors' kinds as root-cause tags."""
    fixes = [action.what for action in review.actions] or review.assumption_list
    return {"happened_on": (review.events[0].at if review.events else review.created_at).astimezone(zone).date(),
            "context": review.scope, "what_failed": review.trigger,
            "what_tried": "\n".join(f"{factor.kind}: {factor.what}" for factor in review.factors),
            "try_next": "\n".join(fixes),
            "root_cause_tags": ", ".join(dict.fromkeys(factor.kind for factor in review.factors))}


def _tags(learner: User, names_by_kind: dict[str, list[str]]) -> list[LessonTag]:
    wanted = [(kind, name) for kind, names in names_by_kind.items() for name in names]
    if not wanted:
        return []
    known = {(t.kind, t.name): t for t in db.session.scalars(db.select(LessonTag).where(
        LessonTag.learner_id == learner.id, LessonTag.name.in_([name for _, name in wanted])))}
    tags = []
    for kind, name in wanted:
        if (kind, name) not in known:
            known[(kind, name)] = LessonTag(learner_id=learner.id, kind=kind, name=name)
            db.session.add(known[(kind, name)])
        tags.append(known[(kind, name)])
    return tags


def _apply(lesson: Lesson, learner: User, fields: dict, tags: dict[str, list[str]]) -> None:
    for name in ("happened_on", "context", "what_failed", "what_tried", "try_next", "shared"):
        setattr(lesson, name, fields[name])
    # Only someone who coaches can show a lesson to learners (the box is not drawn for anyone else).
    lesson.shared_with_learners = bool(fields.get("shared_with_learners")) and is_coach(learner)
    lesson.tags = _tags(learner, tags)
    lesson.tags_text = " ".join(tag.name for tag in lesson.tags)


def create_lesson(learner: User, fields: dict, tags: dict[str, list[str]], source: tuple[str, int] | None,
                  idempotency_key: str) -> tuple[Lesson, bool]:
    """Save a lesson once per key, linked to where it came from, its check 30 days on (or on the
    date chosen); a lesson a contract threshold asked for marks that follow-up done. A second tap
    returns the first lesson and False."""
    def new_lesson() -> Lesson:
        lesson = Lesson(learner_id=learner.id, idempotency_key=idempotency_key,
                        check_on=fields.get("check_on") or today_for(learner) + CHECK_AFTER,
                        **source_links(learner, source))
        _apply(lesson, learner, fields, tags)
        return lesson

    lesson, created = insert_once(Lesson, learner.id, idempotency_key, new_lesson)
    if created and source and source[0] == "followup":
        thresholds.complete_follow_up(learner, source[1])
    db.session.commit()
    return lesson, created


def update_lesson(lesson: Lesson, fields: dict, tags: dict[str, list[str]]) -> Lesson:
    """Change a lesson; a new check date reopens the reminder for that date."""
    _apply(lesson, lesson.learner, fields, tags)
    if fields.get("check_on") and fields["check_on"] != lesson.check_on:
        lesson.check_on = fields["check_on"]
    db.session.commit()
    return lesson


def delete_lesson(lesson: Lesson) -> None:
    """Delete a lesson with its checks and comments."""
    db.session.delete(lesson)
    db.session.commit()


def set_shared(lesson: Lesson, shared: bool) -> None:
    """Share one lesson with the coach, or stop sharing it."""
    if lesson.shared != shared:
        lesson.shared = shared
        db.session.commit()


def add_comment(viewer: User, lesson: Lesson, body: str) -> LessonComment:
    """Comment on a lesson the viewer may see; a double tap adds it once."""
    return say_once(lesson.comments, viewer.id, body,
                    lambda: LessonComment(lesson_id=lesson.id, author_id=viewer.id, body=body))


# --- lists ---------------------------------------------------------------------------

def tags_of(learner: User) -> list[LessonTag]:
    """Every tag the learner has used, by kind and name."""
    return list(db.session.scalars(db.select(LessonTag).where(LessonTag.learner_id == learner.id)
                                   .order_by(LessonTag.kind, LessonTag.name)))


def recent_lessons(learner: User, limit: int = 20) -> list[Lesson]:
    """The learner's newest lessons."""
    return list(db.session.scalars(db.select(Lesson).where(Lesson.learner_id == learner.id)
                                   .order_by(Lesson.happened_on.desc(), Lesson.id.desc()).limit(limit)
                                   .options(db.selectinload(Lesson.tags))))


def lessons_from_coaches(learner: User, limit: int = 5) -> list[Lesson]:
    """The newest lessons the learner's active coaches shared with their learners ("model fallibility")."""
    coaches = db.select(CoachingLink.coach_id).where(CoachingLink.learner_id == learner.id,
                                                     CoachingLink.ended_at.is_(None))
    return list(db.session.scalars(
        db.select(Lesson).where(Lesson.learner_id.in_(coaches), Lesson.shared_with_learners)
        .order_by(Lesson.happened_on.desc(), Lesson.id.desc()).limit(limit).options(db.joinedload(Lesson.learner))))


# --- the 30-day check ---------------------------------------------------------------------------

def due_checks(learner: User, limit: int = 10) -> list[Lesson]:
    """Open checks whose date has come in the learner's calendar, oldest first (for the home page)."""
    return list(db.session.scalars(db.select(Lesson).where(
        Lesson.learner_id == learner.id, Lesson.status == OPEN, Lesson.check_on <= today_for(learner))
        .order_by(Lesson.check_on, Lesson.id).limit(limit)))


def answer_check(lesson: Lesson, answer: str, note: str) -> LessonCheck:
    """Keep the answer with its date. "Not tried yet" asks again in 7 days; the others close the check.
    A repeat of the same answer on a closed check does nothing."""
    last = lesson.checks[-1] if lesson.checks else None
    if lesson.status != OPEN and last is not None and last.answer == answer and last.note == note:
        return last
    check = LessonCheck(lesson_id=lesson.id, answer=answer, note=note)
    db.session.add(check)
    if answer == NOT_YET:
        lesson.check_on = today_for(lesson.learner) + SNOOZE
    else:
        lesson.status, lesson.checked_at = answer, clock.now()
    db.session.commit()
    return check


def follow_up_offered(lesson: Lesson) -> bool:
    """A check answered "did not" offers a follow-up lesson, until one exists."""
    return lesson.status == DID_NOT and db.session.scalar(
        db.select(Lesson.id).where(Lesson.follow_up_of_id == lesson.id).limit(1)) is None


def create_due_checks(now: datetime | None = None) -> int:
    """For every check that fell due (in its learner's calendar) and has no notice yet: mark it, and
    queue the email once per check date (key `lesson-check:<id>:<date>`). Idempotent; run by the sweep."""
    now = now or clock.now()
    # No calendar is more than 14 hours ahead of UTC: lessons checked after tomorrow cannot be due.
    horizon = (now + timedelta(days=1)).date()
    candidates = list(db.session.scalars(db.select(Lesson).where(
        Lesson.status == OPEN, Lesson.check_on <= horizon,
        db.or_(Lesson.check_notified_on.is_(None), Lesson.check_notified_on != Lesson.check_on))
        .options(db.joinedload(Lesson.learner)).limit(500)))
    made = 0
    for lesson in candidates:
        zone = zone_of(lesson.learner)
        if datetime.combine(lesson.check_on, time(0), tzinfo=zone) > now:
            continue
        lesson.check_notified_on = lesson.check_on
        notify(lesson.learner, "check-30", f"lesson-check:{lesson.id}:{lesson.check_on.isoformat()}",
               "Did what you planned to try work?", "lesson_check", lesson=lesson,
               url=absolute_url("lessons.check", lesson_id=lesson.id))
        made += 1
    db.session.commit()
    return made
