"""The practice loop on a phone: a goal, a drill, reps from the home page, feedback from the coach and its latency.

Also: a double tap saves one rep, a bad value is explained beside the field with the text kept, a long
queue comes a page at a time, and no page of the loop scrolls sideways at 360 px.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from failforward import clock as app_clock
from failforward.accounts.models import User
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.goals.models import Goal
from tests.e2e.conftest import LiveServer, go_to, sign_in
from tests.e2e.test_layout import MEASURE, MIN_TAP_PX, NARROW
from tests.factories import log, make_drill, make_goal

COACH, LEARNER, NEWCOMER = "carla@example.com", "lee@example.com", "nia@example.com"
NEWCOMER_PAGES = ["/", "/goals", "/ledger", "/feedback", "/log"]
# A Wednesday morning: the reps of the flow fall on one day, in the middle of an ISO week.
START = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def quick_log(page: Page):
    """The home page's quick-log card."""
    return page.get_by_role("region", name="Log a rep")


def save_rep(page: Page, value: str) -> None:
    """Type the value and tap "Save rep": the whole of logging a rep when the drill is the last one used."""
    card = quick_log(page)
    card.get_by_label("Value").fill(value)
    card.get_by_role("button", name="Save rep").click()


def expect_saved(page: Page, base_url: str, js: bool, text: str) -> None:
    """The rep was saved: in place with JavaScript (no page load, a fresh form), after a redirect without."""
    card = quick_log(page)
    expect((card if js else page).get_by_text(text)).to_be_visible()
    expect(page).to_have_url(f"{base_url}/")
    expect(card.get_by_label("Value")).to_have_value("")
    if js:  # the marker set on this document survives only if the page was not loaded again
        assert page.evaluate("window.stillTheSamePage") is True
        expect(card.get_by_label("Value")).to_be_focused()  # the phone's keyboard stays up for the next rep


def make_learner_with_coach(live_server: LiveServer) -> tuple[User, User]:
    """A coach and a learner, linked, with the contract accepted."""
    coach = live_server.make_user("Carla Coach", COACH)
    learner = live_server.make_user("Lee Learner", LEARNER)
    live_server.accept_contract(live_server.link(coach, learner))
    return coach, learner


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_learner_logs_reps_asks_for_feedback_and_sees_the_coachs_answer_and_latency(
        live_server, open_page, clock, js):
    _coach, learner = make_learner_with_coach(live_server)
    clock.set(START)
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)

    expect(me.get_by_role("heading", name="Start here, Lee Learner")).to_be_visible()
    me.get_by_role("link", name="Set your first goal").click()
    me.get_by_label("Goal", exact=True).fill("Answer pages faster")
    me.get_by_label("The behaviour to change").fill("My first response to a page takes over 10 minutes.")
    me.get_by_label("Metric").fill("first response")
    me.get_by_label("Unit").fill("min")
    expect(me.get_by_role("radio", name="Lower is better")).to_be_checked()
    me.get_by_label("Baseline (where you are now)").fill("12")
    me.get_by_label("Stretch target").fill("5")
    me.get_by_label("Target met in how many consecutive weeks?").fill("3")
    me.get_by_role("button", name="Create goal").click()

    expect(me.get_by_text("Goal created. Now design a drill that practises it.")).to_be_visible()
    expect(me.get_by_role("heading", level=1)).to_contain_text("Design a drill")
    me.get_by_label("Drill name").fill("Page triage")
    me.get_by_label("What it practises").fill("Reading an alert and acting on it within five minutes.")
    me.get_by_role("button", name="Add drill").click()
    expect(me.get_by_text("Drill added. Log your first rep from the home page.")).to_be_visible()
    expect(me.get_by_role("heading", level=1, name="Answer pages faster")).to_be_visible()
    # A second drill, first in alphabetical order, so that preselecting the last-used one means something.
    with live_server.app.app_context():
        goal = db.session.scalar(db.select(Goal).where(Goal.learner_id == learner.id))
        make_drill(goal, name="Alarm review")

    go_to(me, "Home")
    card = quick_log(me)
    expect(card.get_by_role("radio", name="Alarm review")).to_be_checked()
    if js:
        me.evaluate("window.stillTheSamePage = true")
    card.get_by_role("radio", name="Page triage").check()  # the first rep: tap the drill
    clock.set(START + timedelta(minutes=1))
    save_rep(me, "12")
    expect_saved(me, live_server.url, js, "Saved: 12 min on Page triage (miss; 7 min to go).")

    # From a freshly loaded home page, the last-used drill is picked: two interactions, type and tap.
    me.reload()
    expect(card.get_by_role("radio", name="Page triage")).to_be_checked()
    if js:
        me.evaluate("window.stillTheSamePage = true")
    clock.set(START + timedelta(minutes=2))
    save_rep(me, "8")
    expect_saved(me, live_server.url, js, "Saved: 8 min on Page triage (partial; 3 min to go).")
    expect(card.get_by_role("radio", name="Page triage")).to_be_checked()
    clock.set(START + timedelta(minutes=3))
    save_rep(me, "4.5")
    expect_saved(me, live_server.url, js, "Saved: 4.5 min on Page triage (hit; on target).")
    today = card.get_by_role("listitem")
    expect(today).to_have_count(3)
    expect(today.first).to_contain_text("4.5 min")

    today.filter(has_text="8 min").get_by_role("link", name="Ask for feedback").click()
    expect(me.get_by_role("heading", level=1, name="Ask for feedback")).to_be_visible()
    me.get_by_label("Your question (optional)").fill("Did I read the alert in the right order?")
    me.get_by_role("button", name="Send to my coach").click()
    expect(me.get_by_text("Sent to your coach.")).to_be_visible()
    expect(me).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/feedback/\d+$"))
    expect(me.get_by_text("No answer yet.")).to_be_visible()

    # Two and a half hours after the practice, the coach answers from the queue.
    clock.set(START + timedelta(minutes=2, hours=2, seconds=30 * 60))
    coach = open_page(js=js)
    sign_in(coach, live_server.url, COACH)
    go_to(coach, "Queue")
    expect(coach.get_by_text("1 waiting, nearest due first.")).to_be_visible()
    item = coach.get_by_role("listitem").filter(has=coach.get_by_role("heading", name="Lee Learner · Page triage"))
    expect(item).to_contain_text("Did I read the alert in the right order?")
    item.get_by_label("Your feedback").fill("Yes. Next time, say the first step out loud before you act.")
    item.get_by_role("button", name="Send feedback").click()
    if js:
        expect(coach.get_by_role("status").filter(
            has_text="Feedback sent to Lee Learner (2 hours 30 minutes after the practice).")).to_be_visible()
        expect(coach).to_have_url(f"{live_server.url}/queue")
    else:
        expect(coach.get_by_text("Feedback sent to Lee Learner.")).to_be_visible()
        expect(coach.get_by_text("Nothing waiting.")).to_be_visible()
    expect(coach.get_by_label("Your feedback", exact=True)).to_have_count(0)

    go_to(me, "Ledger")
    rep = me.get_by_role("listitem").filter(has_text="8 min")
    expect(rep.get_by_role("link", name="Feedback 2 hours 30 minutes after the practice")).to_be_visible()
    expect(rep.get_by_text("Yes. Next time, say the first step out loud before you act.")).to_be_visible()
    go_to(me, "Feedback")
    latency = me.get_by_role("region", name="How fast feedback arrives")
    expect(latency).to_contain_text(re.compile(r"Median\s*2 hours 30 minutes"))
    expect(latency).to_contain_text(re.compile(r"Answered late\s*0 of 1"))
    # Latency counts from the practice; the request came a minute after it.
    answered = r"Answered 2 hours 30 minutes after your practice, 2 hours \d+ minutes after you asked"
    expect(me.get_by_text(re.compile(answered))).to_be_visible()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_double_tap_saves_one_rep_and_a_bad_value_is_explained_beside_the_field(live_server, open_page, js):
    learner = live_server.make_user("Lee Learner", LEARNER)
    with live_server.app.app_context():
        make_drill(make_goal(db.session.get(User, learner.id)), name="Page triage")
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)
    card = quick_log(me)
    value = card.get_by_label("Value")

    value.fill("4")
    if js:
        card.get_by_role("button", name="Save rep").dblclick()
        expect(card.get_by_text("Saved: 4 min on Page triage (hit; on target).")).to_be_visible()
    else:
        # Without JavaScript nothing stops the second tap: the same form arrives twice.
        form = {name: card.locator(f"input[name={name}]").input_value() for name in ("csrf_token", "idempotency_key")}
        form |= {"drill_id": card.get_by_role("radio", name="Page triage").get_attribute("value"), "value": "4"}
        card.get_by_role("button", name="Save rep").click()
        expect(me.get_by_text("Saved: 4 min on Page triage (hit; on target).")).to_be_visible()
        again = me.request.post(f"{live_server.url}/reps", form=form, max_redirects=0)
        assert again.status == 303
    me.reload()
    if not js:
        expect(me.get_by_text("Already saved (you tapped twice): nothing was added.")).to_be_visible()
    expect(card.get_by_role("listitem")).to_have_count(1)

    for typed, message in (("abc", "Enter a number, like 4 or 2.5."),
                           ("", "Enter the value you measured, as a number.")):
        value.fill(typed)
        card.get_by_role("button", name="Save rep").click()
        expect(value).to_have_accessible_description(message)
        expect(value).to_have_attribute("aria-invalid", "true")
        expect(value).to_have_value(typed)
        expect(card.get_by_role("listitem")).to_have_count(1)

    value.fill("2,5")  # a comma as the decimal mark, as phones in many languages type it
    card.get_by_role("button", name="Save rep").click()
    expect(me.get_by_text("Saved: 2.5 min on Page triage (hit; on target).")).to_be_visible()
    expect(card.get_by_role("listitem").filter(has_text="2.5 min")).to_have_count(1)
    expect(value).not_to_have_attribute("aria-invalid", "true")


# --- 360 px ---------------------------------------------------------------------------------------

@dataclass
class Practice:
    """What `seed_practice` made: ids to build the pages' paths from."""

    goal: int
    drill: int
    todays_rep: int
    answered: int
    overdue: int

    def learner_pages(self) -> list[str]:
        return ["/", "/goals", "/goals/new", f"/goals/{self.goal}", f"/goals/{self.goal}/edit",
                f"/goals/{self.goal}/drills/new", f"/drills/{self.drill}/edit", "/log", "/ledger", "/ledger?page=2",
                f"/reps/{self.todays_rep}/edit", f"/reps/{self.todays_rep}/delete",
                f"/reps/{self.todays_rep}/feedback/new", "/feedback", f"/feedback/{self.answered}",
                f"/feedback/{self.overdue}"]

    def coach_pages(self) -> list[str]:
        return ["/", "/queue", f"/feedback/{self.overdue}", f"/feedback/{self.answered}", f"/goals/{self.goal}"]


def seed_practice(live_server: LiveServer, now: datetime | None = None) -> Practice:
    """A coach; a learner with seven weeks of reps on two drills, one request answered and one overdue; a newcomer.

    The clock is moved to back-date each record, then released.
    """
    now = now or datetime.now(UTC)
    coach, learner = make_learner_with_coach(live_server)
    live_server.make_user("Nia Newcomer", NEWCOMER)
    try:
        with live_server.app.app_context():
            lee, carla = db.session.get(User, learner.id), db.session.get(User, coach.id)
            app_clock.set_now(now - timedelta(weeks=7))
            goal = make_goal(lee, bottleneck="My first response to a page takes over 10 minutes while I read "
                             "dashboards.", metric_name="first response", baseline=12.0, weeks_required=3,
                             why="On-call nights feel less frightening when I know the first steps.")
            design = {"environment": "Game day simulator", "tools": "Timer, runbook", "time_box_minutes": 15,
                      "planned_reps_per_week": 4, "difficulty_note": "Alerts I have not seen before."}
            triage = make_drill(goal, name="Page triage", practises="Reading an alert and acting on it in five "
                                "minutes.", **design)
            lookup = make_drill(goal, name="Runbook lookup", practises="Finding the right runbook from the alert "
                                "text alone.", **design)
            reps = []
            for week in range(7, 0, -1):
                for day, drill in ((0, triage), (2, lookup), (4, triage)):
                    app_clock.set_now(now - timedelta(weeks=week, days=-day))
                    reps.append(log(lee, drill, round(12 - (7 - week) * 1.1 + day * 0.3, 1), duration_minutes=15,
                                    note="Steady." if day else ""))
            app_clock.set_now(reps[-3].performed_at + timedelta(hours=2))
            answered = feedback.ask(lee, reps[-3], "Was my first step the right one?")
            app_clock.set_now(reps[-3].performed_at + timedelta(hours=5))
            feedback.answer(carla, answered, "Yes: you silenced the noise first. Next time say it out loud.")
            app_clock.set_now(now - timedelta(hours=30))
            old = log(lee, triage, 7.5, duration_minutes=10, note="Lost a minute in the wrong dashboard.")
            overdue = feedback.ask(lee, old, "I froze on the second alert. What should I look at first?")
            app_clock.set_now(now - timedelta(minutes=50))
            log(lee, lookup, 8.5, duration_minutes=10)
            app_clock.set_now(now - timedelta(minutes=20))
            today = log(lee, lookup, 6, duration_minutes=12, outcome="partial",
                        adjustment="Search by the service's name first.")
            return Practice(goal=goal.id, drill=triage.id, todays_rep=today.id, answered=answered.id,
                            overdue=overdue.id)
    finally:
        app_clock.set_now(None)


def test_no_page_of_the_practice_loop_scrolls_sideways_at_360px(live_server, open_page):
    practice = seed_practice(live_server)
    trouble: dict[str, list[str]] = {}

    def look(page: Page, who: str, path: str) -> None:
        where = f"{who} {path}"
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        found = page.evaluate(MEASURE)
        if found["scrollWidth"] > found["clientWidth"]:
            trouble.setdefault(where, []).append(
                f"scrolls sideways: {found['scrollWidth']} > {found['clientWidth']} px, e.g. {found['wide']}")
        if found["small"]:
            trouble.setdefault(where, []).append(f"tap targets under {MIN_TAP_PX} px: {found['small']}")
        # The navigation is one row under the name, however many links a person has.
        header = page.locator(".site-header").bounding_box()
        if header["height"] > 2 * MIN_TAP_PX + 16:
            trouble.setdefault(where, []).append(f"the header is {header['height']:.0f} px tall")

    for who, email, paths in (("learner", LEARNER, practice.learner_pages()),
                              ("newcomer", NEWCOMER, NEWCOMER_PAGES),
                              ("coach", COACH, practice.coach_pages())):
        page = open_page(**NARROW)
        sign_in(page, live_server.url, email)
        for path in paths:
            page.goto(live_server.url + path)
            look(page, who, path)
        if who == "learner":  # the goal form with an error beside the target
            page.goto(f"{live_server.url}/goals/new")
            page.get_by_label("Goal", exact=True).fill("Run 5 km faster")
            page.get_by_label("The behaviour to change").fill("I start too fast and fade after two kilometres.")
            page.get_by_label("Metric").fill("5 km time")
            page.get_by_label("Unit").fill("minutes")
            page.get_by_label("Baseline (where you are now)").fill("28")
            page.get_by_label("Stretch target").fill("30")
            page.get_by_role("button", name="Create goal").click()
            expect(page.get_by_label("Stretch target")).to_have_accessible_description(
                re.compile("a target you already meet is not a stretch"))
            look(page, who, "/goals (with an error)")

    assert not trouble, "\n".join(f"{where}: {problems}" for where, problems in trouble.items())


def test_the_navigation_marks_the_current_page_and_reaches_every_place_at_360px(live_server, open_page):
    coach, _learner = make_learner_with_coach(live_server)
    page = open_page(**NARROW)
    sign_in(page, live_server.url, COACH)
    main = page.get_by_role("navigation", name="Main")
    # The coach's short bar: their places and More, all in view; the rest are one tap further, on More.
    for name in ("Home", "Queue", "Learners", "More"):
        expect(main.get_by_role("link", name=name, exact=True)).to_be_in_viewport()
    for name, heading in (("Settings", "Settings"), ("Queue", "Feedback queue"), ("Coaching", "Coaching"),
                          ("Feedback", "Feedback"), ("Ledger", "Practice ledger"), ("Goals", "Goals"),
                          ("Learners", "Your learners"), ("Home", "Home")):
        go_to(page, name)
        expect(page.get_by_role("heading", level=1, name=heading, exact=True)).to_have_count(1)
        shown = main.get_by_role("link", name=name, exact=True)
        current = main.locator("[aria-current]:visible")
        # A place in the short bar is marked there; one behind More marks More.
        expect(current).to_have_text(name if shown.is_visible() else "More")
        expect(current).to_be_in_viewport()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_long_queue_pages_through_twenty_at_a_time_and_answering_stays_on_the_page(live_server, open_page, js):
    coach, learner = make_learner_with_coach(live_server)
    now = datetime.now(UTC)
    with live_server.app.app_context():
        lee = db.session.get(User, learner.id)
        drill = make_drill(make_goal(lee), name="Page triage")
        try:
            for n in range(23):  # practised 23, 22 ... 1 hours ago: the oldest is due first
                app_clock.set_now(now - timedelta(hours=23 - n))
                feedback.ask(lee, log(lee, drill, 5.0 + n), f"Question {n + 1}")
        finally:
            app_clock.set_now(None)
    page = open_page(js=js, **NARROW)
    sign_in(page, live_server.url, COACH)
    go_to(page, "Queue")
    expect(page.get_by_text("23 waiting, nearest due first. Showing 1–20.")).to_be_visible()
    expect(page.locator("#queue > li")).to_have_count(20)
    expect(page.locator("#queue > li").first).to_contain_text("Question 1")
    page.get_by_role("link", name="Due later").click()
    expect(page).to_have_url(f"{live_server.url}/queue?page=2")
    expect(page.get_by_text("Showing 21–23.")).to_be_visible()
    items = page.locator("#queue > li")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Question 21")
    items.first.get_by_label("Your feedback").fill("Name the alert before you open a dashboard.")
    items.first.get_by_role("button", name="Send feedback").click()
    if js:  # answered in place: the item says so, the other two stay below it
        expect(items.first).to_contain_text("Feedback sent to Lee Learner")
        expect(items).to_have_count(3)
        expect(items.nth(2)).to_contain_text("Question 23")
        page.reload()
    else:  # back to the same page of the queue, one request fewer
        expect(page).to_have_url(f"{live_server.url}/queue?page=2")
        expect(page.get_by_text("Feedback sent to Lee Learner.")).to_be_visible()
    expect(page.get_by_text("22 waiting, nearest due first. Showing 21–22.")).to_be_visible()
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Question 22")
    expect(page.get_by_role("link", name="Due sooner")).to_be_visible()
