"""What a learner's errors became: totals, hypercorrection, weekly error rates and classes, leeches, charts."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import monday_of
from failforward.extensions import db
from failforward.study.models import ERROR_CLASSES, HIGH_CONFIDENCE, LEECH_FAILURES, StudyItem, StudyReview
from failforward.study.services import scoped_to_deck

STATS_WEEKS = 12


@dataclass(frozen=True)
class Week:
    """One week of reviews: how many, how many wrong, and the error classes."""

    start: date
    reviews: int
    wrong: int
    classes: dict[str, int]

    @property
    def error_rate(self) -> float | None:
        return self.wrong / self.reviews if self.reviews else None


@dataclass(frozen=True)
class Stats:
    """What the learner's errors became."""

    reviews: int
    wrong: int
    first_wrong: int
    first_wrong_recovered: int
    first_right: int
    first_right_still_right: int
    high_confidence_errors: int
    high_confidence_corrected: int
    low_confidence_errors: int
    low_confidence_corrected: int
    weeks: list[Week]
    leeches: list[StudyItem]

    @staticmethod
    def share(part: int, whole: int) -> int | None:
        return round(100 * part / whole) if whole else None


def stats(learner: User, deck_id: int | None = None) -> Stats:
    """Error rate by week, errors that became knowledge, hypercorrection, classes over time, leeches:
    a handful of aggregate queries whatever the number of items."""
    items = scoped_to_deck(db.select().select_from(StudyItem).where(StudyItem.learner_id == learner.id), deck_id)
    counts = db.session.execute(items.add_columns(
        db.func.count(StudyItem.id).filter(StudyItem.first_correct.is_(False)),
        db.func.count(StudyItem.id).filter(StudyItem.recovered.is_(True)),
        db.func.count(StudyItem.id).filter(StudyItem.first_correct.is_(True)),
        db.func.count(StudyItem.id).filter(StudyItem.first_correct.is_(True), StudyItem.last_correct.is_(True)),
    )).one()
    later = db.aliased(StudyReview)
    corrected = (db.select(later.id).where(later.item_id == StudyReview.item_id, later.correct.is_(True),
                                           later.answered_at > StudyReview.answered_at).exists())
    rated = db.select().select_from(StudyReview).join(StudyItem, StudyItem.id == StudyReview.item_id).where(
        StudyReview.learner_id == learner.id, StudyReview.rating.is_not(None))
    rated = scoped_to_deck(rated, deck_id)
    wrong = StudyReview.correct.is_(False)
    high = StudyReview.confidence >= HIGH_CONFIDENCE
    totals = db.session.execute(rated.add_columns(
        db.func.count(StudyReview.id), db.func.count(StudyReview.id).filter(wrong),
        db.func.count(StudyReview.id).filter(wrong, high),
        db.func.count(StudyReview.id).filter(wrong, high, corrected),
        db.func.count(StudyReview.id).filter(wrong, db.not_(high)),
        db.func.count(StudyReview.id).filter(wrong, db.not_(high), corrected),
    )).one()
    leeches = list(db.session.scalars(
        scoped_to_deck(db.select(StudyItem).where(StudyItem.learner_id == learner.id,
                                           StudyItem.failures >= LEECH_FAILURES), deck_id)
        .order_by(StudyItem.failures.desc(), StudyItem.id).limit(50).options(db.joinedload(StudyItem.deck))))
    return Stats(reviews=totals[0], wrong=totals[1], first_wrong=counts[0], first_wrong_recovered=counts[1],
                 first_right=counts[2], first_right_still_right=counts[3], high_confidence_errors=totals[2],
                 high_confidence_corrected=totals[3], low_confidence_errors=totals[4],
                 low_confidence_corrected=totals[5], weeks=_weeks(rated, learner), leeches=leeches)


def _weeks(rated, learner: User) -> list[Week]:
    """The last weeks (Monday to Sunday, in UTC days), from reviews grouped by day and error class in SQL."""
    first = monday_of(clock.now().date()) - timedelta(weeks=STATS_WEEKS - 1)
    day = db.func.date(StudyReview.reviewed_at)
    rows = db.session.execute(
        rated.where(StudyReview.reviewed_at >= datetime.combine(first, datetime.min.time(), tzinfo=UTC))
        .add_columns(day, StudyReview.error_class, db.func.count(StudyReview.id),
                     db.func.count(StudyReview.id).filter(StudyReview.correct.is_(False)))
        .group_by(day, StudyReview.error_class))
    buckets = {first + timedelta(weeks=i): [0, 0, dict.fromkeys(ERROR_CLASSES, 0)] for i in range(STATS_WEEKS)}
    for when, error_class, reviews, wrong in rows:
        when = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        bucket = buckets[monday_of(when)]
        bucket[0] += reviews
        bucket[1] += wrong
        if error_class in ERROR_CLASSES:
            bucket[2][error_class] += wrong
    return [Week(start, reviews, wrong, classes) for start, (reviews, wrong, classes) in buckets.items()]


@dataclass(frozen=True)
class Bar:
    """One bar (or one segment of a stacked bar) of an SVG chart."""

    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


def error_rate_chart(weeks: list[Week], width: int = 320, height: int = 140) -> list[Bar]:
    """Bars of the weekly error rate (0-100 %)."""
    pad, step = 12, (width - 24) / max(len(weeks), 1)
    bars = []
    for i, week in enumerate(weeks):
        if week.error_rate is None:
            continue
        h = round(week.error_rate * (height - 2 * pad), 1)
        bars.append(Bar(round(pad + i * step + 2, 1), round(height - pad - h, 1), round(step - 4, 1), h,
                        "bar", f"week of {week.start:%-d %b}: {round(100 * week.error_rate)}% wrong"))
    return bars


def classes_chart(weeks: list[Week], width: int = 320, height: int = 140) -> list[Bar]:
    """Stacked bars of each week's errors by class."""
    pad, step = 12, (width - 24) / max(len(weeks), 1)
    most = max((sum(w.classes.values()) for w in weeks), default=0) or 1
    bars = []
    for i, week in enumerate(weeks):
        bottom = height - pad
        for name, count in week.classes.items():
            if not count:
                continue
            h = round(count / most * (height - 2 * pad), 1)
            bottom -= h
            bars.append(Bar(round(pad + i * step + 2, 1), round(bottom, 1), round(step - 4, 1), h,
                            f"bar bar--{name}", f"week of {week.start:%-d %b}: {count} {ERROR_CLASSES[name]}"))
    return bars
