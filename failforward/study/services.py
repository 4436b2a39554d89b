"""Decks and items, study settings, and who may see them. Importing and exporting are in exchange.py,
the answer-first session in answering.py, the figures in stats.py."""



from failforward import clock
from failforward.accounts.models import User
from failforward.coaching.access import learners_record_or_404, own_record_or_404
from failforward.extensions import db
from failforward.study.models import (
    LEECH_FAILURES,
    Deck,
    StudyItem,
    StudyReview,
    StudySettings,
)

PROMPT_MAX, ANSWER_MAX, EXPLANATION_MAX, TAGS_MAX = 2000, 5000, 5000, 500
ITEMS_PER_PAGE = 50
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


def deck_named(learner: User, name: str) -> Deck | None:
    """The learner's first deck of this name (names need not be unique), if any."""
    return db.session.scalar(db.select(Deck).where(Deck.learner_id == learner.id, Deck.name == name)
                             .order_by(Deck.id).limit(1))


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


def clean_tags(tags: str) -> str:
    return " ".join(dict.fromkeys(tags.replace(",", " ").split()))


def create_item(author: User, deck: Deck, fields: dict) -> StudyItem:
    """Add an item to a deck; it starts new (due at once, counted against the daily new limit)."""
    item = StudyItem(deck_id=deck.id, learner_id=deck.learner_id, created_by_id=author.id, prompt=fields["prompt"],
                     answer=fields["answer"], explanation=fields.get("explanation") or "",
                     tags=clean_tags(fields.get("tags") or ""), self_judged=bool(fields.get("self_judged")),
                     due=clock.now())
    db.session.add(item)
    db.session.commit()
    return item


def update_item(item: StudyItem, fields: dict) -> StudyItem:
    """Change an item's text; its schedule and history stay."""
    item.prompt, item.answer = fields["prompt"], fields["answer"]
    item.explanation, item.tags = fields.get("explanation") or "", clean_tags(fields.get("tags") or "")
    item.self_judged = bool(fields.get("self_judged"))
    db.session.commit()
    return item


def scoped_to_deck(query, deck_id: int | None):
    """The query narrowed to one deck's items, when a deck is chosen."""
    return query.where(StudyItem.deck_id == deck_id) if deck_id else query
