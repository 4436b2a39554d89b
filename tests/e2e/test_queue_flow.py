"""The coach's queue on a laptop (1280 x 800) and a phone (390 x 844), with and without JavaScript: the
tools beside the list on a laptop and above it on a phone, the filter by learner, and the invite link
to copy."""

import re

import pytest
from playwright.sync_api import Page, expect

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.feedback import services as feedback
from tests.e2e.conftest import sign_in
from tests.e2e.test_layout import MEASURE
from tests.factories import log, make_drill, make_goal

COACH = "carla@example.com"
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False,
          "device_scale_factor": 1}
PHONE = {}  # the session's default: 390 x 844, touch


@pytest.fixture
def queue(live_server) -> dict:
    """Carla coaches Lee and Ana; each asked for feedback on a rep; she has an invite link open."""
    coach = live_server.make_user("Carla Coach", COACH)
    names = ("Lee Learner", "Ana Second")
    learners = [live_server.make_user(name, f"{name.split()[0].lower()}@example.com") for name in names]
    for learner in learners:
        live_server.link(coach, learner)
    with live_server.app.app_context():
        for learner, drill_name in zip(learners, ("Page triage", "Scales"), strict=True):
            person = db.session.get(User, learner.id)
            rep = log(person, make_drill(make_goal(person), name=drill_name), 6.0)
            feedback.ask(person, rep, f"{learner.name}'s question")
    # The link's signature carries the second it was drawn in: the invite is the part before it.
    return {"invite": live_server.invite_url(coach).rsplit(".", 2)[0] + ".", "ana": learners[1].id}


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.parametrize("screen", ["laptop", "phone"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_queue_uses_the_screen_filters_by_learner_and_offers_the_invite_link(live_server, open_page, queue,
                                                                                 screen, js):
    page = open_page(js=js, **(LAPTOP if screen == "laptop" else PHONE))
    sign_in(page, live_server.url, COACH)
    page.goto(f"{live_server.url}/queue")
    expect(page.get_by_text("2 waiting, nearest due first.")).to_be_visible()
    tools, first = box(page, ".queue-side"), box(page, "#queue > li")
    about, answer = box(page, "#queue > li .request__about"), box(page, "#queue > li form")
    if screen == "laptop":  # the tools beside the list, and each request beside its answer box
        assert tools["x"] + tools["width"] <= first["x"] and first["width"] > 700
        assert about["x"] + about["width"] <= answer["x"] and abs(about["y"] - answer["y"]) < 40
    else:  # stacked: the tools first, then the request above its answer box
        assert tools["y"] + tools["height"] <= first["y"]
        assert about["y"] + about["height"] <= answer["y"]
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured["wide"]

    # The invite link, near the top: a read-only field, with a Copy button when scripts run.
    link = page.get_by_label(re.compile("Your open invite link"))
    expect(link).to_have_value(re.compile("^" + re.escape(queue["invite"])))
    expect(link).to_have_attribute("readonly", "")
    copy = page.get_by_role("button", name="Copy")
    if js:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        copy.click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    else:
        expect(copy).to_have_count(0)

    # Only Ana's requests, by a plain GET form.
    page.get_by_label("Learner", exact=True).select_option(label="Ana Second")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{live_server.url}/queue?learner={queue['ana']}")
    expect(page.get_by_text("1 waiting from Ana Second, nearest due first.")).to_be_visible()
    expect(page.get_by_role("heading", name="Ana Second · Scales")).to_be_visible()
    expect(page.get_by_role("heading", name="Lee Learner · Page triage")).to_have_count(0)
    page.get_by_role("link", name="Everyone", exact=True).click()
    expect(page.get_by_role("heading", name="Lee Learner · Page triage")).to_be_visible()
