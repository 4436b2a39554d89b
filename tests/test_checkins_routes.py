"""Answering the weekly check-in from the emailed link (once), revising it signed in, and who may read it."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous.timed import TimestampSigner

from failforward import tasks
from failforward.accounts.models import User
from failforward.checkins.models import WeeklyCheckin
from failforward.coaching import access
from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.signing import sign
from tests.conftest import Inbox
from tests.factories import link, text

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ANSWERS = {"went_well": "Acknowledged every page within two minutes.",
           "failed": "Froze on the second page of the night.",
           "try_next": "Read the runbook aloud before paging out."}


@pytest.fixture
def learner(make_user, clock):
    clock.set(MONDAY - timedelta(days=30))
    return make_user(name="Lee Learner", checkin_always=True)


@pytest.fixture
def coach(make_user, learner):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    return coach


@pytest.fixture
def checkin_link(app, clock, inbox, learner, coach) -> str:
    """The path of the answer link in this week's check-in email."""
    clock.set(MONDAY)
    db.session.commit()
    tasks.sweep.call_local()
    # the check-in's mail (the safety pulse of a coached learner may come the same morning)
    [mail] = [m for m in inbox.to(learner.email) if "check-in" in m["Subject"]]
    body = Inbox.body(mail)
    url = re.search(r"http://localhost(/checkins/answer/\S+)", body)
    assert url, body
    return url.group(1)


def the_checkin() -> WeeklyCheckin:
    """Lee's check-in of this week (the coach has one of their own)."""
    db.session.expire_all()
    return db.session.scalar(db.select(WeeklyCheckin).join(WeeklyCheckin.user).where(User.name == "Lee Learner"))


def textarea(response, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', text(response), re.S)
    assert found, f"no textarea {name}"
    return found.group(1).strip()


def test_opening_the_link_shows_the_form_and_changes_nothing(client, checkin_link):
    for _ in range(2):  # a mail scanner, then the person
        page = client.get(checkin_link)
        assert page.status_code == 200
        html = text(page)
        assert "Your week of 23 February" in html
        for label in ("What went well?", "What failed, or nearly did?", "What will you try next week?"):
            assert label in html
        assert 'method="post"' in html and "Save my check-in" in html
    checkin = the_checkin()
    assert (checkin.answered_at, checkin.went_well, checkin.failed, checkin.try_next) == (None, "", "", "")


def test_answering_stores_the_three_answers(client, clock, checkin_link):
    clock.set(MONDAY + timedelta(hours=3))
    saved = client.post(checkin_link, data=ANSWERS)
    assert saved.status_code == 200
    assert "Check-in saved" in text(saved) and "Read the runbook aloud before paging out." in text(saved)
    checkin = the_checkin()
    assert (checkin.went_well, checkin.failed, checkin.try_next) == tuple(ANSWERS.values())
    assert checkin.answered_at == MONDAY + timedelta(hours=3)


def test_one_answer_is_enough(client, checkin_link):
    assert client.post(checkin_link, data={"failed": "Skipped two sessions."}).status_code == 200
    assert (the_checkin().went_well, the_checkin().failed) == ("", "Skipped two sessions.")


def test_no_answer_at_all_is_refused_with_422(client, checkin_link):
    refused = client.post(checkin_link, data={"went_well": "  ", "failed": "", "try_next": "\n"})
    assert refused.status_code == 422 and "Answer at least one question." in text(refused)
    assert the_checkin().answered_at is None


def test_a_refused_answer_keeps_the_text(client, checkin_link):
    refused = client.post(checkin_link, data={"went_well": "x" * 4001, "try_next": ANSWERS["try_next"]})
    assert refused.status_code == 422
    assert textarea(refused, "try_next") == ANSWERS["try_next"]
    assert textarea(refused, "went_well") == "x" * 4001
    assert the_checkin().answered_at is None
    # The link still works afterwards: a refusal used nothing up.
    assert client.post(checkin_link, data={"try_next": ANSWERS["try_next"]}).status_code == 200


def test_the_link_acts_once_then_the_learner_revises_signed_in(client, login, learner, checkin_link):
    assert client.post(checkin_link, data=ANSWERS).status_code == 200
    again = client.post(checkin_link, data={"went_well": "Something else entirely."})
    assert again.status_code == 400
    assert "This check-in is answered already. Sign in to change the answers." in text(again)
    assert the_checkin().went_well == ANSWERS["went_well"]

    login(learner)
    checkin_id = the_checkin().id
    form = client.get(f"/checkins/{checkin_id}")
    assert form.status_code == 200 and textarea(form, "went_well") == ANSWERS["went_well"]
    revised = client.post(f"/checkins/{checkin_id}", data={**ANSWERS, "went_well": "Better than I thought."})
    assert revised.status_code == 303
    assert the_checkin().went_well == "Better than I thought."
    listed = client.get(revised.location)
    assert "Better than I thought." in text(listed) and "Check-in saved. Your coach can read it." in text(listed)


def test_opening_an_answered_link_says_so_instead_of_a_form_that_would_be_refused(client, checkin_link):
    client.post(checkin_link, data=ANSWERS)
    page = client.get(checkin_link)
    assert "This check-in is answered already. Sign in to change the answers." in text(page)
    assert "Save my check-in" not in text(page)


def test_a_tampered_link_is_refused(client, checkin_link):
    token = checkin_link.rsplit("/", 1)[1]
    tampered = f"/checkins/answer/{token[:-3]}{'AAA' if token[-3:] != 'AAA' else 'BBB'}"
    for response in (client.get(tampered), client.post(tampered, data=ANSWERS)):
        assert response.status_code == 400
        assert "This link is damaged or incomplete. Copy the whole link from the email." in text(response)
    assert the_checkin().answered_at is None


def test_an_expired_link_is_refused(client, monkeypatch, checkin_link):
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 7 * 86400 - 60)
    assert client.get(checkin_link).status_code == 200  # still good just under seven days later
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + 7 * 86400 + 1)
    for response in (client.get(checkin_link), client.post(checkin_link, data=ANSWERS)):
        assert response.status_code == 400 and "This link has expired. Ask for a new one." in text(response)
    assert the_checkin().answered_at is None


def test_a_link_for_another_purpose_is_refused(app, client, learner, checkin_link):
    checkin = the_checkin()
    with app.test_request_context():
        unsubscribe = sign("unsubscribe", {"c": checkin.id, "u": learner.id})
    for response in (client.get(f"/checkins/answer/{unsubscribe}"),
                     client.post(f"/checkins/answer/{unsubscribe}", data=ANSWERS)):
        assert response.status_code == 400 and "This link is meant for something else." in text(response)
    assert the_checkin().answered_at is None


def test_a_link_to_a_checkin_that_is_gone_is_refused(app, client, checkin_link):
    db.session.delete(the_checkin())
    db.session.commit()
    gone = client.get(checkin_link)
    assert gone.status_code == 400 and "This check-in no longer exists." in text(gone)


def test_the_coach_reads_the_answers(client, login, learner, coach, checkin_link):
    client.post(checkin_link, data=ANSWERS)
    login(coach)
    page = client.get(f"/learners/{learner.id}/checkins")
    assert page.status_code == 200
    html = text(page)
    assert "Lee Learner" in html and "Week of 23 Feb 2026" in html
    for answer in ANSWERS.values():
        assert answer in html
    assert "Revise" not in html  # only the learner changes their answers


def test_a_quiet_week_without_an_email_says_so_rather_than_waiting_for_an_answer(client, login, learner, coach,
                                                                                  checkin_link):
    login(coach)  # the coach has no practice and did not choose "always": a check-in row, no email
    page = text(client.get("/checkins"))
    assert "No check-in email went out for this week" in page and "Not answered yet." not in page
    assert "Answer now" in page
    login(learner)  # emailed ("always"), not answered yet
    assert "Not answered yet." in text(client.get("/checkins"))


def test_others_get_404(app, client, login, make_user, learner, coach, checkin_link):
    client.post(checkin_link, data=ANSWERS)
    checkin_id = the_checkin().id
    for outsider in (make_user(name="Other Learner"), make_user(name="Unlinked Coach")):
        other_client = app.test_client()
        login(outsider, other_client)
        assert other_client.get(f"/learners/{learner.id}/checkins").status_code == 404
        assert other_client.get(f"/checkins/{checkin_id}").status_code == 404
        assert other_client.post(f"/checkins/{checkin_id}", data={"went_well": "Hijacked"}).status_code == 404
        assert "Acknowledged every page" not in text(other_client.get("/checkins"))
    coach_client = app.test_client()
    login(coach, coach_client)
    assert coach_client.get(f"/checkins/{checkin_id}").status_code == 404  # read only, on the learner's page
    assert the_checkin().went_well == ANSWERS["went_well"]


def test_an_ended_coaching_link_hides_the_checkins(client, login, learner, coach, checkin_link):
    login(coach)
    assert client.get(f"/learners/{learner.id}/checkins").status_code == 200
    coaching.end_link(coach, access.active_link(coach.id, learner.id))
    assert client.get(f"/learners/{learner.id}/checkins").status_code == 404

