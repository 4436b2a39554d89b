"""What each study page shows, read in one call per view: the study home, a deck, the session's card, the stats."""

from dataclasses import dataclass
from datetime import datetime

from flask import abort

from failforward.accounts.models import User
from failforward.study import answering, services
from failforward.study import stats as figures
from failforward.study.models import Deck, StudyItem, StudyReview, StudySettings


@dataclass(frozen=True)
class StudyHome:
    """A learner's decks with their counts, their settings, and (for themselves) what is due."""

    learner: User
    mine: bool
    decks: list[tuple[Deck, int, int, int]]
    queue: answering.Queue | None
    settings: StudySettings


def study_home(viewer: User, learner: User) -> StudyHome:
    """The study home of `learner` (already checked by the access rule) as `viewer` sees it."""
    mine = learner.id == viewer.id
    return StudyHome(learner=learner, mine=mine, decks=services.decks_of(learner.id),
                     queue=answering.next_in_queue(learner) if mine else None,
                     settings=services.settings_of(learner.id))


@dataclass(frozen=True)
class DeckPage:
    """One page of a deck's items, with how likely each is to be recalled today."""

    deck: Deck
    items: list[StudyItem]
    more: bool
    page: int
    recall: dict[int, float | None]
    mine: bool


def deck_page(viewer: User, deck_id: int, page: int) -> DeckPage:
    """A deck the viewer may see, a page of its items at a time."""
    deck = services.deck_or_404(viewer, deck_id)
    items, more = services.deck_items(deck, page)
    scheduler = answering.scheduler_for(deck.learner_id)
    return DeckPage(deck=deck, items=items, more=more, page=page, mine=deck.learner_id == viewer.id,
                    recall={item.id: answering.retrievability(item, scheduler) for item in items})


def own_deck_or_none(learner: User, deck_id: int | None) -> Deck | None:
    """The deck a session is narrowed to, when one is chosen: only the learner's own (nobody studies
    for someone else), a 404 otherwise."""
    if not deck_id:
        return None
    deck = services.deck_or_404(learner, deck_id)
    if deck.learner_id != learner.id:
        abort(404)
    return deck


@dataclass(frozen=True)
class SessionCard:
    """The session's card: the next item to answer, or the reveal of the answer just given."""

    deck: Deck | None
    queue: answering.Queue
    next_due: datetime | None  # when nothing is due now: when the next item is
    review: StudyReview | None  # the answer being revealed, waiting for its rating
    comparison: answering.Comparison | None  # the revealed answer beside the right one


def session_card(learner: User, deck_id: int | None, reveal: StudyReview | None = None) -> SessionCard:
    """Where the learner's session stands; `reveal` shows that review's reveal instead of the queue's."""
    deck = own_deck_or_none(learner, deck_id)
    queue = answering.next_in_queue(learner, deck_id)
    review = reveal or queue.pending
    comparison = answering.compare(review.given_answer, review.item.answer_text) if review else None
    return SessionCard(deck=deck, queue=queue, review=review, comparison=comparison,
                       next_due=None if queue.item or queue.pending else answering.next_due_at(learner, deck_id))


def answering_card(learner: User, item: StudyItem, deck_id: int | None) -> SessionCard:
    """The card again with `item` still to answer (its answer was refused), whatever the queue says now."""
    queue = answering.next_in_queue(learner, deck_id)
    return SessionCard(deck=own_deck_or_none(learner, deck_id), next_due=None, review=None, comparison=None,
                       queue=answering.Queue(pending=None, item=item, due=queue.due, new_left=queue.new_left))


@dataclass(frozen=True)
class StatsPage:
    """What a learner's errors became, with the charts' bars and the decks to narrow it to."""

    learner: User
    deck: Deck | None
    stats: figures.Stats
    mine: bool
    rate_bars: list[figures.Bar]
    class_bars: list[figures.Bar]
    decks: list[tuple[Deck, int, int, int]]


def stats_page(viewer: User, learner: User, deck_id: int | None) -> StatsPage:
    """The stats of `learner` (already checked by the access rule), for all decks or one of theirs."""
    deck = services.deck_or_404(viewer, deck_id) if deck_id else None
    if deck and deck.learner_id != learner.id:
        abort(404)
    found = figures.stats(learner, deck.id if deck else None)
    return StatsPage(learner=learner, deck=deck, stats=found, mine=learner.id == viewer.id,
                     rate_bars=figures.error_rate_chart(found.weeks), class_bars=figures.classes_chart(found.weeks),
                     decks=services.decks_of(learner.id))
