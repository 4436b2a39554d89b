"""The personal contract page (from Settings; 422 with the text kept), the home card of a due follow-up and
writing the lesson from it, and the coach's queue page: their learners' follow-ups, nobody else's."""

import html
from datetime import UTC, datetime, timedelta

import pytest

from failforward.extensions import db
from failforward.thresholds import services
from failforward.thresholds.models import DRILL_MISSES, FollowUp
from tests.factories import field_error, input_value, link, log, make_drill, make_goal, text
from tests.test_query_counts import counting_queries
from tests.thresholds_world import personal_contract_form as contract_form

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def people(app, clock, make_user):
    clock.set(NOW)
    learner, coach, stranger = make_user(name="Lee Learner"), make_user(name="Casey Coach"), make_user(name="Sam")
    link(coach, learner)
    return learner, coach, stranger


@pytest.fixture
def due_lesson(people):
    """Three misses on Lee's drill made a lesson due."""
    learner = people[0]
    drill = make_drill(make_goal(learner))
    for value in (12.0, 13.0, 14.0):
        log(learner, drill, value)
    services.fire_due()
    return db.session.scalar(db.select(FollowUp))


def test_the_contract_page_is_reached_from_settings_and_shows_the_defaults(client, login, people):
    login(people[0])
    assert 'href="/contract"' in text(client.get("/settings"))
    page = text(client.get("/contract"))
    assert "My learning contract" in page and "Misses on one drill within a few days" in page
    assert input_value(client.get("/contract"), "drill_misses_count") == "3"
    assert "tripwires are coming" not in page  # issue 9's pre-mortems are here: the rule fires on their tripwires
    assert "Tripwires come from your pre-mortems" in page


def test_a_visitor_is_sent_to_sign_in(client, people):
    assert client.get("/contract").status_code == 302
    assert client.post("/contract", data=contract_form()).status_code in (302, 400)


def test_saving_the_contract_changes_the_rules(client, login, people):
    learner = people[0]
    login(learner)
    response = client.post("/contract", data=contract_form(drill_misses_count="2", drill_misses_follow_up="review",
                                                           commitments="We fix the process."))
    assert response.status_code == 303 and response.location == "/contract"
    page = services.contract_page(learner)
    rule = next(r for r in page.rules if r.kind == DRILL_MISSES)
    assert (rule.count, rule.follow_up, page.contract.commitments) == (2, "review", "We fix the process.")


def test_bad_input_answers_422_beside_the_field_and_keeps_the_text(client, htmx_client, login, people):
    learner = people[0]
    login(learner)
    response = client.post("/contract", data=contract_form(drill_misses_days="40", commitments="Kept ✨ שלום"))
    assert response.status_code == 422
    assert "Pick a number from 1 to 31." in field_error(response, "drill_misses_days")
    assert "Kept ✨ שלום" in html.unescape(text(response)) and input_value(response, "drill_misses_days") == "40"
    rule = next(r for r in services.contract_page(learner).rules if r.kind == DRILL_MISSES)
    assert rule.days == 7


def test_the_home_card_links_to_the_lesson_and_goes_away_once_it_is_written(client, login, people, due_lesson):
    learner = people[0]
    login(learner)
    home = text(client.get("/"))
    assert "3 misses on Pager drill within 7 days" in home and "Due by Sat 7 Mar, 15:00" in home
    assert f'href="/lessons/new?followup={due_lesson.id}"' in home and "Write the lesson" in home
    form = text(client.get(f"/lessons/new?followup={due_lesson.id}"))
    assert f'value="followup:{due_lesson.id}"' in form and "3 misses on Pager drill within 7 days" in form
    response = client.post("/lessons", data={"happened_on": "2026-03-04", "what_failed": "Three misses in a row",
                                             "source": f"followup:{due_lesson.id}",
                                             "idempotency_key": "lesson-from-follow-up"})
    assert response.status_code == 303
    assert "3 misses on Pager drill" not in text(client.get("/"))


def test_a_strangers_follow_up_is_neither_shown_nor_completed(client, login, people, due_lesson):
    stranger = people[2]
    login(stranger)
    assert "3 misses" not in text(client.get("/"))
    assert "3 misses on Pager drill" not in text(client.get(f"/lessons/new?followup={due_lesson.id}"))
    client.post("/lessons", data={"happened_on": "2026-03-04", "what_failed": "Not mine",
                                  "source": f"followup:{due_lesson.id}", "idempotency_key": "stranger-lesson"})
    assert db.session.get(FollowUp, due_lesson.id).done_at is None


def test_the_coach_sees_it_due_on_the_queue_page_and_a_stranger_does_not(client, login, people, due_lesson):
    _learner, coach, stranger = people
    login(coach)
    queue = text(client.get("/queue"))
    assert "Lee Learner" in queue and "3 misses on Pager drill within 7 days" in queue
    login(stranger)
    assert "3 misses on Pager drill" not in text(client.get("/queue"))


def add_follow_ups(learner, first: int, last: int) -> None:
    db.session.add_all(FollowUp(learner_id=learner.id, kind="lesson", reason=f"Rule {i}", occurrence_key=f"test:{i}",
                                fired_at=NOW, due_at=NOW + timedelta(hours=i)) for i in range(first, last))
    db.session.commit()


def test_the_home_and_queue_pages_query_as_often_with_30_follow_ups_as_with_1(app, login, people):
    learner, coach, _ = people
    counts = []
    for first, last in ((0, 1), (1, 30)):
        add_follow_ups(learner, first, last)
        measured = []
        for user, url in ((learner, "/"), (coach, "/queue")):
            browser = app.test_client()
            login(user, browser)
            with counting_queries() as statements:
                page = browser.get(url).get_data(as_text=True)
            assert f"Rule {last - 1}" in page
            measured.append(len(statements))
        counts.append(measured)
    assert counts[0] == counts[1]
