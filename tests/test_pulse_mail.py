"""The pulse email end to end, through the real sweep and SMTP server: once per period at the learner's check-in
hour in their zone, held through quiet hours, only while the "safety-pulse" switch is on, with one-click
unsubscribe, and a link that opens the form."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward import tasks
from failforward.accounts.models import EmailSwitch
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from failforward.pulse.models import Pulse
from tests.conftest import Inbox
from tests.factories import count, link, text

TOKYO = ZoneInfo("Asia/Tokyo")
PERIOD = date(2026, 3, 23)
LONG_AGO = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def sweep() -> None:
    db.session.commit()
    tasks.sweep.call_local()
    db.session.expire_all()


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=TOKYO).replace(hour=hour)


def pulse_mails(inbox, person) -> list:
    return [m for m in inbox.to(person.email) if "pulse" in m["Subject"]]


@pytest.fixture
def aki(app, clock, make_user):
    """A learner in Tokyo whose check-in hour is 23:00, coached for months."""
    clock.set(LONG_AGO)
    learner = make_user(name="Aki", email="aki@example.com", timezone="Asia/Tokyo", checkin_hour=23)
    link(make_user(name="Casey Coach"), learner)
    return learner


def test_the_pulse_mails_once_after_quiet_hours_and_its_link_opens_the_form(app, client, clock, inbox, aki):
    clock.set(at(PERIOD, 22) + timedelta(minutes=59))
    sweep()
    assert count(Pulse) == 0
    clock.set(at(PERIOD, 23))  # due now, but 23:00 is inside quiet hours: the mail waits for 07:00
    sweep()
    assert count(Pulse) == 1 and pulse_mails(inbox, aki) == []
    assert count(OutboxMessage, OutboxMessage.kind == "safety-pulse") == 1
    clock.set(at(PERIOD + timedelta(days=1), 7))
    sweep()
    sweep()
    [mail] = pulse_mails(inbox, aki)
    body = Inbox.body(mail)
    assert "working with Casey Coach" in body and "open until 19 April" in body and "at least 3" in body
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/unsubscribe/" in body
    clock.set(at(PERIOD + timedelta(days=20), 9))
    sweep()
    assert len(pulse_mails(inbox, aki)) == 1 and count(Pulse) == 1
    path = re.search(r"http://localhost(/pulse/answer/\S+)", body).group(1)
    assert "How is your coaching with Casey Coach going?" in text(client.get(path))


def test_no_mail_while_the_switch_is_off_but_the_pulse_waits_on_the_home_page(app, client, clock, inbox, login,
                                                                               aki):
    db.session.add(EmailSwitch(user_id=aki.id, kind="safety-pulse", enabled=False))
    clock.set(at(PERIOD + timedelta(days=1), 9))
    sweep()
    assert count(OutboxMessage, OutboxMessage.kind == "safety-pulse") == 0 and pulse_mails(inbox, aki) == []
    login(aki)
    assert "A one-minute pulse" in text(client.get("/"))


def test_the_settings_page_has_the_pulse_switch(client, login, aki):
    login(aki)
    assert "The safety pulse every four weeks" in text(client.get("/settings"))
