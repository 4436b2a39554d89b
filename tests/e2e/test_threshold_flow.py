"""On a phone, JavaScript on and off: three misses on one drill make a lesson due (the contract's default
rule); the coach sees it due on the queue page; the learner writes the lesson from the home card, and
the card goes away."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from failforward import clock as app_clock
from failforward.accounts.models import User
from failforward.extensions import db
from failforward.thresholds import services
from tests.e2e.conftest import log_misses, sign_in
from tests.factories import make_drill, make_goal

LEARNER, COACH = "lee@example.com", "casey@example.com"
START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(live_server):
    """Lee (a goal, lower is better, baseline 10, target 5, and one drill) coached by Casey; the clock at START."""
    learner = live_server.make_user("Lee Learner", LEARNER)
    coach = live_server.make_user("Casey Coach", COACH)
    live_server.link(coach, learner)
    app_clock.set_now(START)
    with live_server.app.app_context():
        make_drill(make_goal(db.session.get(User, learner.id)), name="Page triage")
    yield learner, coach
    app_clock.set_now(None)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_three_misses_make_a_lesson_due_that_is_written_from_the_home_card(live_server, open_page, people, js):
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)
    log_misses(me, "Page triage", ("12", "13", "14"))
    with live_server.app.app_context():
        assert services.fire_due() == 1  # the per-minute sweep's call

    coach = open_page(js=js)
    sign_in(coach, live_server.url, COACH)
    coach.goto(f"{live_server.url}/queue")
    due_for_coach = coach.get_by_role("region", name="Lessons and reviews due from contracts")
    expect(due_for_coach).to_contain_text("Lee Learner: 3 misses on Page triage within 7 days, a lesson")
    expect(due_for_coach).to_contain_text("Due by Sat 7 Mar, 09:00")

    me.goto(f"{live_server.url}/")
    card = me.get_by_role("region", name="Due from your contract")
    expect(card).to_contain_text("3 misses on Page triage within 7 days")
    expect(card).to_contain_text("Due by Sat 7 Mar, 09:00")
    card.get_by_role("link", name="Write the lesson").click()
    expect(me.get_by_label("Context")).to_have_value("3 misses on Page triage within 7 days")
    me.get_by_label("What failed").fill("Froze on the second alert three times.")
    me.get_by_role("button", name="Save lesson").click()
    expect(me.get_by_text("Lesson saved.")).to_be_visible()
    me.goto(f"{live_server.url}/")
    expect(me.get_by_role("region", name="Due from your contract")).to_have_count(0)
    coach.reload()
    expect(coach.get_by_role("region", name="Lessons and reviews due from contracts")).to_have_count(0)
