"""Attacks on private text in mail: a held message must not reach a coach who lost access, an ended link
or a deleted account takes its pending mail with it, and the outbox forgets bodies and deleted people."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.coaching.models import CoachingLink
from failforward.extensions import db
from failforward.mail.models import CANCELLED, FAILED, PENDING, SENT, OutboxMessage
from tests.conftest import PASSWORD
from tests.factories import link, log, sweep

TOKYO = ZoneInfo("Asia/Tokyo")
EVENING = datetime(2026, 3, 2, 23, 0, tzinfo=TOKYO)  # 14:00 UTC: the learner's afternoon, the coach's night
MORNING = datetime(2026, 3, 3, 7, 0, tzinfo=TOKYO)
NOTE, QUESTION = "Froze when my manager watched", "Should I tell HR about the panic?"


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def night_coach(make_user, learner):
    """Tomo coaches Lee from Tokyo, where Lee's afternoon is the middle of the night."""
    tomo = make_user(name="Tomo Coach", email="tomo@example.com", timezone="Asia/Tokyo")
    link(tomo, learner)
    return tomo


@pytest.fixture
def held_request(client, login, clock, learner, drill, night_coach):
    """Lee asks, through the page, for feedback on a rep with a private note, at 23:00 in Tokyo: the
    coach's email is held for quiet hours. Lee stays signed in on `client`."""
    clock.set(EVENING)
    login(learner)
    ask(client, learner, drill)
    [held] = outbox()
    assert (held.recipient, held.status, held.not_before) == (night_coach.email, PENDING, MORNING)
    assert QUESTION in held.text_body and NOTE in held.text_body
    return held


def ask(client, learner, drill) -> None:
    """The learner logs a rep with a private note and asks their coaches about it, through the page."""
    rep = log(learner, drill, 4.0, note=NOTE)
    assert client.post(f"/reps/{rep.id}/feedback", data={"question": QUESTION}).status_code == 303


def test_ending_the_link_withdraws_the_held_feedback_email(client, clock, inbox, night_coach, held_request):
    the_link = db.session.scalar(db.select(CoachingLink))
    assert client.post(f"/coaching/links/{the_link.id}/end").status_code == 303

    clock.set(MORNING)
    sweep()
    assert inbox.to(night_coach.email) == []
    assert outbox() == []  # withdrawn when the link ended: the private text is not kept either


def test_deleting_the_account_withdraws_held_mail_and_forgets_what_was_sent(
        app, client, clock, inbox, make_user, learner, drill, night_coach, held_request):
    lee_email = learner.email
    day_coach = make_user(name="Dee Coach", email="dee@example.com")
    link(day_coach, learner)
    ask(client, learner, drill)
    assert QUESTION in inbox.body(inbox.last_to(day_coach.email))  # sent at once to the daytime coach
    app.test_client().post("/reset", data={"email": lee_email})
    assert len(inbox.to(lee_email)) == 1  # a reset link, in the outbox as sent

    assert client.post("/account/delete", data={"current_password": PASSWORD}).status_code == 303

    clock.set(MORNING)
    sweep()
    assert inbox.to(night_coach.email) == []
    rows = outbox()
    assert [row.status for row in rows] == [SENT, SENT]  # the held ones are gone; the sent envelopes stay
    for row in rows:
        kept = " ".join(str(value) for value in (row.recipient, row.subject, row.text_body, row.html_body,
                                                 row.unsubscribe_url, row.last_error))
        for private in (lee_email, "Lee", QUESTION, NOTE, "/reset/"):
            assert private not in kept, (row.key, private)
        assert row.sent_at is not None and row.key
    to_coach, to_lee = rows
    assert to_coach.recipient == day_coach.email  # the coach's own address is not Lee's to erase
    assert to_lee.recipient == "(deleted account)"


def test_a_held_email_is_cancelled_when_sent_if_access_ended_another_way(clock, inbox, night_coach, held_request):
    # A path that does not withdraw mail (an operator's SQL, a feature yet to come) ends the link.
    db.session.execute(db.update(CoachingLink).values(ended_at=clock.set(EVENING + timedelta(hours=1))))
    db.session.commit()

    clock.set(MORNING)
    sweep()
    assert inbox.to(night_coach.email) == []
    [cancelled] = outbox()
    assert cancelled.status == CANCELLED and cancelled.sent_at is None
    assert cancelled.text_body is None and cancelled.html_body is None
    sweep()
    assert outbox()[0].status == CANCELLED


def test_an_operator_retry_after_the_link_ended_sends_nothing(
        client, login, runner, clock, inbox, learner, coach, drill, the_link):
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))  # outside quiet hours: the mail goes at once
    inbox.reply = "550 5.2.2 mailbox full"
    login(learner)
    ask(client, learner, drill)
    [failed] = outbox()
    assert failed.status == FAILED
    assert client.post(f"/coaching/links/{the_link.id}/end").status_code == 303
    inbox.reply = None

    runner.invoke(args=["outbox", "retry", str(failed.id)])
    assert inbox.to(coach.email) == []
    [row] = outbox()
    assert row.status == CANCELLED and row.text_body is None
    assert runner.invoke(args=["outbox", "retry", str(failed.id)]).output.startswith("0 message(s)")


def test_bodies_are_purged_after_mail_keep_days_and_the_envelope_stays(app, client, runner, clock, inbox, learner):
    start = clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    client.post("/reset", data={"email": learner.email})
    inbox.reply = "550 5.1.1 no such user"
    client.post("/reset", data={"email": learner.email})
    inbox.reply = None
    sent, failed = outbox()
    assert (sent.status, failed.status) == (SENT, FAILED) and "/reset/" in sent.text_body
    envelope = [(row.recipient, row.subject, row.key, row.status, row.sent_at) for row in (sent, failed)]

    clock.set(start + timedelta(days=30) - timedelta(minutes=1))
    sweep()
    assert all(row.text_body and row.html_body for row in outbox())
    clock.set(start + timedelta(days=30))
    sweep()
    sweep()  # purging again changes nothing
    rows = outbox()
    assert [(row.text_body, row.html_body) for row in rows] == [(None, None), (None, None)]
    assert [(row.recipient, row.subject, row.key, row.status, row.sent_at) for row in rows] == envelope
    assert sent.key in runner.invoke(args=["outbox", "list"]).output  # still listed for the operator
    assert runner.invoke(args=["outbox", "retry", str(failed.id)]).output.startswith("0 message(s)")

    app.config["MAIL_KEEP_DAYS"] = 7
    client.post("/reset", data={"email": learner.email})
    clock.set(start + timedelta(days=37) - timedelta(minutes=1))
    sweep()
    assert outbox()[-1].text_body is not None
    clock.set(start + timedelta(days=37))
    sweep()
    assert outbox()[-1].text_body is None
