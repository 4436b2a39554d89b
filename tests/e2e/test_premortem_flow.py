"""A pre-mortem in two phones' browsers, with JavaScript on and off: a learner and their coach run it from the
goal page (prime, silent write with its timer, reveal with the coach's comment, cluster and vote, convert) to a
tripwire, which then fires from the ledger's data and shows its contingency plan on the learner's home page."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from failforward import clock as app_clock
from failforward.accounts.models import User
from failforward.extensions import db
from failforward.premortems import services
from tests.e2e.conftest import sign_in
from tests.factories import log, make_drill, make_goal

LEARNER, COACH = "lee@example.com", "casey@example.com"
START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def goal_id(live_server):
    """Lee, coached by Casey, with a goal and a drill practised once today; the clock at START."""
    lee, casey = live_server.make_user("Lee Learner", LEARNER), live_server.make_user("Casey Coach", COACH)
    live_server.link(casey, lee)
    app_clock.set_now(START)
    with live_server.app.app_context():
        learner = db.session.get(User, lee.id)
        drill = make_drill(make_goal(learner), name="Page triage")
        log(learner, drill, 6.0, START - timedelta(hours=1))
        yield drill.goal_id
    app_clock.set_now(None)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_learner_and_coach_run_a_pre_mortem_and_a_tripwire_fires(live_server, open_page, goal_id, js):
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)
    me.goto(f"{live_server.url}/goals/{goal_id}")
    me.get_by_role("link", name="Imagine it failed").click()
    expect(me.get_by_text("It is Friday 4 September 2026 and “Answer pages faster” failed.")).to_be_visible()
    me.get_by_label("Run it with").select_option(label="Me and Casey Coach (my coach)")
    me.get_by_role("button", name="Start writing").click()

    expect(me.get_by_role("heading", name="What happened?")).to_be_visible()
    timer = me.locator("[data-countdown]")
    expect(timer).to_have_text(re.compile(r"^[56]:\d\d left$") if js else "Take about 6 minutes.")
    me.get_by_label("What happened? One cause a line").fill("Night shifts ate my practice\nLost the runbook")
    me.get_by_role("button", name="I'm done").click()
    expect(me.get_by_text("Saved. 2 causes so far: aim for at least 5 concrete ones.")).to_be_visible()
    expect(me.get_by_text("Still writing: Casey Coach.")).to_be_visible()

    coach = open_page(js=js)
    sign_in(coach, live_server.url, COACH)
    coach.goto(f"{live_server.url}/goals/{goal_id}")
    coach.get_by_role("link", name="Write your causes").click()
    expect(coach.get_by_text("Night shifts ate my practice")).to_have_count(0)  # hidden until both finish
    coach.get_by_label("What happened? One cause a line").fill("No feedback for two weeks")
    coach.get_by_role("button", name="I'm done").click()
    expect(coach.get_by_text("Night shifts ate my practice")).to_be_visible()
    expect(coach.get_by_text("No feedback for two weeks")).to_be_visible()
    coach.get_by_label("Your comment").fill("Night shifts come every third week: plan around them.")
    coach.get_by_role("button", name="Add comment").click()
    expect(coach.get_by_text("Comment added.")).to_be_visible()

    me.reload()
    expect(me.get_by_text("Night shifts come every third week: plan around them.")).to_be_visible()
    me.get_by_role("link", name="Next: cluster and vote").click()
    me.get_by_label("Risk title").fill("Tired after night shifts")
    me.get_by_role("checkbox", name=re.compile("Night shifts ate my practice")).check()
    me.get_by_role("button", name="Make it a risk").click()
    me.get_by_label("Risk title").fill("Practising blind")
    me.get_by_role("checkbox", name=re.compile("No feedback for two weeks")).check()
    me.get_by_role("button", name="Make it a risk").click()
    me.get_by_label("Tired after night shifts").fill("2")
    me.get_by_label("Practising blind").fill("2")
    me.get_by_role("button", name="Save my dots").click()
    expect(me.get_by_text("You have 3 dots: take some off.")).to_be_visible()  # 422: the dots kept
    expect(me.get_by_label("Practising blind")).to_have_value("2")
    me.get_by_label("Practising blind").fill("1")
    me.get_by_role("button", name="Save my dots").click()
    expect(me.get_by_text("You have 0 dots left.")).to_be_visible()
    me.get_by_role("button", name="Close the vote").click()

    expect(me.get_by_role("heading", name="Turn the top risks into mitigations")).to_be_visible()
    me.get_by_role("link", name=re.compile("^Convert it.*Tired after night shifts")).click()
    me.get_by_label("Prevention step").fill("Practise before the shift, not after")
    me.get_by_role("radio", name="No rep on a drill for N days").check()
    me.get_by_label("Drill (for a tripwire on a drill)").select_option(label="Page triage")
    me.get_by_label("N or X").fill("2")
    me.get_by_label("Contingency plan").fill("Switch to five-minute reps at breakfast")
    me.get_by_label("By").fill("2026-03-20")
    me.get_by_role("button", name="Save this risk").click()
    expect(me.get_by_text("Saved: Tired after night shifts. Next one.")).to_be_visible()
    expect(me.get_by_role("heading", level=1, name="Practising blind")).to_be_visible()
    me.goto(f"{live_server.url}/goals/{goal_id}")
    expect(me.get_by_text("Tripwire: no rep on Page triage for 2 days")).to_be_visible()
    expect(me.get_by_role("link", name="Try it as a PDSA cycle").first).to_have_attribute(
        "href", re.compile(rf"^/goals/{goal_id}/cycles/new\?change=Practise\+before"))

    app_clock.set_now(START + timedelta(days=3))  # 7 March, no rep since the 4th
    with live_server.app.app_context():
        assert services.evaluate_tripwires() == 1
    me.goto(f"{live_server.url}/")
    card = me.get_by_role("region", name="A tripwire fired")
    expect(card.get_by_text("Switch to five-minute reps at breakfast")).to_be_visible()
    expect(card.get_by_text("2 days without a rep on Page triage")).to_be_visible()
    card.get_by_role("link", name="See the risk").click()
    expect(me.get_by_text("Tripwire fired")).to_be_visible()


def test_saving_midway_does_not_restart_the_writing_timer(live_server, open_page, goal_id):
    me = open_page()
    me.clock.install()
    sign_in(me, live_server.url, LEARNER)
    me.goto(f"{live_server.url}/goals/{goal_id}/premortems/new")
    me.get_by_role("button", name="Start writing").click()
    timer = me.locator("[data-countdown]")
    expect(timer).to_have_text(re.compile(r"^[56]:\d\d left$"))
    me.clock.fast_forward("02:30")
    expect(timer).to_have_text(re.compile(r"^3:\d\d left$"))
    me.get_by_label("What happened? One cause a line").fill("Night shifts ate my practice")
    me.get_by_role("button", name="Save and keep writing").click()
    expect(me.get_by_text("Saved. 1 cause so far")).to_be_visible()
    expect(timer).to_have_text(re.compile(r"^3:\d\d left$"))  # not 6:00 again
