"""A learner reads their Progress page on a phone (390 x 844) and on a laptop (1280 x 800), with JavaScript on and
off: from the menu, a chart and its table for each figure with data, a sentence for the others, another window of
weeks, and a figure's CSV. Nothing scrolls sideways and the links are big enough to tap."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from failforward.accounts.models import User
from failforward.extensions import db
from tests.e2e.conftest import go_to, sign_in
from tests.e2e.test_layout import MEASURE
from tests.factories import log, make_drill, make_goal

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_a_learner_reads_their_progress(live_server, open_page, clock, js, screen):
    learner = live_server.make_user("Lee Learner", "lee@example.com")
    clock.set(NOW - timedelta(days=40))
    with live_server.app.app_context():
        drill = make_drill(make_goal(db.session.get(User, learner.id)), time_box_minutes=20)
        for day in range(1, 36, 2):
            clock.set(NOW - timedelta(days=day))
            log(db.session.get(User, learner.id), drill, 4.0 if day % 3 else 9.0, at=NOW - timedelta(days=day),
                duration_minutes=25)
    clock.set(NOW)
    page = open_page(js=js, **(LAPTOP if screen == "laptop" else {}))
    sign_in(page, live_server.url, "lee@example.com")

    go_to(page, "Progress")
    expect(page.get_by_role("heading", level=1, name="Progress")).to_be_visible()
    reps = page.locator("#kpi-reps")
    expect(reps.get_by_role("heading", level=2, name="Reps")).to_be_visible()
    expect(reps.get_by_role("img")).to_have_accessible_name("Reps (Reps) a week over the last 12 weeks; the table "
                                                            "under the chart has each week's figures")
    reps.get_by_text("Weekly figures").click()
    first_row = reps.get_by_role("row").nth(1)
    expect(first_row).to_contain_text("2 Mar 2026")  # this week, Monday first
    expect(page.locator("#kpi-feedback")).to_contain_text("Ask your coach for feedback on a rep")
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["clientWidth"], found["wide"]
    assert not found["small"], found["small"]

    page.get_by_role("link", name="4 weeks").click()
    expect(page.get_by_role("link", name="4 weeks")).to_have_attribute("aria-current", "page")
    page.locator("#kpi-reps").get_by_text("Weekly figures").click()
    expect(page.locator("#kpi-reps").get_by_role("row")).to_have_count(1 + 4)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download reps as CSV").click()
    lines = download.value.path().read_text().splitlines()
    assert lines[0] == "Week of,Reps,Hit %,Partial %,Miss %" and len(lines) == 1 + 4
    assert lines[1].startswith("2026-03-02,")
