"""Decks and items, CSV/TSV import and export, the due queue, answer-then-rate with FSRS, and the stats."""

import csv
import difflib
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort
from fsrs import Card, Rating, Scheduler, State

from failforward import clock
from failforward.accounts.models import User
from failforward.coaching.services import learners_record_or_404, own_record_or_404
from failforward.csvsafe import neutralise, restore
from failforward.extensions import db
from failforward.study.models import (
    AGAIN,
    ERROR_CLASSES,
    HIGH_CONFIDENCE,
    LEECH_FAILURES,
    Deck,
    StudyItem,
    StudyReview,
    StudySettings,
)

PROMPT_MAX, ANSWER_MAX, EXPLANATION_MAX, TAGS_MAX = 2000, 5000, 5000, 500
IMPORT_MAX_LINES = 5000
ITEMS_PER_PAGE = 50
STATS_WEEKS = 12
DEFAULT_NEW_PER_DAY, DEFAULT_RETENTION = 20, 0.9


class StudyError(Exception):
    """A refusal to show beside the form it concerns."""


# --- access -------------------------------------------------------------------------------------

def deck_or_404(viewer: User, deck_id: int) -> Deck:
    """A deck the viewer may see: its learner's, or an active coach's of that learner."""
    return learners_record_or_404(viewer, Deck, deck_id)


def item_or_404(viewer: User, item_id: int) -> StudyItem:
    """An item the viewer may see (the learner or an active coach)."""
    return learners_record_or_404(viewer, StudyItem, item_id)


def own_item_or_404(viewer: User, item_id: int) -> StudyItem:
    """An item of the viewer's own, to study: nobody answers for someone else."""
    return own_record_or_404(viewer, StudyItem, item_id)


def own_review_or_404(viewer: User, review_id: int) -> StudyReview:
    """A review of the viewer's own (the answers and private notes are theirs alone)."""
    return own_record_or_404(viewer, StudyReview, review_id)


# --- settings -----------------------------------------------------------------------------------

def settings_of(learner_id: int) -> StudySettings:
    """The learner's study settings; the defaults (not saved) until they change them."""
    found = db.session.get(StudySettings, learner_id)
    return found or StudySettings(user_id=learner_id, new_per_day=DEFAULT_NEW_PER_DAY,
                                  desired_retention=DEFAULT_RETENTION)


def update_settings(learner: User, new_per_day: int, desired_retention: float) -> StudySettings:
    """Save how many new items a day and the retention FSRS aims for."""
    settings = db.session.get(StudySettings, learner.id)
    if settings is None:
        settings = StudySettings(user_id=learner.id)
        db.session.add(settings)
    settings.new_per_day, settings.desired_retention = new_per_day, desired_retention
    db.session.commit()
    return settings


# --- decks and items ----------------------------------------------------------------------------

def decks_of(learner_id: int) -> list[tuple[Deck, int, int, int]]:
    """The learner's decks with item, due and leech counts, from one query."""
    now = clock.now()
    rows = db.session.execute(
        db.select(Deck, db.func.count(StudyItem.id),
                  db.func.count(StudyItem.id).filter(StudyItem.last_review.is_not(None), StudyItem.due <= now),
                  db.func.count(StudyItem.id).filter(StudyItem.failures >= LEECH_FAILURES))
        .outerjoin(StudyItem, StudyItem.deck_id == Deck.id)
        .where(Deck.learner_id == learner_id).group_by(Deck.id).order_by(Deck.name, Deck.id))
    return [tuple(row) for row in rows]


def create_deck(author: User, learner: User, name: str, description: str) -> Deck:
    """A new deck for the learner (made by them, or by their coach)."""
    deck = Deck(learner_id=learner.id, created_by_id=author.id, name=name, description=description)
    db.session.add(deck)
    db.session.commit()
    return deck


def deck_items(deck: Deck, page: int) -> tuple[list[StudyItem], bool]:
    """One page of a deck's items, oldest first, and whether there are more."""
    rows = list(db.session.scalars(
        db.select(StudyItem).where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)
        .offset((page - 1) * ITEMS_PER_PAGE).limit(ITEMS_PER_PAGE + 1)))
    return rows[:ITEMS_PER_PAGE], len(rows) > ITEMS_PER_PAGE


def _clean_tags(tags: str) -> str:
    return " ".join(dict.fromkeys(tags.replace(",", " ").split()))


def create_item(author: User, deck: Deck, fields: dict) -> StudyItem:
    """Add an item to a deck; it starts new (due at once, counted against the daily new limit)."""
    item = StudyItem(deck_id=deck.id, learner_id=deck.learner_id, created_by_id=author.id, prompt=fields["prompt"],
                     answer=fields["answer"], explanation=fields.get("explanation") or "",
                     tags=_clean_tags(fields.get("tags") or ""), self_judged=bool(fields.get("self_judged")),
                     due=clock.now())
    db.session.add(item)
    db.session.commit()
    return item


def update_item(item: StudyItem, fields: dict) -> StudyItem:
    """Change an item's text; its schedule and history stay."""
    item.prompt, item.answer = fields["prompt"], fields["answer"]
    item.explanation, item.tags = fields.get("explanation") or "", _clean_tags(fields.get("tags") or "")
    item.self_judged = bool(fields.get("self_judged"))
    db.session.commit()
    return item


# --- import and export --------------------------------------------------------------------------

@dataclass
class ImportLine:
    """One line of an import: either an item to add, or the reason it cannot be."""

    number: int
    text: str
    prompt: str = ""
    answer: str = ""
    tags: str = ""
    problem: str | None = None


@dataclass
class ImportPreview:
    """What an import would do, line by line."""

    good: list[ImportLine] = field(default_factory=list)
    bad: list[ImportLine] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.good) + len(self.bad)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 and ch != "\t" for ch in text)


def _shown(text: str, limit: int = 120) -> str:
    printable = "".join(ch if ch == "\t" or ord(ch) >= 32 else "\ufffd" for ch in text)
    return printable if len(printable) <= limit else printable[:limit] + "…"


def parse_import(data: bytes | str, deck: Deck | None = None) -> ImportPreview:
    """Read CSV or Anki's tab-separated export (front, back, tags) line by line: each line is either
    an item to add or reported with the reason. Lines are split on newlines; a quoted field may not
    span lines (Anki writes one note per line)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    existing = set()
    if deck is not None and deck.id is not None:
        existing = {(p, a) for p, a in db.session.execute(
            db.select(StudyItem.prompt, StudyItem.answer).where(StudyItem.deck_id == deck.id))}
    preview, seen, delimiter, tags_column = ImportPreview(), {}, None, 3
    for number, chunk in enumerate(chunks, start=1):
        line = ImportLine(number=number, text="")
        try:
            text = chunk.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            line.text, line.problem = _shown(chunk.decode("utf-8", "replace")), "This line is not UTF-8 text."
            preview.bad.append(line)
            continue
        line.text = _shown(text)
        if number > IMPORT_MAX_LINES:
            line.problem = f"Over the limit of {IMPORT_MAX_LINES:,} lines per import: import the rest separately."
        elif not text.strip():
            line.problem = "Empty line: skipped."
        elif text.startswith("#"):
            directive = text[1:].strip().lower()
            if directive.startswith("separator:"):
                delimiter = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}.get(
                    directive.split(":", 1)[1].strip(), delimiter)
            elif directive.startswith("tags column:") and directive.split(":", 1)[1].strip().isdigit():
                tags_column = int(directive.split(":", 1)[1].strip())
            line.problem = "An Anki header or comment line: read as a setting, not an item."
        elif "\ufffd" in text:
            line.problem = "This line is not UTF-8 text."
        elif _has_control(text):
            line.problem = "This line has invisible control characters."
        else:
            if delimiter is None:
                delimiter = "\t" if "\t" in text else ","
            _read_fields(line, text, delimiter, tags_column)
            if line.problem is None:
                key = (line.prompt, line.answer)
                if key in existing:
                    line.problem = "Already in this deck: skipped."
                elif key in seen:
                    line.problem = f"The same as line {seen[key]}: skipped."
                else:
                    seen[key] = number
        (preview.bad if line.problem else preview.good).append(line)
    return preview


def _read_fields(line: ImportLine, text: str, delimiter: str, tags_column: int) -> None:
    try:
        fields = next(csv.reader([text], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        line.problem = "Could not read the columns (a quote is not closed?)."
        return
    fields = [restore(f.strip()) for f in fields]
    if len(fields) < 2:
        line.problem = "Needs at least two columns: the prompt and the answer."
        return
    if len(fields) > max(3, tags_column):
        line.problem = f"Expected 2 or 3 columns (prompt, answer, tags), found {len(fields)}."
        return
    line.prompt, line.answer = fields[0], fields[1]
    line.tags = _clean_tags(fields[tags_column - 1]) if len(fields) >= tags_column >= 3 else ""
    if not line.prompt or not line.answer:
        line.problem = "The prompt or the answer is empty."
    elif len(line.prompt) > PROMPT_MAX:
        line.problem = f"The prompt is longer than {PROMPT_MAX:,} characters."
    elif len(line.answer) > ANSWER_MAX:
        line.problem = f"The answer is longer than {ANSWER_MAX:,} characters."
    elif len(line.tags) > TAGS_MAX:
        line.problem = f"The tags are longer than {TAGS_MAX} characters."


def decode_upload(data: bytes) -> str:
    """An uploaded file as text; bytes that are not UTF-8 become U+FFFD, and their lines are reported."""
    return data.decode("utf-8", "replace")


def import_items(author: User, deck: Deck, data: bytes | str) -> ImportPreview:
    """Add the good lines of an import to the deck in one transaction; lines already there are skipped,
    so confirming twice adds nothing more."""
    preview = parse_import(data, deck)
    now = clock.now()
    db.session.add_all(
        StudyItem(deck_id=deck.id, learner_id=deck.learner_id, created_by_id=author.id, prompt=line.prompt,
                  answer=line.answer, tags=line.tags, self_judged=len(line.answer) > 80, due=now)
        for line in preview.good)
    db.session.commit()
    return preview


def export_deck(deck: Deck, tab_separated: bool) -> str:
    """The deck as CSV, or as tab-separated text with Anki's header lines (front, back, tags)."""
    out = io.StringIO()
    if tab_separated:
        out.write("#separator:tab\n#html:false\n#tags column:3\n")
    writer = csv.writer(out, delimiter="\t" if tab_separated else ",", lineterminator="\n")
    for prompt, answer, tags in db.session.execute(
            db.select(StudyItem.prompt, StudyItem.answer, StudyItem.tags)
            .where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)):
        # One item per line: Anki reads newlines inside a field as a new note.
        writer.writerow([neutralise(prompt.replace("\r", "").replace("\n", " ")),
                         neutralise(answer.replace("\r", "").replace("\n", " ")), neutralise(tags)])
    return out.getvalue()


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


def compare(given: str, expected: str) -> tuple[list[Piece], list[Piece]]:
    """The learner's answer and the right one, each cut into same and different runs (difflib),
    ignoring case and accents so that only real differences are marked."""
    def keys(text: str) -> list[str]:
        return [" " if ch.isspace() else _fold(ch) for ch in text]

    matcher = difflib.SequenceMatcher(None, keys(given), keys(expected), autojunk=False)
    left, right = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            left.append(Piece(given[i1:i2], tag != "equal"))
        if j2 > j1:
            right.append(Piece(expected[j1:j2], tag != "equal"))
    return left, right


# --- the study session --------------------------------------------------------------------------

def _local_day_start(learner: User) -> datetime:
    zone = ZoneInfo(learner.timezone)
    today = clock.now().astimezone(zone).date()
    return datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Queue:
    """Where a session stands: the next item (or a review waiting for its rating) and what is left."""

    pending: StudyReview | None
    item: StudyItem | None
    due: int
    new_left: int


def _scoped(query, deck_id: int | None):
    return query.where(StudyItem.deck_id == deck_id) if deck_id else query


def next_in_queue(learner: User, deck_id: int | None = None) -> Queue:
    """Due items first (oldest due first), then new ones up to the daily limit; an answered item
    waiting for its rating comes back before anything else."""
    pending = db.session.scalar(
        db.select(StudyReview).where(StudyReview.learner_id == learner.id, StudyReview.rating.is_(None))
        .order_by(StudyReview.id.desc()).limit(1).options(db.joinedload(StudyReview.item)))
    now = clock.now()
    mine = db.select(StudyItem).where(StudyItem.learner_id == learner.id)
    due_query = _scoped(mine.where(StudyItem.last_review.is_not(None), StudyItem.due <= now), deck_id)
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
                _scoped(mine.where(StudyItem.last_review.is_(None)), deck_id).order_by(StudyItem.id).limit(1))
    if new_left:
        new_left = min(new_left, db.session.scalar(_scoped(
            mine.where(StudyItem.last_review.is_(None)), deck_id).with_only_columns(db.func.count(StudyItem.id))))
    return Queue(pending=pending, item=item, due=due, new_left=new_left)


def next_due_at(learner: User, deck_id: int | None = None) -> datetime | None:
    """When the next reviewed item falls due (for "come back at ...")."""
    return db.session.scalar(
        _scoped(db.select(db.func.min(StudyItem.due))
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
                         matched=None if item.self_judged else answers_match(given, item.answer),
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


# --- stats --------------------------------------------------------------------------------------

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
    items = _scoped(db.select().select_from(StudyItem).where(StudyItem.learner_id == learner.id), deck_id)
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
    rated = _scoped(rated, deck_id)
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
        _scoped(db.select(StudyItem).where(StudyItem.learner_id == learner.id,
                                           StudyItem.failures >= LEECH_FAILURES), deck_id)
        .order_by(StudyItem.failures.desc(), StudyItem.id).limit(50).options(db.joinedload(StudyItem.deck))))
    return Stats(reviews=totals[0], wrong=totals[1], first_wrong=counts[0], first_wrong_recovered=counts[1],
                 first_right=counts[2], first_right_still_right=counts[3], high_confidence_errors=totals[2],
                 high_confidence_corrected=totals[3], low_confidence_errors=totals[4],
                 low_confidence_corrected=totals[5], weeks=_weeks(rated, learner), leeches=leeches)


def _weeks(rated, learner: User) -> list[Week]:
    """The last weeks (Monday to Sunday, in UTC days), from reviews grouped by day and error class in SQL."""
    today = clock.now().date()
    first = today - timedelta(days=today.weekday(), weeks=STATS_WEEKS - 1)
    day = db.func.date(StudyReview.reviewed_at)
    rows = db.session.execute(
        rated.where(StudyReview.reviewed_at >= datetime.combine(first, datetime.min.time(), tzinfo=UTC))
        .add_columns(day, StudyReview.error_class, db.func.count(StudyReview.id),
                     db.func.count(StudyReview.id).filter(StudyReview.correct.is_(False)))
        .group_by(day, StudyReview.error_class))
    buckets = {first + timedelta(weeks=i): [0, 0, dict.fromkeys(ERROR_CLASSES, 0)] for i in range(STATS_WEEKS)}
    for when, error_class, reviews, wrong in rows:
        when = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        bucket = buckets[when - timedelta(days=when.weekday())]
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
