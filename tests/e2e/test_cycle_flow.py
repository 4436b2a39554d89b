"""A small test (PDSA) on a phone, with JavaScript on and off: a learner plans a cycle from the goal's page,
logs reps, the cycle ends at midnight (the sweep) and shows the rule's verdict beside the prediction, they adapt
and start the next cycle, copied forward and chained; a coach reads it and comments. At 360 px nothing scrolls
sideways and the main controls are 44 px tall."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from failforward import tasks
from failforward.accounts.models import User
from failforward.extensions import db
from tests.e2e.conftest import sign_in
from tests.e2e.test_layout import MEASURE, NARROW
from tests.factories import log, make_drill, make_goal

COACH, LEARNER = "carla@example.com", "lee@example.com"
START = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)  # a Wednesday morning, UTC (the learner's zone)


def fits(page: Page) -> None:
    """Nothing scrolls sideways and every main control is a big enough tap target."""
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["clientWidth"], (page.url, found["wide"])
    assert not found["small"], (page.url, found["small"])


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_plan_log_study_adapt_and_start_the_next_cycle(live_server, open_page, clock, js):
    coach = live_server.make_user("Carla Coach", COACH)
    learner = live_server.make_user("Lee Learner", LEARNER)
    live_server.accept_contract(live_server.link(coach, learner))
    clock.set(START)
    with live_server.app.app_context():
        drill = make_drill(make_goal(db.session.get(User, learner.id)), name="Page triage")
        goal_id, drill_id = drill.goal_id, drill.id
        for day in range(1, 6):  # the baseline: a week of reps at 10 minutes
            log(db.session.get(User, learner.id), drill, 10, at=START - timedelta(days=day))
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)

    me.goto(f"{live_server.url}/goals/{goal_id}")
    expect(me.get_by_text("No small tests yet.")).to_be_visible()
    me.get_by_role("link", name="Plan a small test (PDSA)").click()
    expect(me.get_by_role("heading", level=1, name="Plan a small test (PDSA)")).to_be_visible()
    me.get_by_role("radio", name="Page triage").check()
    me.get_by_label("Objective").fill("Triage pages faster")
    me.get_by_label("The change to try").fill("Read the runbook's first line before acting")
    me.get_by_label("Your prediction").fill("About a minute faster: less guessing")
    me.get_by_label("Timebox (days)").fill("7")
    me.get_by_label("How to undo it").fill("Stop reading the runbook first")
    me.get_by_role("button", name="Plan the cycle").click()
    expect(me.get_by_role("alert")).to_contain_text("One answer needs another look: How fast can you undo it?")
    expect(me.locator("#undo_speed-error")).to_have_text("Say how fast.")
    expect(me.get_by_label("Your prediction")).to_have_value("About a minute faster: less guessing")
    me.get_by_label("How fast can you undo it?").fill("at once")
    me.get_by_role("button", name="Plan the cycle").click()
    expect(me.get_by_role("heading", level=1, name="Triage pages faster")).to_be_visible()
    expect(me.get_by_text("Running", exact=True)).to_be_visible()
    cycle_url = me.url
    assert re.fullmatch(rf"{re.escape(live_server.url)}/cycles/\d+", cycle_url)

    me.get_by_role("textbox", name="Observation").fill("Runbook is long; first line only")
    me.get_by_role("button", name="Add observation").click()
    expect(me.get_by_text("Runbook is long; first line only")).to_be_visible()

    with live_server.app.app_context():  # the week of the test: faster reps
        for day in range(0, 5):
            log(db.session.get(User, learner.id), db.session.get(type(drill), drill_id), 8,
                at=START + timedelta(days=day, hours=1))
    clock.set(datetime(2026, 3, 18, 0, 0, tzinfo=UTC))  # midnight: the timebox ended
    with live_server.app.app_context():
        tasks.sweep.call_local()
    clock.set(datetime(2026, 3, 18, 8, 0, tzinfo=UTC))

    me.goto(live_server.url)
    ended = me.get_by_role("region", name="A small test ended")
    expect(ended).to_contain_text("the rule says adopt")
    ended.get_by_role("link", name="Triage pages faster").click()
    study = me.get_by_role("region", name="Study")
    expect(study).to_contain_text("The rule says adopt: the signal improved by 20.0%")
    expect(study).to_contain_text("You predicted: About a minute faster: less guessing")

    act = me.get_by_role("region", name="Act")
    act.get_by_role("radio", name="Adapt: change it and test again").check()
    act.get_by_label("Note (optional)").fill("Works, but try it on the harder alerts")
    act.get_by_role("button", name="Save the decision").click()
    expect(act).to_contain_text("Your decision: adapt (the rule said adopt)")
    act.get_by_role("link", name="Start the next cycle").click()
    expect(me.get_by_text("Copied forward from")).to_be_visible()
    expect(me.get_by_label("The change to try")).to_have_value("Read the runbook's first line before acting")
    me.get_by_label("The change to try").fill("Runbook first line, on the harder alerts too")
    me.get_by_role("button", name="Plan the cycle").click()
    expect(me.get_by_text("follows")).to_be_visible()

    me.goto(f"{live_server.url}/goals/{goal_id}")
    chain = me.get_by_role("region", name="Small tests (PDSA)").get_by_role("listitem")
    expect(chain).to_have_count(2)
    expect(chain.first).to_contain_text("decided: adapt")
    expect(chain.last).to_contain_text("follows the one before")

    reader = open_page(js=js, **NARROW)
    sign_in(reader, live_server.url, COACH)
    reader.goto(cycle_url)
    expect(reader.get_by_role("button", name="Save the decision")).to_have_count(0)
    reader.get_by_label("Your comment").fill("Nice: a clean test")
    reader.get_by_role("button", name="Add comment").click()
    expect(reader.get_by_text("Nice: a clean test")).to_be_visible()
    fits(reader)
    reader.goto(f"{live_server.url}/goals/{goal_id}/cycles/new")
    expect(reader.get_by_role("heading", name="We can't find that page")).to_be_visible()
