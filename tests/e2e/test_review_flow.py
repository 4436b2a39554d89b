"""A blameless review on a phone, with JavaScript on and off (issue 13's flow): the learner's contract asks for a
review after three misses on one drill; three misses make it due; the learner writes it from the home card (it
starts with the misses) with a timeline (adding rows keeps what was typed), two contributing factors, a
counterfactual and two fixes, one owned by the coach; the coach reads the shared review and comments; a fix is
marked done, then verified at its check date from the home page. With JavaScript the gentle wording check speaks
while the person writes. At 360 px nothing scrolls sideways and the main controls are big enough to tap."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.reviews.services import ONE_FACTOR
from failforward.thresholds import services as thresholds
from tests.e2e.conftest import log_misses, sign_in
from tests.e2e.test_cycle_flow import fits
from tests.e2e.test_layout import NARROW
from tests.factories import make_drill, make_goal

COACH, LEARNER = "carla@example.com", "lee@example.com"
START = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)  # a Wednesday morning, UTC (the learner's zone)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_write_share_comment_and_verify_a_fix(live_server, open_page, clock, js):
    coach = live_server.make_user("Carla Coach", COACH)
    learner = live_server.make_user("Lee Learner", LEARNER)
    live_server.accept_contract(live_server.link(coach, learner))
    clock.set(START)
    with live_server.app.app_context():
        make_drill(make_goal(db.session.get(User, learner.id)), name="Page triage")
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)

    me.goto(f"{live_server.url}/contract")  # Settings -> contract: three misses on one drill ask for a review
    me.get_by_role("group", name="Misses on one drill within a few days").get_by_role(
        "radio", name="a blameless review").check()
    me.get_by_role("button", name="Save my contract").click()
    expect(me.get_by_text("Your contract is saved.")).to_be_visible()
    me.goto(f"{live_server.url}/")
    log_misses(me, "Page triage", ("12", "13", "14"))
    with live_server.app.app_context():
        assert thresholds.fire_due() == 1  # the per-minute sweep's call
    me.reload()
    card = me.get_by_role("region", name="Due from your contract")
    expect(card).to_contain_text("3 misses on Page triage within 7 days")
    card.get_by_role("link", name="Write the review").click()
    expect(me.get_by_label("Trigger: why are we writing?")).to_have_value("3 misses on Page triage within 7 days")
    expect(me.locator("#events-2-what")).to_have_value("A miss: 14 min on Page triage")  # the facts that fired

    if js:  # the gentle check speaks while the person writes, before any save
        me.get_by_label("What signal would have changed my judgement earlier?").fill("I should have tested it")
        expect(me.get_by_text("“Should have” is hindsight", exact=False)).to_be_visible()
    me.get_by_label("Trigger: why are we writing?").fill("Missed three pages on Tuesday night")
    me.get_by_label("Scope: what was affected?").fill("Night on-call")
    me.locator("#events-0-at").fill("2026-03-10T22:05")
    me.locator("#events-0-what").fill("First page, no sound")
    me.locator("#events-1-at").fill("2026-03-10T21:50")
    me.locator("#events-1-what").fill("Phone on silent for the film")
    me.locator("#events-2-at").fill("2026-03-10T22:20")
    me.locator("#events-2-what").fill("Backup called me")
    me.locator("#factors-0-kind").select_option("tools")
    me.locator("#factors-0-what").fill("Pager app follows the silent switch")
    me.get_by_role("button", name="Add a row").click()
    expect(me.locator("#events-5-what")).to_be_visible()  # three filled, three more empty
    expect(me.locator("#events-2-what")).to_have_value("Backup called me")
    expect(me.get_by_label("Trigger: why are we writing?")).to_have_value("Missed three pages on Tuesday night")
    expect(me.get_by_text(ONE_FACTOR)).to_be_visible()  # one factor: a gentle question, not a refusal
    me.locator("#factors-1-kind").select_option("process")
    me.locator("#factors-1-what").fill("No handover check before evenings")
    me.get_by_label("What signal would have changed my judgement earlier?").fill("A test page at handover")
    expect(me.get_by_text("“Should have” is hindsight", exact=False)).to_have_count(0)
    me.get_by_label("Assumptions we'll test").fill("A test page at handover catches silent phones")
    me.get_by_label("Share this review with my coach").check()
    me.get_by_role("button", name="Save review").click()

    expect(me.get_by_role("heading", level=1, name="Missed three pages on Tuesday night")).to_be_visible()
    timeline = me.get_by_role("region", name="Timeline")
    expect(timeline.locator("li")).to_have_text(["Tue 10 Mar, 21:50 — Phone on silent for the film",
                                                 "Tue 10 Mar, 22:05 — First page, no sound",
                                                 "Tue 10 Mar, 22:20 — Backup called me"])
    review_url = me.url
    me.goto(f"{live_server.url}/")
    expect(me.get_by_role("region", name="Due from your contract")).to_have_count(0)  # written: done
    me.goto(review_url)
    for what, owner, done_when in (("Test page at every handover", "Me", "On the handover checklist"),
                                   ("Send the pager settings guide", "Carla Coach (coach)", "Guide in Lee's inbox")):
        if not me.locator("#action-form").is_visible():
            me.get_by_text("Add a fix").click()
        me.get_by_label("The fix").fill(what)
        me.get_by_role("radio", name=owner).check()
        me.get_by_label("Done when…").fill(done_when)
        me.get_by_role("button", name="Add the fix").click()
        expect(me.get_by_text(what, exact=True)).to_be_visible()
    expect(me.get_by_text("Owner: Carla Coach")).to_be_visible()
    fits_narrow(open_page, live_server.url, review_url, js)

    coach_page = open_page(js=js)
    sign_in(coach_page, live_server.url, COACH)
    coach_page.goto(f"{live_server.url}/learners/{learner.id}/lessons")  # what Lee shared
    coach_page.get_by_role("region", name="Shared blameless reviews").get_by_role(
        "link", name="Missed three pages on Tuesday night").click()
    expect(coach_page.get_by_role("heading", level=1)).to_contain_text("Lee Learner")
    expect(coach_page.get_by_text("Owner: you")).to_be_visible()
    coach_page.get_by_label("Your comment").fill("Good timeline. I'll send the guide on Friday.")
    coach_page.get_by_role("button", name="Add comment").click()
    expect(coach_page.get_by_text("Good timeline. I'll send the guide on Friday.")).to_be_visible()
    theirs = coach_page.locator("li[id^=action-]", has_text="Send the pager settings guide")
    theirs.get_by_text("Change its status").click()
    theirs.get_by_role("radio", name="Done").check()
    theirs.get_by_role("button", name="Save status").click()
    expect(coach_page.locator("li[id^=action-]", has_text="Send the pager settings guide")).to_contain_text("Done")

    me.reload()
    expect(me.get_by_text("Good timeline. I'll send the guide on Friday.")).to_be_visible()
    mine = me.locator("li[id^=action-]", has_text="Test page at every handover")
    mine.get_by_text("Change its status").click()
    mine.get_by_role("radio", name="Done").check()
    mine.get_by_role("button", name="Save status").click()
    expect(me.locator("li[id^=action-]", has_text="Test page at every handover")).to_contain_text("Done")

    clock.set(datetime(2026, 4, 24, 9, 0, tzinfo=UTC))  # the check date: 30 days, then two weeks
    sign_in(me, live_server.url, LEARNER)
    me.get_by_role("link", name="Did the fix work? Test page at every handover").click()
    me.get_by_role("radio", name="It worked").check()
    me.get_by_label("What you saw (optional)").fill("No missed page in two weeks")
    me.get_by_role("button", name="Save answer").click()
    verified = me.locator("li[id^=action-]", has_text="Test page at every handover")
    expect(verified).to_contain_text("Verified")
    expect(verified).to_contain_text("No missed page in two weeks")
    assert open_page.problems(me) == {} and open_page.problems(coach_page) == {}


def fits_narrow(open_page, base_url: str, review_url: str, js: bool) -> None:
    """The review and its form at 360 px: nothing scrolls sideways, the controls are big enough."""
    narrow = open_page(js=js, **NARROW)
    sign_in(narrow, base_url, LEARNER)
    for url in (review_url, f"{base_url}/reviews/new"):
        narrow.goto(url)
        fits(narrow)
