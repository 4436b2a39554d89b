"""Saving once: two taps that pass the idempotency check together still save one record, for every
form with a key; a message sent twice in a row is kept once."""

import contextlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert

from failforward.extensions import db
from failforward.ledger import services as ledger
from failforward.ledger.models import Rep
from failforward.lessons import services as lessons
from failforward.lessons.models import Lesson
from failforward.once import repeated
from failforward.reflection import services as reflection
from failforward.reflection.models import Reflection
from tests.factories import count

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@contextlib.contextmanager
def the_other_tap_wins(model, values: dict):
    """Right after this request's check finds no record under the key, the other tap's INSERT lands (on
    PostgreSQL both requests run side by side; the unique key lets only one in)."""
    armed = [True]

    def race(state):
        if armed[0] and state.is_select and "idempotency_key" in str(state.statement):
            armed[0] = False
            found = state.invoke_statement().freeze()
            state.session.execute(insert(model).values(**values))
            return found()
        return None

    event.listen(db.session, "do_orm_execute", race, retval=True)
    try:
        yield
    finally:
        event.remove(db.session, "do_orm_execute", race)


def test_a_rep_tapped_twice_at_once_is_saved_once(app, clock, learner, drill):
    clock.set(NOW)
    other = {"learner_id": learner.id, "goal_id": drill.goal_id, "drill_id": drill.id, "performed_at": NOW,
             "value": 4.0, "outcome": "hit", "note": "", "adjustment": "", "idempotency_key": "tap-race-0001",
             "logged_at": NOW}
    with the_other_tap_wins(Rep, other):
        rep, created = ledger.log_rep(learner, drill, {"value": 4.0}, "tap-race-0001")
    assert not created and rep.value == 4.0
    assert count(Rep) == 1


def test_a_lesson_tapped_twice_at_once_is_saved_once(app, clock, learner):
    clock.set(NOW)
    fields = {"happened_on": NOW.date(), "context": "", "what_failed": "Missed the page", "what_tried": "",
              "try_next": "", "check_on": None, "shared": False}
    other = {**fields, "learner_id": learner.id, "check_on": NOW.date(), "idempotency_key": "tap-race-0002",
             "tags_text": "", "status": "open", "created_at": NOW}
    with the_other_tap_wins(Lesson, other):
        lesson, created = lessons.create_lesson(learner, fields, {}, None, "tap-race-0002")
    assert not created and lesson.what_failed == "Missed the page"
    assert count(Lesson) == 1


def test_a_setback_tapped_twice_at_once_is_saved_once(app, clock, learner):
    clock.set(NOW)
    fields = {"situation": "plateau", "feeling": "numb", "intensity_before": 6, "what_happened": "Stuck again"}
    other = {**fields, "learner_id": learner.id, "feeling_own": "", "idempotency_key": "tap-race-0003",
             "created_at": NOW}
    with the_other_tap_wins(Reflection, other):
        reflection.start_reflection(learner, fields, "tap-race-0003")
    assert count(Reflection) == 1


@pytest.mark.parametrize(("author", "body", "kept"), [(1, "Slow down.", True), (2, "Slow down.", False),
                                                       (1, "Slow down!", False)])
def test_only_the_same_words_from_the_same_author_are_a_double_tap(author, body, kept):
    class Said:
        author_id, body = 1, "Slow down."

    thread = [Said()]
    assert (repeated(thread, author, body) is thread[-1]) is kept
    assert repeated([], 1, "Slow down.") is None
