"""Ledger rules: idempotent logging, the automatic outcome, the 24-hour window, weeks, and reaching goals."""

from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug.exceptions import Forbidden

from failforward.calendar import zone_of
from failforward.extensions import db
from failforward.goals import services as goals
from failforward.ledger import services
from failforward.ledger.models import Rep
from tests.factories import count, log, make_drill, make_goal

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def goal(learner, clock):
    clock.set(MONDAY)
    return make_goal(learner)  # lower is better: baseline 10, target 5, median over 2 weeks


@pytest.fixture
def drill(goal):
    return make_drill(goal)


# --- logging ------------------------------------------------------------------------------------

def test_the_same_idempotency_key_saves_one_rep(app, learner, drill):
    first, created = services.log_rep(learner, drill, {"value": 4.0}, "tap-0123456789")
    again, created_again = services.log_rep(learner, drill, {"value": 4.0}, "tap-0123456789")
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert count(Rep) == 1


def test_idempotency_keys_belong_to_one_learner(app, make_user, learner, drill):
    other = make_user()
    other_drill = make_drill(make_goal(other))
    services.log_rep(learner, drill, {"value": 4.0}, "same-key-0001")
    _rep, created = services.log_rep(other, other_drill, {"value": 4.0}, "same-key-0001")
    assert created
    assert count(Rep) == 2


def test_a_rep_defaults_to_now_and_keeps_its_note(app, clock, learner, drill):
    clock.set(MONDAY + timedelta(hours=3))
    rep = log(learner, drill, 6.0, duration_minutes=12, note="Paged at 3 a.m. 😴 שלום", adjustment="Coffee first")
    assert (rep.performed_at, rep.logged_at) == (MONDAY + timedelta(hours=3), MONDAY + timedelta(hours=3))
    assert (rep.learner_id, rep.goal_id, rep.drill_id) == (learner.id, drill.goal_id, drill.id)
    assert (rep.duration_minutes, rep.note, rep.adjustment) == (12, "Paged at 3 a.m. 😴 שלום", "Coffee first")


@pytest.mark.parametrize(("direction", "baseline", "target", "value", "outcome"), [
    ("lower", 10, 5, 4, "hit"), ("lower", 10, 5, 5, "hit"), ("lower", 10, 5, 7.5, "partial"),
    ("lower", 10, 5, 7.6, "miss"), ("lower", 10, 5, 10, "miss"), ("lower", 10, 5, 14, "miss"),
    ("higher", 40, 60, 61, "hit"), ("higher", 40, 60, 60, "hit"), ("higher", 40, 60, 50, "partial"),
    ("higher", 40, 60, 49.9, "miss"), ("higher", 40, 60, 40, "miss"), ("higher", 40, 60, 12, "miss"),
    # Issue 11: with a baseline of 10 and a target of 3, a 9-minute rep was "partial", like 3.5.
    ("lower", 10, 3, 9, "miss"), ("lower", 10, 3, 6.5, "partial"), ("lower", 10, 3, 3.5, "partial"),
])
def test_the_outcome_is_worked_out_from_target_and_baseline(app, learner, direction, baseline, target, value,
                                                            outcome):
    drill = make_drill(make_goal(learner, direction=direction, baseline=baseline, target=target))
    assert log(learner, drill, value).outcome == outcome


@pytest.mark.parametrize(("share", "value", "outcome"), [(25, 8.25, "partial"), (25, 8.3, "miss"),
                                                        (90, 3.7, "partial"), (90, 3.8, "miss")])
def test_the_share_that_counts_as_partial_is_the_goals_own(app, learner, share, value, outcome):
    drill = make_drill(make_goal(learner, baseline=10, target=3, partial_from_pct=share))
    assert log(learner, drill, value).outcome == outcome


def test_an_outcome_chosen_by_hand_is_kept(app, learner, drill):
    assert log(learner, drill, 4.0, outcome="partial").outcome == "partial"


# --- the 24-hour window -------------------------------------------------------------------------

def test_a_rep_can_be_changed_for_24_hours_then_it_is_the_record(app, clock, learner, goal, drill):
    rep = log(learner, drill, 9.0)
    other_goal = make_goal(learner, title="Shorter notes", direction="higher", baseline=1, target=3)
    other_drill = make_drill(other_goal, name="Note drill")

    clock.set(MONDAY + timedelta(hours=23, minutes=59))
    assert rep.editable
    services.update_rep(rep, other_drill, {"value": 3.0, "performed_at": None, "note": "moved"})
    assert (rep.drill_id, rep.goal_id, rep.value, rep.outcome, rep.note) == (
        other_drill.id, other_goal.id, 3.0, "hit", "moved")
    assert rep.performed_at == MONDAY  # an empty time keeps the old one

    clock.set(MONDAY + timedelta(hours=24))
    assert not rep.editable
    with pytest.raises(Forbidden):
        services.update_rep(rep, drill, {"value": 1.0})
    with pytest.raises(Forbidden):
        services.delete_rep(rep)
    db.session.refresh(rep)
    assert (rep.value, rep.drill_id) == (3.0, other_drill.id)


def test_the_window_runs_from_logging_not_from_the_practice(app, clock, learner, drill):
    rep = log(learner, drill, 4.0, at=MONDAY - timedelta(days=3))
    clock.set(MONDAY + timedelta(hours=20))
    assert rep.editable
    services.delete_rep(rep)
    assert count(Rep) == 0


# --- reaching a goal ----------------------------------------------------------------------------

def test_a_goal_is_reached_when_its_rule_holds(app, clock, learner, goal, drill):
    log(learner, drill, 4.0)  # week 1 (from Monday 2 March)
    clock.set(MONDAY + timedelta(days=7))
    log(learner, drill, 3.0)  # week 2
    assert goal.status == "active"  # week 2 is still in progress
    assert services.goal_progress([goal], zone_of(learner))[goal.id].held == 1

    clock.set(MONDAY + timedelta(days=14))
    log(learner, drill, 9.0)  # week 3 begins: weeks 1 and 2 held
    assert (goal.status, goal.reached_on) == ("reached", date(2026, 3, 15))


def test_the_hourly_refresh_marks_a_goal_reached_once_the_week_ends(app, clock, learner, goal, drill):
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=7))
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=13, hours=14))  # Sunday: week 2 not over yet
    assert services.refresh_all_goals() == 0
    clock.set(MONDAY + timedelta(days=14))
    assert services.refresh_all_goals() == 1
    assert (goal.status, goal.reached_on) == ("reached", date(2026, 3, 15))
    assert services.refresh_all_goals() == 0


def test_a_refresh_that_comes_late_still_marks_the_goal_reached(app, clock, learner, goal, drill):
    """The rule held when week 2 ended; a refresh that missed week 3 (a stopped worker) must not lose that."""
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=7))
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=22))  # week 4: week 3 went by without reps and without a refresh
    assert services.refresh_all_goals() == 1
    assert (goal.status, goal.reached_on) == ("reached", date(2026, 3, 15))


def test_a_paused_goal_is_not_marked_reached(app, clock, learner, goal, drill):
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=7))
    log(learner, drill, 4.0)
    goals.set_status(goal, "paused")
    clock.set(MONDAY + timedelta(days=14))
    assert services.refresh_all_goals() == 0
    assert goal.status == "paused"


def test_weeks_follow_the_learners_time_zone(app, clock, make_user):
    learner = make_user(timezone="Pacific/Honolulu")
    clock.set(MONDAY)
    goal = make_goal(learner, weeks_required=1)
    drill = make_drill(goal)
    sunday_night = datetime(2026, 3, 8, 23, 30, tzinfo=zone_of(learner))  # Monday 09:30 UTC
    clock.set(sunday_night.astimezone(UTC) + timedelta(minutes=5))
    log(learner, drill, 4.0, at=sunday_night.astimezone(UTC))
    assert goal.status == "active"  # still Sunday in Honolulu: the week is in progress
    clock.set(datetime(2026, 3, 9, 0, 1, tzinfo=zone_of(learner)).astimezone(UTC))
    assert services.refresh_all_goals() == 1
    assert goal.reached_on == date(2026, 3, 8)


def test_the_database_buckets_reps_at_a_weeks_last_microsecond_and_first_second(app, clock, make_user):
    """The weeks are counted from seconds the database works out (epoch_seconds), not from datetimes."""
    learner = make_user(timezone="America/New_York")
    clock.set(MONDAY)
    drill = make_drill(make_goal(learner, weeks_required=1))
    next_monday = datetime(2026, 3, 9, tzinfo=zone_of(learner))  # a Monday: the first after the DST change
    log(learner, drill, 4.0, at=(next_monday - timedelta(microseconds=1)).astimezone(UTC))
    log(learner, drill, 6.0, at=next_monday.astimezone(UTC))
    log(learner, drill, 8.0, at=(next_monday + timedelta(seconds=1, microseconds=999_999)).astimezone(UTC))
    clock.set(next_monday.astimezone(UTC) + timedelta(days=1))
    state = services.goal_progress([drill.goal], zone_of(learner))[drill.goal_id]
    assert [(w.start, w.reps, w.value) for w in state.weeks] == [(date(2026, 3, 2), 1, 4.0),
                                                                 (date(2026, 3, 9), 2, 7.0)]


def test_progress_starts_in_the_week_the_goal_was_set(app, clock, learner, goal, drill):
    clock.set(MONDAY + timedelta(days=15))
    state = services.goal_progress([goal], zone_of(learner))[goal.id]
    assert [w.start for w in state.weeks] == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert state.held == 0


def test_a_rep_practised_before_the_goal_was_set_shows_in_its_weeks(app, clock, learner, goal, drill):
    """Issue 11: the demo's three weeks of reps showed as one dot, while they stood under "Latest reps"."""
    log(learner, drill, 4.0, at=MONDAY - timedelta(days=20))  # Tuesday 10 February, before the goal existed
    clock.set(MONDAY + timedelta(days=15))
    state = services.goal_progress([goal], zone_of(learner))[goal.id]
    assert [w.start for w in state.weeks] == [date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23),
                                              date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert [w.value for w in state.weeks][:2] == [4.0, None]


# --- the ledger ---------------------------------------------------------------------------------

def test_the_ledger_shows_four_local_weeks_per_page_and_whether_older_ones_exist(app, clock, learner, goal, drill):
    for day in (0, 1, 9, 30):
        log(learner, drill, 4.0, at=MONDAY + timedelta(days=day), duration_minutes=10)
    clock.set(MONDAY + timedelta(days=30, hours=1))  # Wednesday 1 April, week 5

    page = services.ledger_page(learner, 1)
    weeks, older = page.weeks, page.older
    assert [w.start for w in weeks] == [date(2026, 3, 30), date(2026, 3, 23), date(2026, 3, 16), date(2026, 3, 9)]
    assert [(len(w.reps), w.minutes) for w in weeks] == [(1, 10), (0, 0), (0, 0), (1, 10)]
    assert older

    page = services.ledger_page(learner, 2)
    weeks, older = page.weeks, page.older
    assert [(w.start, len(w.reps), w.minutes) for w in weeks][-1] == (date(2026, 2, 9), 0, 0)
    assert [w.minutes for w in weeks][0] == 20
    assert not older


def test_the_ledger_filters_by_goal_and_drill(app, learner, goal, drill):
    second_drill = make_drill(goal, name="Second")
    other_drill = make_drill(make_goal(learner, title="Other"), name="Other drill")
    for d in (drill, second_drill, other_drill):
        log(learner, d, 4.0)
    names = lambda weeks: sorted(rep.drill.name for w in weeks for rep in w.reps)  # noqa: E731
    assert names(services.ledger_page(learner, 1).weeks) == ["Other drill", "Pager drill", "Second"]
    assert names(services.ledger_page(learner, 1, goal_id=goal.id).weeks) == ["Pager drill", "Second"]
    assert names(services.ledger_page(learner, 1, drill_id=second_drill.id).weeks) == ["Second"]


def test_todays_reps_are_the_learners_local_today(app, clock, make_user):
    learner = make_user(timezone="Pacific/Tongatapu")
    clock.set(MONDAY)
    drill = make_drill(make_goal(learner))
    yesterday = log(learner, drill, 4.0, at=datetime(2026, 3, 1, 10, 59, tzinfo=UTC))  # Sunday 23:59 in Tonga
    today = log(learner, drill, 4.0, at=datetime(2026, 3, 1, 11, 1, tzinfo=UTC))  # Monday 00:01 in Tonga
    assert services.todays_reps(learner) == [today]
    assert yesterday not in services.todays_reps(learner)


def test_the_last_used_drill_is_the_one_logged_most_recently(app, clock, learner, goal, drill):
    second = make_drill(goal, name="Second")
    assert services.last_used_drill_id(learner) is None
    log(learner, second, 4.0)
    clock.set(MONDAY + timedelta(minutes=1))
    log(learner, drill, 4.0, at=MONDAY - timedelta(days=1))  # backdated, but logged last
    assert services.last_used_drill_id(learner) == drill.id


@pytest.mark.parametrize("weeks_required", [1, 3, 6])
def test_a_status_line_reads_fewer_weeks_and_says_the_same(app, clock, make_user, weeks_required):
    learner = make_user()
    clock.set(MONDAY)
    goal = make_goal(learner, weeks_required=weeks_required, aggregation="median")
    drill = make_drill(goal)
    for week in range(14):  # held, except week 9 (a miss), then held again up to this week
        log(learner, drill, 9.0 if week == 9 else 4.0, at=MONDAY + timedelta(weeks=week, hours=1))
    clock.set(MONDAY + timedelta(weeks=13, days=2))
    zone = zone_of(learner)
    status = services.goal_progress([goal], zone, services.STATUS_WEEKS)[goal.id]
    chart = services.goal_progress([goal], zone)[goal.id]
    assert (status.held, status.required, status.current) == (chart.held, chart.required, chart.current)
    assert len(status.weeks) == weeks_required + 1 < len(chart.weeks)
    assert status.held == min(3, weeks_required)  # weeks 10, 11 and 12 held; week 13 is in progress
