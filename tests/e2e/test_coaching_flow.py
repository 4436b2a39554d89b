"""A coach signs up, invites a learner, the learner signs up from the invite and accepts it and the contract."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import go_to, mail_link

NEW_PASSWORD = "tidal pools at dawn"


def sign_up_by_mail(page: Page, inbox, name: str, email: str) -> None:
    """Fill the sign-up form (already open), open the emailed link and create the account."""
    expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()

    page.goto(mail_link(inbox, email))
    expect(page.get_by_role("heading", level=1, name="One last step")).to_be_visible()
    page.get_by_role("button", name="Create my account").click()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_coach_invites_learner_who_accepts_invite_and_contract(live_server, open_page, inbox, js):
    coach, learner = open_page(js=js), open_page(js=js)

    coach.goto(live_server.url)
    coach.get_by_role("link", name="Create an account").click()
    sign_up_by_mail(coach, inbox, "Carla Coach", "carla@example.com")
    expect(coach.get_by_text("Signed in as Carla Coach", exact=True)).to_be_visible()
    expect(coach.get_by_text("Welcome, Carla Coach. Your account is ready.")).to_be_visible()

    go_to(coach, "Coaching")
    expect(coach.get_by_text("No learners yet.")).to_be_visible()
    coach.get_by_role("button", name="Create invite link").click()
    expect(coach.get_by_text("Invite ready.")).to_be_visible()
    invite_url = coach.get_by_label("Invite link").input_value()
    assert invite_url.startswith(f"{live_server.url}/invite/")

    learner.goto(invite_url)
    expect(learner.get_by_role("heading", level=1, name="Carla Coach invites you")).to_be_visible()
    learner.get_by_role("link", name="Create an account").click()
    sign_up_by_mail(learner, inbox, "Lee Learner", "lee@example.com")
    # The emailed link brings the new learner back to the invite, signed in.
    expect(learner).to_have_url(invite_url)
    learner.get_by_role("button", name="Accept Carla Coach as my coach").click()
    expect(learner.get_by_text("Carla Coach is now your coach.")).to_be_visible()
    expect(learner.get_by_role("heading", level=1, name="Coached by Carla Coach")).to_be_visible()
    expect(learner.get_by_text("Not accepted yet. Read it, then accept it at the end.")).to_be_visible()
    learner.get_by_role("button", name="I accept this contract").click()
    expect(learner.get_by_text("Contract accepted.")).to_be_visible()
    # The next step is the learner's first goal, not a page whose only button ends the link.
    learner.get_by_role("link", name="Set your first goal").click()
    expect(learner.get_by_role("heading", level=1, name="Set a stretch goal")).to_be_visible()
    learner.go_back()
    learner.get_by_role("link", name="Carla Coach").click()
    expect(learner.get_by_text(re.compile(r"^You accepted it on "))).to_be_visible()
    expect(learner.get_by_role("button", name="I accept this contract")).to_have_count(0)

    go_to(coach, "Coaching")
    learners = coach.get_by_role("region", name="Your learners")
    learners.get_by_role("link", name="Lee Learner").click()
    expect(coach.get_by_role("heading", level=1, name="Coaching Lee Learner")).to_be_visible()
    expect(coach.get_by_text(re.compile(r"^Accepted by Lee Learner on "))).to_be_visible()
    # The used invite no longer shows as open.
    go_to(coach, "Coaching")
    expect(coach.get_by_label("Invite link")).to_have_count(0)

    go_to(learner, "Coaching")
    coaches = learner.get_by_role("region", name="Your coaches")
    expect(coaches.get_by_role("link", name="Carla Coach")).to_be_visible()
    go_to(learner, "Home")
    expect(learner.get_by_role("link", name="Carla Coach")).to_be_visible()
