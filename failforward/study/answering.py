"""The answer-first study session: the due queue, comparing answers, and rating with FSRS."""

import difflib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort
from fsrs import Card, Rating, Scheduler, State

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import day_start, today_in, zone_of
from failforward.extensions import db
from failforward.study.models import AGAIN, ERROR_CLASSES, StudyItem, StudyReview
from failforward.study.services import StudyError, scoped_to_deck, settings_of

# --- comparing answers --------------------------------------------------------------------------

def _fold(text: str) -> str:
    """A character (or text) without case or accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def normalise_answer(text: str) -> str:
    """The answer as compared: no case, no accents, single spaces, no spaces at the ends."""
    return " ".join(_fold(text).split())


def answers_match(given: str, expected: str) -> bool:
    """Lenient comparison: case, spacing and accents do not matter."""
    return normalise_answer(given) == normalise_answer(expected)


@dataclass(frozen=True)
class Piece:
    """A run of text in the side-by-side reveal; `changed` marks what differs from the other side."""

    text: str
    changed: bool


# Two answers are close when the letters to change are at most this share of the longer one: then a
# letter-by-letter diff shows the slip; further apart, marks all over the text only hide the right answer.
CLOSE_SHARE = 0.4


@dataclass(frozen=True)
class Comparison:
    """The learner's answer and the right one cut into runs, and whether they are close enough to mark."""

    given: list[Piece]
    expected: list[Piece]
    close: bool


def compare(given: str, expected: str) -> Comparison:
    """The learner's answer and the right one, each cut into same and different runs (difflib),
    ignoring case and accents so that only real differences are marked."""
    def keys(text: str) -> list[str]:
        return [" " if ch.isspace() else _fold(ch) for ch in text]

    matcher = difflib.SequenceMatcher(None, keys(given), keys(expected), autojunk=False)
    left, right, edits = [], [], 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            left.append(Piece(given[i1:i2], tag != "equal"))
        if j2 > j1:
            right.append(Piece(expected[j1:j2], tag != "equal"))
        if tag != "equal":
            edits += max(i2 - i1, j2 - j1)
    longer = max(len(given), len(expected))
    return Comparison(given=left, expected=right, close=0 < edits <= max(1, int(longer * CLOSE_SHARE)))


# --- the study session --------------------------------------------------------------------------

def _local_day_start(learner: User) -> datetime:
    zone = zone_of(learner)
    return day_start(today_in(zone), zone).astimezone(UTC)


@dataclass(frozen=True)
class Queue:
    """Where a session stands: the next item (or a review waiting for its rating) and what is left."""

    pending: StudyReview | None
    item: StudyItem | None
    due: int
    new_left: int


def next_in_queue(learner: User, deck_id: int | None = None) -> Queue:
    """Due items first (oldest due first), then new ones up to the daily limit; an answered item
    waiting for its rating comes back before anything else."""
    pending = db.session.scalar(
        db.select(StudyReview).where(StudyReview.learner_id == learner.id, StudyReview.rating.is_(None))
        .order_by(StudyReview.id.desc()).limit(1).options(db.joinedload(StudyReview.item)))
    now = clock.now()
    mine = db.select(StudyItem).where(StudyItem.learner_id == learner.id)
    due_query = scoped_to_deck(mine.where(StudyItem.last_review.is_not(None), StudyItem.due <= now), deck_id)
    due = db.session.scalar(due_query.with_only_columns(db.func.count(StudyItem.id)))
    introduced = db.session.scalar(
        db.select(db.func.count(StudyItem.id))
        .where(StudyItem.learner_id == learner.id, StudyItem.first_reviewed_at >= _local_day_start(learner)))
    new_left = max(0, settings_of(learner.id).new_per_day - introduced)
    item = None
    if pending is None:
        item = db.session.scalar(due_query.order_by(StudyItem.due, StudyItem.id).limit(1))
        if item is None and new_left:
            item = db.session.scalar(
                scoped_to_deck(mine.where(StudyItem.last_review.is_(None)), deck_id).order_by(StudyItem.id).limit(1))
    if new_left:
        new_left = min(new_left, db.session.scalar(scoped_to_deck(
            mine.where(StudyItem.last_review.is_(None)), deck_id).with_only_columns(db.func.count(StudyItem.id))))
    return Queue(pending=pending, item=item, due=due, new_left=new_left)


def next_due_at(learner: User, deck_id: int | None = None) -> datetime | None:
    """When the next reviewed item falls due (for "come back at ...")."""
    return db.session.scalar(
        scoped_to_deck(db.select(db.func.min(StudyItem.due))
                .where(StudyItem.learner_id == learner.id, StudyItem.last_review.is_not(None)), deck_id))


def answer(learner: User, item: StudyItem, given: str, confidence: int) -> StudyReview:
    """Commit an answer and a confidence before the reveal. A second tap returns the same review."""
    if item.learner_id != learner.id:
        abort(404)
    waiting = db.session.scalar(
        db.select(StudyReview).where(StudyReview.learner_id == learner.id, StudyReview.rating.is_(None),
                                     StudyReview.item_id == item.id))
    if waiting:
        return waiting
    review = StudyReview(item_id=item.id, learner_id=learner.id, given_answer=given, confidence=confidence,
                         matched=None if item.self_judged else answers_match(given, item.answer_text),
                         answered_at=clock.now())
    db.session.add(review)
    db.session.commit()
    return review


def card_of(item: StudyItem) -> Card:
    """The item's FSRS card, rebuilt from its columns."""
    return Card(card_id=item.id, state=State(item.state), step=item.step, stability=item.stability,
                difficulty=item.difficulty, due=item.due, last_review=item.last_review)


def store_card(item: StudyItem, card: Card) -> None:
    """Copy an FSRS card's state onto the item (times in UTC)."""
    item.state, item.step = int(card.state), card.step
    item.stability, item.difficulty = card.stability, card.difficulty
    item.due = card.due.astimezone(UTC)
    item.last_review = card.last_review.astimezone(UTC) if card.last_review else None


def scheduler_for(learner_id: int) -> Scheduler:
    """The FSRS scheduler with the learner's desired retention."""
    return Scheduler(desired_retention=settings_of(learner_id).desired_retention)


def retrievability(item: StudyItem, scheduler: Scheduler) -> float | None:
    """The chance, per FSRS, that the learner recalls the item now (None before the first review)."""
    if item.last_review is None:
        return None
    return scheduler.get_card_retrievability(card_of(item), clock.now())


def rate(learner: User, review: StudyReview, rating: int, error_class: str | None, note: str) -> StudyReview:
    """Rate recall (FSRS again/hard/good/easy), classify an error, and schedule the item.
    Rating an already rated review does nothing."""
    if review.learner_id != learner.id:
        abort(404)
    if review.rating is not None:
        return review
    if rating == AGAIN and error_class not in ERROR_CLASSES:
        raise StudyError("Pick what kind of error this was.")
    item = review.item
    now = clock.now()
    card, log = scheduler_for(learner.id).review_card(
        card_of(item), Rating(rating), review_datetime=now,
        review_duration=int((now - review.answered_at).total_seconds() * 1000))
    store_card(item, card)
    correct = rating != AGAIN
    review.rating, review.correct, review.reviewed_at = int(log.rating), correct, log.review_datetime
    review.error_class = None if correct else error_class
    review.note, review.review_duration_ms, review.due_after = note, log.review_duration, item.due
    if item.first_reviewed_at is None:
        item.first_reviewed_at, item.first_correct = now, correct
    elif correct and item.first_correct is False:
        item.recovered = True
    item.reviews += 1
    item.failures += 0 if correct else 1
    item.last_correct = correct
    db.session.commit()
    return review


def share_leech(learner: User, item: StudyItem) -> StudyItem:
    """Offer a leech to the learner's coaches: it appears on their view of the learner's study stats."""
    if item.learner_id != learner.id or not item.is_leech:
        abort(404)
    if item.leech_shared_at is None:
        item.leech_shared_at = clock.now()
        db.session.commit()
    return item


