"""A learner answers the weekly check-in from the link in the email, and their coach reads the answers."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from failforward import tasks
from failforward.accounts.models import User
from failforward.extensions import db
from tests.e2e.conftest import mail_link, sign_in
from tests.factories import log, make_drill, make_goal

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the default check-in time, for a learner in UTC


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_learner_answers_the_emailed_checkin_and_the_coach_reads_it(live_server, open_page, inbox, clock, js):
    clock.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    coach = live_server.make_user("Carla Coach", "carla@example.com")
    learner = live_server.make_user("Lee Learner", "lee@example.com")
    live_server.link(coach, learner)
    with live_server.app.app_context():
        drill = make_drill(make_goal(db.session.get(User, learner.id)))
        clock.set(datetime(2026, 2, 25, 18, 0, tzinfo=UTC))
        log(db.session.get(User, learner.id), drill, 6.0, duration_minutes=15)
        clock.set(MONDAY)
        tasks.sweep.call_local()
    body = inbox.body(inbox.last_to("lee@example.com"))
    assert "Practice: 1 rep of 5 planned, 15 minutes." in body

    page = open_page(js=js)
    page.goto(mail_link(inbox, "lee@example.com"))
    expect(page.get_by_role("heading", level=1, name="Your week of 23 February")).to_be_visible()
    page.get_by_label("What went well?").fill("Answered every page inside ten minutes.")
    page.get_by_label("What failed, or nearly did?").fill("Lost the thread on the second incident.")
    page.get_by_label("What will you try next week?").fill("Write the timeline as I go.")
    page.get_by_role("button", name="Save my check-in").click()
    expect(page.get_by_role("heading", level=1, name="Check-in saved")).to_be_visible()
    expect(page.get_by_text("Write the timeline as I go.")).to_be_visible()

    page.goto(mail_link(inbox, "lee@example.com"))  # the link acted once
    expect(page.get_by_text("This check-in is answered already. Sign in to change the answers.")).to_be_visible()
    expect(page.get_by_role("button", name="Save my check-in")).to_have_count(0)

    as_coach = open_page(js=js)
    sign_in(as_coach, live_server.url, "carla@example.com")
    as_coach.goto(f"{live_server.url}/learners/{learner.id}/checkins")
    expect(as_coach.get_by_role("heading", level=1)).to_have_text("Weekly check-ins · Lee Learner")
    week = as_coach.get_by_role("listitem").filter(has=as_coach.get_by_role("heading", name="Week of 23 Feb 2026"))
    expect(week.get_by_text("Answered every page inside ten minutes.")).to_be_visible()
    expect(week.get_by_text("Lost the thread on the second incident.")).to_be_visible()
    expect(week.get_by_text("Write the timeline as I go.")).to_be_visible()
