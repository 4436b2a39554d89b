"""Goal and drill rules: creating, editing, statuses, archiving, copying, and who may see them."""

from datetime import UTC, date, datetime

import pytest
from werkzeug.exceptions import NotFound

from failforward.coaching import services as coaching
from failforward.goals import services
from failforward.goals.models import Drill
from tests.factories import count, link, make_drill, make_goal

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def goal(learner, clock):
    clock.set(START)
    return make_goal(learner)


# --- goals --------------------------------------------------------------------------------------

def test_a_new_goal_is_active_and_keeps_what_was_typed(app, learner, goal):
    assert goal.learner_id == learner.id
    assert (goal.status, goal.reached_on, goal.drop_reason) == ("active", None, None)
    assert (goal.baseline, goal.target, goal.direction, goal.weeks_required) == (10.0, 5.0, "lower", 2)
    assert goal.created_at == START
    assert goal.rule_text == "The median of the week's reps ≤ 5 min for 2 consecutive weeks"
    assert services.goals_of(learner) == [goal]


def test_editing_a_goal_changes_its_rule(app, goal):
    fields = {name: getattr(goal, name) for name in services.GOAL_FIELDS}
    services.update_goal(goal, {**fields, "direction": "higher", "baseline": 40.0, "target": 60.0,
                                "weeks_required": 1, "aggregation": "best", "unit": "wpm"})
    assert goal.rule_text == "The week's best rep ≥ 60 wpm for 1 week"
    assert goal.meets_target(60.0) and not goal.meets_target(59.9)


def test_pause_resume_and_drop_with_a_reason(app, goal):
    services.set_status(goal, "paused")
    assert goal.status == "paused"
    services.set_status(goal, "dropped", "The pager rotation ended.")
    assert (goal.status, goal.drop_reason) == ("dropped", "The pager rotation ended.")
    services.set_status(goal, "active", "ignored")
    assert (goal.status, goal.drop_reason) == ("active", None)


def test_marking_a_goal_reached_by_hand_dates_it_in_the_learners_time_zone(app, clock, make_user):
    learner = make_user(timezone="Pacific/Auckland")
    goal = make_goal(learner)
    clock.set(datetime(2026, 3, 8, 20, 0, tzinfo=UTC))  # Monday 9:00 in Auckland, still Sunday in UTC
    services.set_status(goal, "reached")
    assert (goal.status, goal.reached_on) == ("reached", date(2026, 3, 9))
    services.set_status(goal, "active")
    assert goal.reached_on is None


def test_goals_list_active_first_then_newest(app, clock, learner):
    clock.set(START)
    first = make_goal(learner, title="First")
    clock.set(START.replace(day=5))
    second = make_goal(learner, title="Second")
    services.set_status(second, "paused")
    clock.set(START.replace(day=6))
    third = make_goal(learner, title="Third")
    assert services.goals_of(learner) == [third, first, second]


# --- drills -------------------------------------------------------------------------------------

def test_drills_are_created_edited_archived_and_restored(app, clock, learner, goal):
    drill = make_drill(goal, name="Pager drill")
    assert (drill.goal_id, drill.learner_id) == (goal.id, learner.id)
    assert services.active_drills(learner) == [drill]

    fields = {name: getattr(drill, name) for name in services.DRILL_FIELDS}
    services.update_drill(drill, {**fields, "name": "Night pager drill", "time_box_minutes": 15})
    assert (drill.name, drill.time_box_minutes) == ("Night pager drill", 15)

    clock.set(START.replace(hour=12))
    services.set_archived(drill, True)
    assert drill.archived_at == START.replace(hour=12)
    assert services.active_drills(learner) == []
    assert services.drills_of(goal) == []
    assert services.drills_of(goal, include_archived=True) == [drill]

    services.set_archived(drill, False)
    assert drill.archived_at is None
    assert services.active_drills(learner) == [drill]


def test_drills_of_paused_goals_cannot_be_logged(app, learner, goal):
    make_drill(goal)
    services.set_status(goal, "paused")
    assert services.active_drills(learner) == []


def test_a_drill_is_copied_from_another_of_your_goals(app, learner, goal):
    original = make_drill(goal, name="Pager drill", tools="stopwatch", planned_reps_per_week=7)
    other = make_goal(learner, title="Write shorter incident notes")
    assert services.copyable_drills(other) == [original]
    assert services.copyable_drills(goal) == []

    copy = services.copy_drill(original, other)
    assert copy.id != original.id
    assert (copy.goal_id, copy.learner_id) == (other.id, learner.id)
    assert (copy.name, copy.tools, copy.planned_reps_per_week) == ("Pager drill", "stopwatch", 7)
    assert count(Drill) == 2


def test_a_drill_of_another_learner_cannot_be_copied(app, make_user, goal):
    stranger = make_user()
    their_drill = make_drill(make_goal(stranger))
    assert services.copyable_drills(goal) == []
    with pytest.raises(NotFound):
        services.copy_drill(their_drill, goal)
    assert services.drills_of(goal) == []


# --- who may see a goal -------------------------------------------------------------------------

def test_only_the_learner_and_an_active_coach_see_a_goal_and_only_the_learner_changes_it(app, make_user, learner,
                                                                                      goal):
    drill = make_drill(goal)
    coach, unlinked, stranger = make_user(), make_user(), make_user()
    the_link = link(coach, learner)

    assert services.goal_or_404(learner, goal.id) is goal
    assert services.goal_or_404(coach, goal.id) is goal
    assert services.drill_or_404(coach, drill.id) is drill
    assert services.own_goal_or_404(learner, goal.id) is goal
    for viewer in (unlinked, stranger):
        for lookup, thing in ((services.goal_or_404, goal), (services.drill_or_404, drill)):
            with pytest.raises(NotFound):
                lookup(viewer, thing.id)
    for viewer in (coach, unlinked, stranger):
        with pytest.raises(NotFound):
            services.own_goal_or_404(viewer, goal.id)
        with pytest.raises(NotFound):
            services.own_drill_or_404(viewer, drill.id)

    coaching.end_link(learner, the_link)
    with pytest.raises(NotFound):
        services.goal_or_404(coach, goal.id)
    with pytest.raises(NotFound):
        services.goal_or_404(learner, goal.id + 1000)
