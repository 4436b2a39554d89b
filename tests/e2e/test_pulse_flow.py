"""A learner answers the safety pulse from the emailed link on a phone, once; after the period closes, their coach
reads the averages on a laptop, with no name on the page."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from failforward import tasks
from failforward.extensions import db
from failforward.pulse import services
from failforward.pulse.models import STATEMENTS, Pulse
from tests.e2e.conftest import go_to, mail_link, sign_in

LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
MY_ANSWERS = {"mistakes": "4", "problems": "3", "help": "4", "skills": "2", "risks": "3"}


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_learner_answers_from_the_email_and_the_coach_reads_the_averages(live_server, open_page, inbox, clock, js):
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    coach = live_server.make_user("Carla Coach", "carla@example.com")
    learners = [live_server.make_user(name, f"{name.split()[0].lower()}@example.com")
                for name in ("Lee Learner", "Ana Alvarez", "Bo Berg")]
    for learner in learners:
        live_server.link(coach, learner)
    with live_server.app.app_context():
        clock.set(datetime(2026, 3, 23, 9, 0, tzinfo=UTC))  # a period begins: every learner is asked
        tasks.sweep.call_local()

    phone = open_page(js=js)
    phone.goto(mail_link(inbox, "lee@example.com"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("How is your coaching with Carla Coach going?")
    for name, value in MY_ANSWERS.items():
        phone.get_by_role("group", name=STATEMENTS[name]).get_by_role("radio", name=value, exact=True).check()
    phone.get_by_label("Anything else? (optional)").fill("Feedback comes fast and kind.")
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("heading", level=1, name="Thank you")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"

    phone.goto(mail_link(inbox, "lee@example.com"))  # a second go is refused, kindly
    expect(phone.get_by_text("You have answered this pulse already")).to_be_visible()
    expect(phone.get_by_role("button", name="Send my answers")).to_have_count(0)

    with live_server.app.app_context():
        for learner, help_score in zip(learners[1:], (5, 2), strict=True):
            pulse = db.session.scalar(db.select(Pulse).filter_by(learner_id=learner.id))
            assert services.answer(pulse, {**{n: 4 for n in STATEMENTS}, "help": help_score}, "")

    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))  # the period has closed
    laptop = open_page(js=js, **LAPTOP)
    sign_in(laptop, live_server.url, "carla@example.com")
    go_to(laptop, "Pulse")
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Safety pulse")
    latest = laptop.get_by_role("heading", level=2, name="23 Mar to 19 Apr 2026 · 3 learners answered")
    expect(latest).to_be_visible()
    # help: (4 + 5 + 2) / 3 = 3.7, agreeing 2 of 3
    row = laptop.get_by_role("row", name=re.compile(re.escape(STATEMENTS["help"])))
    expect(row).to_contain_text("3.7")
    expect(row).to_contain_text("67%")
    expect(laptop.get_by_text("Feedback comes fast and kind.")).to_be_visible()
    for learner in learners:
        expect(laptop.get_by_text(learner.name)).to_have_count(0)
