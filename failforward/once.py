"""Saving once: the insert under an idempotency key, and the guard against a double-tapped message."""

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError

from failforward.extensions import db

Keyed = TypeVar("Keyed")


class Message(Protocol):
    author_id: int | None
    body: str


Said = TypeVar("Said", bound=Message)


def insert_once(model: type[Keyed], learner_id: int, idempotency_key: str,
                build: Callable[[], Keyed]) -> tuple[Keyed, bool]:
    """The learner's record under this key and False when it exists; else `build()`'s record, added
    and flushed, and True. The caller commits (or not, on False)."""
    def existing() -> Keyed | None:
        return db.session.scalar(db.select(model).where(model.learner_id == learner_id,
                                                        model.idempotency_key == idempotency_key))

    found = existing()
    if found is not None:
        return found, False
    record = build()
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        # Two taps passed the check at once (PostgreSQL runs them side by side) and the unique key let
        # the other in. Only the savepoint is undone: the winner's row, committed, is what to return.
        return existing(), False
    return record, True


def repeated(thread: Sequence[Said], author_id: int, body: str) -> Said | None:
    """The thread's last message when this author has just sent these very words (a double tap)."""
    last = thread[-1] if thread else None
    return last if last is not None and last.author_id == author_id and last.body == body else None


def say_once(thread: Sequence[Said], author_id: int, body: str, build: Callable[[], Said]) -> Said:
    """Add `build()`'s message to the thread and commit, unless this author has just sent these very
    words: then the message already there."""
    if last := repeated(thread, author_id, body):
        return last
    message = build()
    db.session.add(message)
    db.session.commit()
    return message
