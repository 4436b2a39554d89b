"""The weekly review and the monthly synthesis of a learner's lessons: what was learned, what repeats."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from failforward.accounts.models import User
from failforward.calendar import monday_of, zone_of
from failforward.extensions import db
from failforward.lessons.models import OPEN, Lesson, LessonCheck, LessonTag, lesson_tags

REPEAT_WEEKS = 8


@dataclass
class Review:
    """A week (or a month) of lessons: what was written, what falls due, what repeats or recurs."""

    start: date
    end: date  # exclusive
    lessons: list[Lesson] = field(default_factory=list)
    checks_due: list[Lesson] = field(default_factory=list)
    repeats: list[tuple[LessonTag, int]] = field(default_factory=list)
    answered: list[LessonCheck] = field(default_factory=list)
    answer_counts: Counter = field(default_factory=Counter)


def _tag_counts(learner: User, since: date, until: date, kinds: tuple[str, ...]) -> list[tuple[LessonTag, int]]:
    rows = db.session.execute(
        db.select(LessonTag, db.func.count(lesson_tags.c.lesson_id))
        .join(lesson_tags, lesson_tags.c.tag_id == LessonTag.id).join(Lesson, Lesson.id == lesson_tags.c.lesson_id)
        .where(LessonTag.learner_id == learner.id, LessonTag.kind.in_(kinds), Lesson.happened_on >= since,
               Lesson.happened_on < until)
        .group_by(LessonTag.id).having(db.func.count(lesson_tags.c.lesson_id) > 1)
        .order_by(db.func.count(lesson_tags.c.lesson_id).desc(), LessonTag.name))
    return [(tag, count) for tag, count in rows]


def _lessons_between(learner: User, start: date, end: date) -> list[Lesson]:
    return list(db.session.scalars(db.select(Lesson).where(
        Lesson.learner_id == learner.id, Lesson.happened_on >= start, Lesson.happened_on < end)
        .order_by(Lesson.happened_on, Lesson.id).options(db.selectinload(Lesson.tags)).limit(200)))


def weekly_review(learner: User, start: date) -> Review:
    """Seed §9.1's 30-minute weekly review: the week's lessons, checks due by its end, and tags that
    repeat over the last 8 weeks."""
    start = monday_of(start)
    end = start + timedelta(weeks=1)
    review = Review(start, end, lessons=_lessons_between(learner, start, end))
    review.checks_due = list(db.session.scalars(db.select(Lesson).where(
        Lesson.learner_id == learner.id, Lesson.status == OPEN, Lesson.check_on < end)
        .order_by(Lesson.check_on).limit(50)))
    review.repeats = _tag_counts(learner, end - timedelta(weeks=REPEAT_WEEKS), end, ("system", "root-cause", "metric"))
    return review


def monthly_synthesis(learner: User, month: date) -> Review:
    """The monthly "learning release": the month's lessons, checks answered and how, recurring root causes."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    review = Review(start, end, lessons=_lessons_between(learner, start, end))
    zone = zone_of(learner)
    since = datetime.combine(start, time(0), tzinfo=zone)
    until = datetime.combine(end, time(0), tzinfo=zone)
    review.answered = list(db.session.scalars(
        db.select(LessonCheck).join(Lesson, Lesson.id == LessonCheck.lesson_id)
        .where(Lesson.learner_id == learner.id, LessonCheck.answered_at >= since, LessonCheck.answered_at < until)
        .order_by(LessonCheck.answered_at).options(db.joinedload(LessonCheck.lesson)).limit(200)))
    review.answer_counts = Counter(check.answer for check in review.answered)
    review.repeats = _tag_counts(learner, start, end, ("root-cause",))
    return review
