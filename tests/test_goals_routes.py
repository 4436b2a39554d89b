"""Goal and drill pages: creating and editing with the stretch check, statuses, drills, and 404 for others."""

import html
from datetime import UTC, datetime

import pytest

from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.goals.models import Drill, Goal
from tests.factories import count, field_error, input_value, link, make_drill, make_goal, text

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
GOAL_FORM = {
    "title": "Answer pages faster", "bottleneck": "First response takes over ten minutes",
    "metric_name": "response time", "unit": "min", "direction": "lower", "baseline": "10", "target": "5",
    "aggregation": "median", "weeks_required": "3", "deadline": "", "why": "Customers wait.",
}
DRILL_FORM = {
    "name": "Pager drill", "practises": "Acknowledging and triaging a page", "environment": "Simulator",
    "tools": "Stopwatch", "time_box_minutes": "15", "feedback_source": "coach", "planned_reps_per_week": "5",
    "difficulty_note": "Just beyond what I can do.",
}


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(START)


@pytest.fixture
def goal(learner):
    return make_goal(learner)


@pytest.fixture
def drill(goal):
    return make_drill(goal)


def as_user(app, login, user):
    """A separate browser signed in as `user`."""
    browser = app.test_client()
    login(user, browser)
    return browser


# --- goals --------------------------------------------------------------------------------------

def test_pages_need_a_signed_in_person(client, goal):
    for url in ("/goals", "/goals/new", f"/goals/{goal.id}", f"/goals/{goal.id}/edit"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_creating_a_goal_leads_to_designing_its_first_drill(client, login, learner):
    login(learner)
    form_page = client.get("/goals/new")
    assert form_page.status_code == 200 and "Set a stretch goal" in text(form_page)

    response = client.post("/goals", data=GOAL_FORM)
    assert response.status_code == 303
    goal = db.session.scalars(db.select(Goal)).one()
    assert response.headers["Location"] == f"/goals/{goal.id}/drills/new"
    assert (goal.learner_id, goal.title, goal.baseline, goal.target, goal.weeks_required) == (
        learner.id, "Answer pages faster", 10.0, 5.0, 3)

    page = client.get(f"/goals/{goal.id}")
    assert page.status_code == 200
    body = html.unescape(text(page))
    assert "The median of the week's reps ≤ 5 min for 3 consecutive weeks" in body
    assert "0 of 3 weeks held" in body


@pytest.mark.parametrize(("direction", "baseline", "target", "message"), [
    ("lower", "10", "10", "Set the target below your baseline of 10"),
    ("lower", "10", "12", "Set the target below your baseline of 10"),
    ("higher", "40", "35", "Set the target above your baseline of 40"),
])
def test_a_target_that_is_not_beyond_the_baseline_is_refused_beside_the_field(client, login, learner, direction,
                                                                             baseline, target, message):
    login(learner)
    response = client.post("/goals", data={**GOAL_FORM, "direction": direction, "baseline": baseline,
                                           "target": target, "why": "Because 🚒 עברית"})
    assert response.status_code == 422
    assert message in html.unescape(field_error(response, "target"))
    assert "not a stretch" in html.unescape(field_error(response, "target"))
    assert "Because 🚒 עברית" in text(response)
    assert (input_value(response, "title"), input_value(response, "target")) == ("Answer pages faster", target)
    assert count(Goal) == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"baseline": ""}, "baseline", "Enter where you are now"),
    ({"target": "soon"}, "target", "Enter a number"),
    ({"target": "nan"}, "target", "Enter a number between"),
    ({"target": "-inf"}, "target", "Enter a number between"),
    ({"title": ""}, "title", "Name the goal"),
    ({"title": "x" * 10_000}, "title", "Field cannot be longer than 200 characters"),
    ({"weeks_required": "13"}, "weeks_required", "Pick between 1 and 12 weeks"),
    ({"weeks_required": "four"}, "weeks_required", "Enter a whole number, like 4."),
    ({"deadline": "1900-01-01"}, "deadline", "Pick a date from today"),
    ({"deadline": "9999-12-31"}, "deadline", "Pick a date from today"),
    ({"aggregation": "max"}, "aggregation", "Not a valid choice"),
])
def test_bad_goal_input_gets_a_message_beside_the_field(client, login, learner, changes, field, message):
    login(learner)
    response = client.post("/goals", data={**GOAL_FORM, **changes})
    assert response.status_code == 422
    assert message in html.unescape(field_error(response, field))
    assert count(Goal) == 0


def test_a_decimal_comma_is_read_as_a_decimal_mark(client, login, learner):
    login(learner)
    assert client.post("/goals", data={**GOAL_FORM, "baseline": "7,5", "target": "2,5"}).status_code == 303
    goal = db.session.scalars(db.select(Goal)).one()
    assert (goal.baseline, goal.target) == (7.5, 2.5)


def test_editing_a_goal(client, login, learner, goal):
    login(learner)
    form_page = client.get(f"/goals/{goal.id}/edit")
    assert form_page.status_code == 200
    assert 'value="Answer pages faster"' in text(form_page)

    response = client.post(f"/goals/{goal.id}", data={**GOAL_FORM, "title": "Answer pages calmly",
                                                      "direction": "higher", "baseline": "2", "target": "4",
                                                      "aggregation": "best", "weeks_required": "1"})
    assert response.status_code == 303 and response.headers["Location"] == f"/goals/{goal.id}"
    body = html.unescape(text(client.get(f"/goals/{goal.id}")))
    assert "Answer pages calmly" in body
    assert "The week's best rep ≥ 4 min for 1 week" in body


def test_an_edit_that_makes_the_target_no_stretch_keeps_the_text(client, login, learner, goal):
    login(learner)
    response = client.post(f"/goals/{goal.id}", data={**GOAL_FORM, "title": "Renamed", "target": "11"})
    assert response.status_code == 422
    assert "not a stretch" in field_error(response, "target")
    assert input_value(response, "title") == "Renamed"
    db.session.refresh(goal)
    assert (goal.title, goal.target) == ("Answer pages faster", 5.0)


# --- statuses -----------------------------------------------------------------------------------

def test_pausing_and_resuming_a_goal(client, login, learner, goal, drill):
    login(learner)
    response = client.post(f"/goals/{goal.id}/status", data={"status": "paused", "drop_reason": ""})
    assert response.status_code == 303
    assert "Paused" in text(client.get(f"/goals/{goal.id}"))
    assert "Pager drill" not in text(client.get("/"))  # nothing to log on a paused goal

    client.post(f"/goals/{goal.id}/status", data={"status": "active"})
    assert "0 of 2 weeks held" in text(client.get(f"/goals/{goal.id}"))


def test_dropping_a_goal_needs_a_reason(client, login, learner, goal):
    login(learner)
    response = client.post(f"/goals/{goal.id}/status", data={"status": "dropped", "drop_reason": ""})
    assert response.status_code == 422
    assert "why you drop this goal" in field_error(response, "drop_reason")
    db.session.refresh(goal)
    assert goal.status == "active"

    response = client.post(f"/goals/{goal.id}/status",
                           data={"status": "dropped", "drop_reason": "The rotation ended."})
    assert response.status_code == 303
    body = text(client.get(f"/goals/{goal.id}"))
    assert "Dropped" in body and "The rotation ended." in body


def test_marking_a_goal_reached_shows_the_date(client, login, learner, goal):
    login(learner)
    assert client.post(f"/goals/{goal.id}/status", data={"status": "reached"}).status_code == 303
    assert "Reached on 4 Mar 2026" in text(client.get(f"/goals/{goal.id}"))
    assert "Reached on 4 Mar 2026" in text(client.get("/goals"))


# --- drills -------------------------------------------------------------------------------------

def test_creating_and_editing_a_drill(client, login, learner, goal):
    login(learner)
    assert client.get(f"/goals/{goal.id}/drills/new").status_code == 200
    response = client.post(f"/goals/{goal.id}/drills", data=DRILL_FORM)
    assert response.status_code == 303 and response.headers["Location"] == f"/goals/{goal.id}"
    drill = db.session.scalars(db.select(Drill)).one()
    assert (drill.goal_id, drill.time_box_minutes, drill.environment) == (goal.id, 15, "Simulator")
    assert "Pager drill" in text(client.get(f"/goals/{goal.id}"))
    assert "Pager drill" in text(client.get("/"))  # one tap away on the home page

    edit = client.get(f"/drills/{drill.id}/edit")
    assert edit.status_code == 200 and 'value="Pager drill"' in text(edit)
    response = client.post(f"/drills/{drill.id}", data={**DRILL_FORM, "name": "Night pager drill"})
    assert response.status_code == 303
    assert "Night pager drill" in text(client.get(f"/goals/{goal.id}"))


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "Name the drill"),
    ({"practises": ""}, "practises", "Say which part of the skill"),
    ({"planned_reps_per_week": "0"}, "planned_reps_per_week", "Pick between 1 and 200"),
    ({"planned_reps_per_week": "many"}, "planned_reps_per_week", "Enter a whole number, like 4."),
    ({"time_box_minutes": "601"}, "time_box_minutes", "Pick between 1 and 600"),
    ({"difficulty_note": "x" * 10_000}, "difficulty_note", "cannot be longer than 1000"),
    ({"feedback_source": "oracle"}, "feedback_source", "Not a valid choice"),
])
def test_bad_drill_input_gets_a_message_beside_the_field(client, login, learner, goal, changes, field, message):
    login(learner)
    response = client.post(f"/goals/{goal.id}/drills", data={**DRILL_FORM, "tools": "Timer ⏱️ שעון", **changes})
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert "Timer ⏱️ שעון" in text(response)
    assert count(Drill) == 0


def test_archiving_and_restoring_a_drill(client, login, learner, goal, drill):
    login(learner)
    response = client.post(f"/drills/{drill.id}/archive")
    assert response.status_code == 303 and response.headers["Location"] == f"/goals/{goal.id}"
    assert "(archived)" in text(client.get(f"/goals/{goal.id}"))
    assert "Pager drill" not in text(client.get("/log"))

    assert client.post(f"/drills/{drill.id}/restore").status_code == 303
    assert "(archived)" not in text(client.get(f"/goals/{goal.id}"))
    assert "Pager drill" in text(client.get("/log"))


def test_copying_a_drill_from_another_goal(client, login, learner, goal):
    login(learner)
    make_drill(goal, name="Pager drill", tools="Stopwatch")
    other = make_goal(learner, title="Write shorter incident notes")
    page = client.get(f"/goals/{other.id}/drills/new")
    assert "Or copy one of your drills" in text(page) and "Pager drill (from Answer pages faster)" in text(page)
    assert "Or copy one of your drills" not in text(client.get(f"/goals/{goal.id}/drills/new"))

    original = db.session.scalars(db.select(Drill)).one()
    response = client.post(f"/goals/{other.id}/drills/copy", data={"drill_id": str(original.id)})
    assert response.status_code == 303
    copy = db.session.scalars(db.select(Drill).where(Drill.goal_id == other.id)).one()
    assert response.headers["Location"] == f"/drills/{copy.id}/edit"
    assert (copy.name, copy.tools) == ("Pager drill", "Stopwatch")
    assert "Pager drill" in text(client.get(f"/goals/{other.id}"))


def test_copying_someone_elses_drill_is_refused(client, login, make_user, learner, goal):
    make_drill(goal)
    other = make_goal(learner, title="Other")
    theirs = make_drill(make_goal(make_user()), name="Their drill")
    login(learner)
    response = client.post(f"/goals/{other.id}/drills/copy", data={"drill_id": str(theirs.id)})
    assert response.status_code == 422
    assert "Not a valid choice" in field_error(response, "drill_id")
    assert count(Drill) == 2


# --- who may see and change ---------------------------------------------------------------------

def goal_and_drill_requests(goal, drill) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/goals/{goal.id}/edit", {}),
        ("post", f"/goals/{goal.id}", GOAL_FORM),
        ("post", f"/goals/{goal.id}/status", {"status": "paused"}),
        ("get", f"/goals/{goal.id}/drills/new", {}),
        ("post", f"/goals/{goal.id}/drills", DRILL_FORM),
        ("post", f"/goals/{goal.id}/drills/copy", {"drill_id": str(drill.id)}),
        ("get", f"/drills/{drill.id}/edit", {}),
        ("post", f"/drills/{drill.id}", DRILL_FORM),
        ("post", f"/drills/{drill.id}/archive", {}),
        ("post", f"/drills/{drill.id}/restore", {}),
    ]


@pytest.mark.parametrize("who", ["another learner", "an unlinked coach"])
def test_strangers_get_404_on_every_goal_and_drill_page(app, login, make_user, learner, goal, drill, who):
    stranger = make_user(name="Sam Stranger")
    if who == "an unlinked coach":
        someone = make_user()
        link(stranger, someone)
    make_goal(stranger, title="Their own goal")  # a stranger with goals of their own
    browser = as_user(app, login, stranger)
    for method, url, data in [("get", f"/goals/{goal.id}", {}), *goal_and_drill_requests(goal, drill)]:
        response = getattr(browser, method)(url, data=data)
        assert response.status_code == 404, (method, url)
        assert "Answer pages faster" not in text(response)
    db.session.refresh(goal)
    db.session.refresh(drill)
    assert (goal.title, goal.status, drill.archived_at) == ("Answer pages faster", "active", None)
    assert count(Drill) == 1


def test_a_linked_coach_sees_the_goal_page_but_cannot_change_anything(app, login, make_user, learner, goal, drill):
    coach = make_user(name="Casey Coach")
    the_link = link(coach, learner)
    browser = as_user(app, login, coach)
    page = browser.get(f"/goals/{goal.id}")
    assert page.status_code == 200
    body = text(page)
    assert "Answer pages faster" in body and "Lee Learner" in body and "Pager drill" in body
    assert "Edit goal" not in body and "Add a drill" not in body and f"/drills/{drill.id}/archive" not in body
    for method, url, data in goal_and_drill_requests(goal, drill):
        assert getattr(browser, method)(url, data=data).status_code == 404, (method, url)
    db.session.refresh(goal)
    assert goal.status == "active"

    coaching.end_link(learner, the_link)
    assert browser.get(f"/goals/{goal.id}").status_code == 404
