"""The weekly roll-ups (ledger.weekly): every write path keeps them equal to what the reps say."""

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import event
from sqlalchemy.orm import Session

from failforward.accounts.models import User
from failforward.calendar import zone_of
from failforward.extensions import db
from failforward.goals import services as goals
from failforward.goals.models import Drill
from failforward.ledger import services as ledger
from failforward.ledger import weekly
from failforward.ledger.models import GoalWeek, Rep
from tests.factories import GOAL, log, make_drill, make_goal

START = datetime(2026, 3, 25, 12, tzinfo=UTC)  # DST changes on both sides of the Atlantic fall in the weeks before


def rows() -> set[tuple]:
    return {(w.goal_id, w.monday, w.value, w.reps, w.minutes) for w in db.session.scalars(db.select(GoalWeek))}


def rebuilt() -> set[tuple]:
    """What the roll-ups would be if computed afresh from every rep (rolled back: only to compare)."""
    kept = rows()
    weekly.rebuild(db.session.connection())
    fresh = rows()
    db.session.rollback()
    assert rows() == kept
    return fresh


@pytest.mark.parametrize("seed", range(6))
def test_the_rollups_follow_every_write(app, clock, make_user, seed):
    """Random reps logged, edited (value, minutes, time across a week's edge, moved to another goal's drill),
    deleted; goals' aggregation and direction changed; the learner's zone changed: after each committed write
    the roll-ups equal a rebuild from the reps."""
    chance = random.Random(seed)
    clock.set(START)
    learner = make_user(timezone=chance.choice(["Europe/Berlin", "America/New_York", "Pacific/Auckland"]))
    drills = [make_drill(make_goal(learner, aggregation=how)) for how in ("median", "best", "mean")]
    for step in range(30):
        reps = list(db.session.scalars(db.select(Rep).where(Rep.learner_id == learner.id)))
        action = chance.choice(["log", "log", "log", "edit", "delete", "rule", "zone"] if reps else ["log"])
        if action == "log":
            log(learner, chance.choice(drills), chance.choice([1.0, 2.5, 4.0, 7.0]),
                at=START - timedelta(days=chance.randrange(0, 20), hours=chance.randrange(0, 24)),
                duration_minutes=chance.choice([None, 5, 20]))
        elif action == "edit":
            rep = chance.choice(reps)
            monday = datetime.combine(date(2026, 3, 23), datetime.min.time(), zone_of(learner))
            ledger.update_rep(rep, chance.choice(drills), {
                "value": chance.choice([3.0, 9.0]), "duration_minutes": chance.choice([None, 15]),
                "performed_at": chance.choice([None, monday - timedelta(microseconds=1), monday.astimezone(UTC)])})
        elif action == "delete":
            ledger.delete_rep(chance.choice(reps))
        elif action == "rule":
            goal = chance.choice(drills).goal
            goals.update_goal(goal, {**GOAL, "aggregation": chance.choice(["median", "best", "mean", "total", "count"]),
                                     "direction": chance.choice(["lower", "higher"])})
        else:
            learner.timezone = chance.choice(["Europe/Berlin", "America/New_York", "Pacific/Auckland", "UTC"])
            db.session.commit()
        assert rows() == rebuilt(), f"after step {step}: {action}"
    assert rows()


def test_a_goals_weeks_show_the_rollup_of_its_reps(app, clock, learner):
    """Three reps in one local week and one in the next: two rows, each the week's median, reps and minutes."""
    clock.set(START)
    drill = make_drill(make_goal(learner))
    for value, day in ((4.0, 16), (6.0, 17), (9.0, 18), (3.0, 23)):
        log(learner, drill, value, at=datetime(2026, 3, day, 9, tzinfo=UTC), duration_minutes=10)
    assert rows() == {(drill.goal_id, date(2026, 3, 16), 6.0, 3, 30), (drill.goal_id, date(2026, 3, 23), 3.0, 1, 10)}
    state = ledger.goal_progress([drill.goal], zone_of(learner))[drill.goal_id]
    assert [(w.start, w.value, w.reps) for w in state.weeks][-2:] == [(date(2026, 3, 16), 6.0, 3),
                                                                      (date(2026, 3, 23), 3.0, 1)]


def test_rebuild_weeks_recomputes_rows_loaded_around_the_session(app, clock, learner, runner):
    """A bulk insert passes by the flush that keeps the roll-ups; `flask rebuild-weeks` puts them right."""
    clock.set(START)
    drill = make_drill(make_goal(learner))
    db.session.execute(db.insert(Rep), [dict(
        learner_id=learner.id, goal_id=drill.goal_id, drill_id=drill.id, performed_at=START - timedelta(days=1),
        value=4.0, duration_minutes=None, outcome="hit", note="", adjustment="", idempotency_key="bulk-1",
        logged_at=START)])
    db.session.commit()
    assert rows() == set()
    result = runner.invoke(args=["rebuild-weeks"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt 1 goal weeks." in result.output
    assert rows() == {(drill.goal_id, date(2026, 3, 23), 4.0, 1, 0)}


def test_two_reps_logged_at_once_on_one_goal_both_count(app, clock, learner):
    """Two devices log a rep on one goal at the same moment. The second waits while the first recomputes the
    goal's week (its row is locked until commit), then counts both reps. Without the lock, on PostgreSQL the
    second refused its rep (both inserted the week's row), or wrote a week without the first rep."""
    clock.set(START)
    drill = make_drill(make_goal(learner))
    learner_id, drill_id, goal_id = learner.id, drill.id, drill.goal_id
    first_wrote, failures = threading.Event(), []

    def hold_the_first(session, _context):
        if threading.current_thread().name == "first" and not first_wrote.is_set():
            first_wrote.set()
            time.sleep(0.5)  # the first's week is written, not yet committed

    def tap(value: float) -> None:
        try:
            with app.app_context():
                g.in_task = True  # begin IMMEDIATE on SQLite, as a POST does
                if threading.current_thread().name == "second":
                    first_wrote.wait(5)
                log(db.session.get(User, learner_id), db.session.get(Drill, drill_id), value, at=START)
        except Exception as error:  # noqa: BLE001 - the assertion below names it
            failures.append(repr(error))

    event.listen(Session, "after_flush_postexec", hold_the_first)
    try:
        taps = [threading.Thread(target=tap, args=(value,), name=name) for name, value in (("first", 2.0),
                                                                                            ("second", 6.0))]
        for thread in taps:
            thread.start()
        for thread in taps:
            thread.join(30)
    finally:
        event.remove(Session, "after_flush_postexec", hold_the_first)
    assert failures == []
    db.session.rollback()  # this thread's snapshot is from before the taps
    assert rows() == {(goal_id, date(2026, 3, 23), 4.0, 2, 0)} == rebuilt()
