"""A study session on a phone, JavaScript on and off: import 10 items, study 5 (some wrong), see them come
back due after the clock moves, and see the stats page count them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.study import services
from tests.e2e.conftest import sign_in

LEARNER = "lee@example.com"
START = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
ITEMS = "\n".join(f"Capital number {i}?,City {i}" for i in range(10))


def answer(page: Page, text: str, confidence: str) -> None:
    """Type an answer, say how sure, and ask for the reveal."""
    card = page.locator("#study-card")
    card.get_by_label("Your answer").fill(text)
    card.get_by_label(confidence, exact=True).check()
    card.get_by_role("button", name="Check my answer").click()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_import_study_come_back_due_and_count_the_errors(live_server, open_page, clock, js):
    clock.set(START)
    live_server.make_user("Lee Learner", LEARNER)
    me = open_page(js=js)
    sign_in(me, live_server.url, LEARNER)

    me.goto(f"{live_server.url}/study")
    me.get_by_role("link", name="New deck").click()
    me.get_by_label("Name").fill("Capitals")
    me.get_by_role("button", name="Create deck").click()
    expect(me.get_by_role("heading", name="Capitals")).to_be_visible()

    me.get_by_role("link", name="Import").click()
    me.get_by_label("Lines to import").fill(ITEMS + "\nonly a prompt")
    me.get_by_role("button", name="Preview").click()
    expect(me.get_by_text("Needs at least two columns")).to_be_visible()
    me.get_by_role("button", name="Import 10 items").click()
    expect(me.get_by_text("Imported 10 items.")).to_be_visible()

    me.get_by_role("link", name="Study this deck").first.click()
    card = me.locator("#study-card")
    for i in range(5):
        expect(card.get_by_role("heading", name=f"Capital number {i}?")).to_be_visible()
        wrong = i < 2
        answer(me, "Somewhere else" if wrong else f"city  {i}", "5 · certain" if wrong else "3")
        if wrong:
            expect(card.get_by_text("Not quite")).to_be_visible()
            expect(card.locator("ins")).to_have_count(0)  # far from the answer: shown plainly, no letter marks
            expect(card.get_by_role("button", name="Good")).to_have_count(0)  # a wrong answer's next step: Again
            card.get_by_role("radio", name=re.compile("^Related error")).check()
            card.get_by_text("Add why you thought that").click()
            card.get_by_label("Why I thought that").fill("I mixed them up")
            card.get_by_role("button", name="Again").click()
        else:
            expect(card.locator(".status--ok")).to_contain_text("Right (case, spacing or accents aside)")
            card.get_by_role("button", name="Good").click()
        # The rating is saved (the next item is showing) before anything else happens, the clock included.
        expect(card.get_by_role("heading", name=f"Capital number {i + 1}?")).to_be_visible()

    clock.set(START + timedelta(days=2))
    me.goto(f"{live_server.url}/study")
    expect(me.get_by_text("5 due · 5 new")).to_be_visible()

    me.get_by_role("link", name="Start studying").click()
    expect(card.get_by_role("heading", name="Capital number 0?")).to_be_visible()
    answer(me, "City 0", "4")
    card.get_by_role("button", name="Good").click()
    expect(card.get_by_role("heading", name="Capital number 1?")).to_be_visible()

    me.goto(f"{live_server.url}/study")
    me.get_by_role("link", name="Stats").click()
    figures = me.locator("dl.figures")
    expect(figures.get_by_text("Reviews")).to_be_visible()
    expect(figures.locator("dd").nth(0)).to_have_text("6")
    expect(figures.locator("dd").nth(1)).to_have_text("2")
    expect(me.locator("#became-knowledge")).to_have_text("1 of 2")
    expect(me.get_by_text("…feeling sure (4–5)")).to_be_visible()
    expect(me.get_by_role("img", name="Share of wrong answers per week")).to_be_visible()


def test_the_reveal_puts_the_next_step_on_a_phones_first_screen(live_server, open_page, clock):
    """On a 390 x 844 phone: a wrong answer shows the right one, its kind of error and "Again" without
    scrolling; a right one shows Hard, Good and Easy. Confidence starts in the middle: no tap needed."""
    clock.set(START)
    person = live_server.make_user("Lee Learner", LEARNER)
    with live_server.app.app_context():
        learner = db.session.get(User, person.id)
        deck = services.create_deck(learner, learner, "Verbs", "")
        for prompt, answer_text in (("to remember (Spanish)", "recordar"), ("to forget (Spanish)", "olvidar")):
            services.create_item(learner, deck, {"prompt": prompt, "answer": answer_text})
    me = open_page()
    sign_in(me, live_server.url, LEARNER)
    me.goto(f"{live_server.url}/study/session")
    card = me.locator("#study-card")
    expect(card.get_by_role("radio", name="3", exact=True)).to_be_checked()
    card.get_by_label("Your answer").fill("acordarse de algo")
    card.get_by_role("button", name="Check my answer").click()
    expect(card.get_by_text("recordar", exact=True)).to_be_in_viewport()
    expect(card.get_by_role("radio", name=re.compile("^Did not know"))).to_be_in_viewport()
    expect(card.get_by_role("button", name="Again")).to_be_in_viewport(ratio=1)
    expect(card.get_by_role("button", name="Good")).to_have_count(0)
    card.get_by_role("radio", name=re.compile("^Unrelated error")).check()
    card.get_by_role("button", name="Again").click()

    card.get_by_label("Your answer").fill("Olvidar")
    card.get_by_role("button", name="Check my answer").click()
    for rating in ("Hard", "Good", "Easy"):
        expect(card.get_by_role("button", name=rating)).to_be_in_viewport(ratio=1)
    expect(card.get_by_role("button", name="Again")).not_to_be_visible()  # folded under "an error after all?"
