"""A coach between sessions, on a phone (390 x 844) and a laptop (1280 x 800), with JavaScript on and off: the
home shows who needs them, the overview sorts by a column and filters to "needs attention" with plain links,
and a row opens that learner's page. Nothing scrolls sideways; the main controls are 44 px tall."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from failforward.accounts.models import User
from failforward.extensions import db
from tests.e2e.conftest import sign_in
from tests.e2e.test_layout import MEASURE
from tests.factories import log, make_drill, make_goal

COACH = "carla@example.com"
NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
SIZES = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}


def sort_by(page: Page, column: str) -> None:
    """Sort by a column: its heading on a laptop; on a phone, the "Sort by" list (a <details>: no JavaScript)."""
    sort_list = page.get_by_text("Sort by:")
    if sort_list.is_visible():
        sort_list.click()
        page.get_by_role("navigation", name="Sort by").get_by_role("link", name=re.compile(rf"^{column}")).click()
    else:
        page.get_by_role("columnheader", name=re.compile(rf"^{column}")).get_by_role("link").click()


def learner_names(page: Page) -> list[str]:
    return [name.strip() for name in page.locator(".overview tbody th > a").all_inner_texts()]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_coach_sorts_the_overview_filters_who_needs_attention_and_opens_a_learner(live_server, open_page, clock,
                                                                                   js, size):
    coach = live_server.make_user("Carla Coach", COACH)
    ana, bo = live_server.make_user("Ana Active", "ana@example.com"), live_server.make_user("Bo Behind", "bo@ex.com")
    for learner in (ana, bo):
        live_server.accept_contract(live_server.link(coach, learner))
    clock.set(NOW - timedelta(days=10))
    with live_server.app.app_context():
        for learner, days_ago in ((ana, 0), (bo, 9)):
            drill = make_drill(make_goal(db.session.get(User, learner.id)), time_box_minutes=10)
            log(db.session.get(User, learner.id), drill, 4.0, at=NOW - timedelta(days=days_ago, hours=2),
                duration_minutes=11)
    clock.set(NOW)
    page = open_page(js=js, viewport=SIZES[size])
    sign_in(page, live_server.url, COACH)

    needs = page.get_by_role("region", name="Learners who need you")
    expect(needs).to_contain_text("Bo Behind: no practice in 7 days")
    expect(needs).not_to_contain_text("Ana Active")
    needs.get_by_role("link", name="See all 2 learners in the overview").click()
    expect(page.get_by_role("heading", level=1, name="Your learners")).to_be_visible()
    expect(page.get_by_role("region", name="Who needs you")).to_contain_text("have not practised in 7 days")
    assert learner_names(page) == ["Ana Active", "Bo Behind"]
    row = page.locator(".overview tbody tr").first
    expect(row).to_contain_text("2 hours ago")
    expect(row).to_contain_text("1 of 5")  # reps this week of the plan
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["clientWidth"], found["wide"]
    assert not found["small"], found["small"]

    sort_by(page, "Last practice")  # longest since practice first
    expect(page).to_have_url(re.compile(r"sort=practice"))
    assert learner_names(page) == ["Bo Behind", "Ana Active"]
    sort_by(page, "Last practice")  # again: the other way round
    expect(page).to_have_url(re.compile(r"sort=practice&order=desc"))
    assert learner_names(page) == ["Ana Active", "Bo Behind"]

    page.get_by_role("link", name="Needs attention (1)").click()
    expect(page.get_by_role("link", name="Needs attention (1)")).to_have_attribute("aria-current", "page")
    assert learner_names(page) == ["Bo Behind"]
    page.get_by_role("link", name="Bo Behind").click()
    expect(page.get_by_role("heading", level=1, name="Coaching Bo Behind")).to_be_visible()
