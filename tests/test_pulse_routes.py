"""The pulse pages: answering from the emailed link (once, kindly refused after), answering signed in, a learner's
own answers, the coach's aggregates (nothing until 3 learners answered a closed period, never a name), who gets
404; and a coach's lesson shared with their learners."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from failforward.calendar import day_start
from failforward.checkins.models import WeeklyCheckin
from failforward.checkins.services import answer_token as checkin_token
from failforward.extensions import db
from failforward.pulse import services
from failforward.pulse.models import Pulse
from tests.factories import count, field_error, link, text

PERIOD = date(2026, 3, 23)
NEXT = PERIOD + timedelta(weeks=4)
LONG_AGO = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ANSWERS = {"mistakes": "5", "problems": "4", "help": "4", "skills": "3", "risks": "2",
           "comment": "Sessions feel safe"}


@pytest.fixture
def coach(make_user, clock):
    clock.set(LONG_AGO)
    return make_user(name="Casey Coach")


@pytest.fixture
def team(make_user, clock, coach):
    """Three learners of Casey's, each with this period's pulse open."""
    clock.set(LONG_AGO)
    people = [make_user(name=name) for name in ("Lee Learner", "Ana Alvarez", "Bo Berg")]
    for person in people:
        link(coach, person)
    clock.set(datetime(2026, 3, 23, 9, 0, tzinfo=UTC))
    services.create_due()
    return people


def pulse_of(person) -> Pulse:
    db.session.expire_all()
    return db.session.scalar(db.select(Pulse).filter_by(learner_id=person.id))


def link_path(person) -> str:
    return f"/pulse/answer/{services.answer_token(pulse_of(person))}"


# --- from the emailed link ---------------------------------------------------------------------------

def test_opening_the_link_shows_the_form_and_changes_nothing(client, team):
    path = link_path(team[0])
    for _ in range(2):  # a mail scanner, then the person
        page = client.get(path)
        assert page.status_code == 200
        html = text(page)
        assert "How is your coaching with Casey Coach going?" in html and "Send my answers" in html
        assert "does not hold it against me" in html and html.count('type="radio"') == 25
    assert pulse_of(team[0]).answered_at is None


def test_answering_from_the_link_saves_once_and_a_second_go_is_refused_kindly(client, team):
    path = link_path(team[0])
    saved = client.post(path, data=ANSWERS)
    assert saved.status_code == 200 and "Thank you" in text(saved)
    pulse = pulse_of(team[0])
    assert (pulse.mistakes, pulse.risks, pulse.comment) == (5, 2, "Sessions feel safe")
    again = client.post(path, data={**ANSWERS, "mistakes": "1"})
    assert again.status_code == 409 and "answered this pulse already" in text(again)
    assert pulse_of(team[0]).mistakes == 5
    opened = client.get(path)
    assert opened.status_code == 200 and "answered this pulse already" in text(opened) and "Send my" not in text(opened)


def test_a_missing_answer_is_asked_for_beside_it_and_the_comment_is_kept(client, team):
    response = client.post(link_path(team[0]), data={**ANSWERS, "help": ""})
    assert response.status_code == 422
    assert "Pick a number from 1 (disagree) to 5 (agree)." in field_error(response, "help")
    assert "Sessions feel safe" in text(response) and pulse_of(team[0]).answered_at is None
    wrong = client.post(link_path(team[0]), data={**ANSWERS, "skills": "7"})
    assert wrong.status_code == 422 and field_error(wrong, "skills")


def test_a_closed_pulse_says_so_and_takes_nothing(client, clock, team):
    path = link_path(team[0])
    clock.set(day_start(NEXT, UTC))
    assert "closed on 19 April without an answer" in text(client.get(path))
    refused = client.post(path, data=ANSWERS)
    assert refused.status_code == 409 and pulse_of(team[0]).answered_at is None


def test_damaged_and_other_links_are_refused_with_their_reason(client, team):
    damaged = client.get(link_path(team[0])[:-4] + "abcd")
    assert damaged.status_code == 400 and "damaged" in text(damaged)
    checkin = WeeklyCheckin(user_id=team[0].id, iso_week="2026-W13", reviewed_week=PERIOD)
    db.session.add(checkin)
    db.session.commit()
    other = client.get(f"/pulse/answer/{checkin_token(checkin)}")
    assert other.status_code == 400 and "meant for something else" in text(other)


# --- signed in ---------------------------------------------------------------------------------------

def test_the_home_card_leads_to_the_form_and_the_answers_page_shows_them(client, login, team):
    login(team[0])
    home = text(client.get("/"))
    pulse = pulse_of(team[0])
    assert "A one-minute pulse" in home and f"/pulse/{pulse.id}" in home
    saved = client.post(f"/pulse/{pulse.id}", data=ANSWERS)
    assert saved.status_code == 303 and saved.location == "/pulse"
    mine = text(client.get("/pulse"))
    assert "Sessions feel safe" in mine and "5 of 5" in mine and "with Casey Coach" in mine
    assert "A one-minute pulse" not in text(client.get("/"))
    assert client.get(f"/pulse/{pulse.id}").status_code == 302  # answered: off to the answers page


def test_a_pulse_is_404_to_its_coach_and_to_anyone_else(client, login, coach, team, make_user):
    pulse = pulse_of(team[0])
    for someone in (coach, team[1], make_user()):
        browser = client.application.test_client()
        login(someone, browser)
        assert browser.get(f"/pulse/{pulse.id}").status_code == 404
        assert browser.post(f"/pulse/{pulse.id}", data=ANSWERS).status_code == 404
    assert pulse_of(team[0]).answered_at is None


# --- the coach's page ----------------------------------------------------------------------------------

def answer(person, **changes) -> None:
    scores = {name: int(ANSWERS[name]) for name in ("mistakes", "problems", "help", "skills", "risks")}
    assert services.answer(pulse_of(person), {**scores, **changes}, changes.pop("comment", ""))


def coach_page(client, login, coach) -> str:
    """The coach's pulse page, signed in afresh (the clock moved past the session's age)."""
    login(coach)
    return text(client.get("/pulse/coach"))


def test_the_coach_sees_nothing_with_two_answers_and_the_averages_with_three(client, clock, login, coach, team):
    answer(team[0])
    answer(team[1], mistakes=3)
    clock.set(day_start(NEXT, UTC))
    page = coach_page(client, login, coach)
    assert "Not enough answers to show without identifying anyone" in page and "at least 3 learners" in page
    assert 'id="latest-heading"' not in page

    clock.set(day_start(PERIOD + timedelta(days=3), UTC))
    answer(team[2], mistakes=4)
    page = coach_page(client, login, coach)
    assert "open until 19 April" in page and 'id="latest-heading"' not in page  # still open: nothing shown
    clock.set(day_start(NEXT, UTC))
    page = coach_page(client, login, coach)
    assert "3 learners answered" in page and "Not enough answers" not in page
    assert re.search(r"does not hold it against me\.</th>\s*<td><meter[^>]*>4\.0</meter> 4\.0</td>\s*<td>67%", page)
    for name in ("Lee Learner", "Ana Alvarez", "Bo Berg"):
        assert name not in page


def test_comments_show_in_alphabetical_order(client, clock, login, coach, team):
    scores = {name: 4 for name in ("mistakes", "problems", "help", "skills", "risks")}
    for person, comment in zip(team, ("zany drills", "Clear plans", "more feedback"), strict=True):
        assert services.answer(pulse_of(person), scores, comment)
    clock.set(day_start(NEXT, UTC))
    page = coach_page(client, login, coach)
    assert page.index("Clear plans") < page.index("more feedback") < page.index("zany drills")


def test_the_coach_page_is_404_for_someone_who_coaches_nobody(client, login, team):
    login(team[0])
    assert client.get("/pulse/coach").status_code == 404
    assert "Pulse</a>" not in text(client.get("/"))


def test_the_coach_reaches_the_page_from_the_menu_and_the_coaching_page(client, login, coach, team):
    login(coach)
    assert 'href="/pulse/coach"' in text(client.get("/")) and 'href="/pulse/coach"' in text(client.get("/coaching"))


# --- a coach's lesson for their learners ---------------------------------------------------------------

LESSON = {"happened_on": "2026-03-20", "what_failed": "I cancelled a session at an hour's notice",
          "try_next": "Block travel days first", "idempotency_key": "coach-lesson-1"}


def test_a_coach_shares_a_lesson_and_their_learner_reads_it(client, login, coach, team, make_user):
    login(coach)
    form = text(client.get("/lessons/new"))
    assert "Share this lesson with my learners" in form
    assert client.post("/lessons", data={**LESSON, "shared_with_learners": "y"}).status_code == 303
    learner = client.application.test_client()
    login(team[0], learner)
    assert "Share this lesson with my learners" not in text(learner.get("/lessons/new"))
    lessons_page = text(learner.get("/lessons"))
    assert "Lessons from your coach" in lessons_page and "Block travel days first" in lessons_page
    stranger = client.application.test_client()
    login(make_user(), stranger)
    assert "I cancelled a session" not in text(stranger.get("/lessons"))


def test_a_learners_own_share_with_learners_box_is_ignored(client, login, team):
    login(team[0])
    assert client.post("/lessons", data={**LESSON, "shared_with_learners": "y"}).status_code == 303
    assert count(db.metadata.tables["lesson"], db.metadata.tables["lesson"].c.shared_with_learners) == 0
