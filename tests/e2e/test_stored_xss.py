"""Names that look like markup, scripts or template code are shown as text, never run."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import go_to, sign_in

PAYLOAD = '<img src=x onerror=alert(1)>"><script>alert(2)</script>{{7*191919}}'
COACH_NAME = f"Coach {PAYLOAD}"
LEARNER_NAME = f"Learner {PAYLOAD}"


def test_hostile_names_render_as_text_on_home_and_coaching_pages(live_server, open_page):
    coach = live_server.make_user(COACH_NAME, "coach@example.com")
    learner = live_server.make_user("Lee Learner", "lee@example.com")
    live_server.link(coach, learner)
    spare_invite = live_server.invite_url(coach)

    # The learner types the hostile name into the settings form: stored through the real form.
    as_learner = open_page()
    sign_in(as_learner, live_server.url, "lee@example.com")
    go_to(as_learner, "Settings")
    as_learner.get_by_label("Your name").fill(LEARNER_NAME)
    as_learner.get_by_role("button", name="Save settings").click()
    expect(as_learner.get_by_text("Settings saved.")).to_be_visible()
    expect(as_learner.get_by_label("Your name")).to_have_value(LEARNER_NAME)

    as_learner.goto(live_server.url)
    expect(as_learner.get_by_role("main")).to_contain_text(LEARNER_NAME)
    expect(as_learner.get_by_role("link", name=COACH_NAME, exact=True)).to_be_visible()
    expect(as_learner.get_by_text(f"Signed in as {LEARNER_NAME}", exact=True)).to_be_visible()
    assert_nothing_ran(as_learner, open_page)

    as_learner.goto(f"{live_server.url}/coaching")
    coaches = as_learner.get_by_role("region", name="Your coaches")
    coaches.get_by_role("link", name=COACH_NAME, exact=True).click()
    expect(as_learner.get_by_role("heading", level=1)).to_have_text(f"Coached by {COACH_NAME}")
    as_learner.get_by_role("button", name="I accept this contract").click()
    expect(as_learner.get_by_text("Contract accepted.")).to_be_visible()
    assert_nothing_ran(as_learner, open_page)

    as_learner.goto(spare_invite)
    expect(as_learner.get_by_role("heading", level=1)).to_have_text(f"{COACH_NAME} invites you")
    expect(as_learner.get_by_role("alert")).to_have_text(f"{COACH_NAME} is already your coach.")
    assert_nothing_ran(as_learner, open_page)

    as_coach = open_page()
    sign_in(as_coach, live_server.url, "coach@example.com")
    # A coach's home starts with the learners who need them (Lee has not practised), not their own name.
    expect(as_coach.get_by_role("region", name="Learners who need you")).to_contain_text(LEARNER_NAME)
    expect(as_coach.get_by_text(f"Signed in as {COACH_NAME}", exact=True)).to_be_visible()
    expect(as_coach.get_by_role("link", name=LEARNER_NAME, exact=True)).to_be_visible()
    assert_nothing_ran(as_coach, open_page)

    as_coach.goto(f"{live_server.url}/coaching")
    learners = as_coach.get_by_role("region", name="Your learners")
    learners.get_by_role("link", name=LEARNER_NAME, exact=True).click()
    expect(as_coach.get_by_role("heading", level=1)).to_have_text(f"Coaching {LEARNER_NAME}")
    expect(as_coach.get_by_text(re.compile(rf"^Accepted by {re.escape(LEARNER_NAME)} on "))).to_be_visible()
    assert_nothing_ran(as_coach, open_page)


def assert_nothing_ran(page, open_page) -> None:
    """No injected element exists, and no dialog, CSP violation, script error or off-site request happened."""
    expect(page.locator("main img, main script, #main [onerror]")).to_have_count(0)
    # 7*191919: a product no date, time or count on the page can spell (7*7 once met "22:49").
    assert "1343433" not in page.locator("main").inner_text()
    assert open_page.problems(page) == {}, f"{page.url}: {open_page.problems(page)}"
