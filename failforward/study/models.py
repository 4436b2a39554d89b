"""Decks of study items, each item's FSRS card state, every review, and a learner's study settings."""

import secrets
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db
from failforward.study import rich

# The four FSRS ratings, in the learner's words.
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
AGAIN = 1
# What kind of error a wrong answer was (Huelser & Metcalfe: related errors help most). The stored key
# "near_miss" stays (exports and old reviews carry it); people read "Almost right", because the contract's
# glossary gives "near miss" another meaning.
ERROR_CLASSES = {
    "near_miss": "Almost right",
    "related": "Related error",
    "unrelated": "Unrelated error",
    "unknown": "Did not know",
}
ERROR_HINTS = {
    "near_miss": "a letter or a word off",
    "related": "the right kind of answer, the wrong one",
    "unrelated": "nothing like the answer",
    "unknown": "a blank, or a pure guess",
}
LEECH_FAILURES = 4
GUID_MAX = 100
HIGH_CONFIDENCE = 4


class Deck(db.Model):
    """A named set of study items that belongs to one learner (their coach may add to it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])


def new_guid() -> str:
    """A random id for an item, like Anki's note guid, so a re-import of an export is recognised."""
    return secrets.token_urlsafe(8)


class StudyItem(db.Model):
    """A prompt and its answer, with the FSRS card state that says when it is due again.

    A new item has no `last_review`; FSRS starts it in the Learning state at step 0.
    """

    __table_args__ = (
        # The due queue: reviewed items by due date (new items have no last review and stay out of it).
        Index("ix_study_item_learner_due", "learner_id", "due", sqlite_where=text("last_review IS NOT NULL"),
              postgresql_where=text("last_review IS NOT NULL")),
        Index("ix_study_item_learner_new", "learner_id", "last_review", "id"),
        Index("ix_study_item_learner_first_reviewed", "learner_id", "first_reviewed_at"),
        Index("ix_study_item_deck_id_id", "deck_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deck_id: Mapped[int] = mapped_column(ForeignKey("deck.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(500), default="")
    # Anki's note guid when imported from Anki (a re-import adds nothing), else our own, for exports.
    guid: Mapped[str] = mapped_column(String(GUID_MAX), default=new_guid)
    # Prompt and answer are sanitised HTML (see rich.py), shown as formatting; otherwise plain text.
    html: Mapped[bool] = mapped_column(Boolean, default=False)
    # Long answers are not typed and compared: the learner writes a note, then judges it.
    self_judged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    # FSRS card state (fsrs.Card), stored column by column so the due queue is one indexed query.
    state: Mapped[int] = mapped_column(SmallInteger, default=1)
    step: Mapped[int | None] = mapped_column(SmallInteger, default=0)
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    last_review: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Kept with each rating, so lists and leech flags need no count over the review log.
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_correct: Mapped[bool | None] = mapped_column(Boolean)
    last_correct: Mapped[bool | None] = mapped_column(Boolean)
    # First answered wrongly, then recalled correctly at a later review: an error that became knowledge.
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the learner offered this leech to their coach.
    leech_shared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    deck: Mapped[Deck] = relationship()

    @property
    def is_new(self) -> bool:
        return self.last_review is None

    @property
    def is_leech(self) -> bool:
        return self.failures >= LEECH_FAILURES

    @property
    def answer_text(self) -> str:
        """The answer as typed answers are compared with it: text, even for an HTML item."""
        return rich.plain(self.answer) if self.html else self.answer

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()


class StudyReview(db.Model):
    """One review: the committed answer and confidence (before the reveal), then the FSRS rating.

    `rating` is empty between the answer and the rating; `note` ("why I thought that") is private
    to the learner.
    """

    __table_args__ = (
        Index("ix_study_review_learner_answered", "learner_id", "answered_at"),
        Index("ix_study_review_item_answered", "item_id", "answered_at"),
        Index("ix_study_review_learner_rating", "learner_id", "rating"),  # the one waiting for its rating
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_item.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    given_answer: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[int] = mapped_column(SmallInteger)
    matched: Mapped[bool | None] = mapped_column(Boolean)  # typed answers only
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    error_class: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_duration_ms: Mapped[int | None] = mapped_column(Integer)
    due_after: Mapped[datetime | None] = mapped_column(UtcDateTime)

    item: Mapped[StudyItem] = relationship()


class StudySettings(db.Model):
    """A learner's study settings: new items a day and the retention FSRS aims for."""

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    new_per_day: Mapped[int] = mapped_column(SmallInteger, default=20)
    desired_retention: Mapped[float] = mapped_column(Float, default=0.9)
