"""The outbox: one row per key, delivery only after commit, quiet hours, transient and permanent failures."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from failforward import tasks
from failforward.extensions import db
from failforward.mail import services as mail
from failforward.mail.models import FAILED, PENDING, SENT, OutboxMessage


@pytest.fixture
def enqueued(monkeypatch):
    """The delivery tasks queued, instead of running them."""
    calls: list[list[int]] = []
    monkeypatch.setattr(tasks, "deliver_mail", lambda ids: calls.append(list(ids)))
    return calls


def _queued(*args, **kwargs) -> OutboxMessage:
    """Queue a message and return its outbox row."""
    return db.session.get(OutboxMessage, mail.queue_mail(*args, **kwargs))


def test_the_same_key_is_queued_once(app):
    assert mail.queue_mail("k:1", "a@example.com", "Hi", "Body") is not None
    assert mail.queue_mail("k:1", "a@example.com", "Hi again", "Body") is None
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1


def test_delivery_is_queued_only_when_the_whole_transaction_commits(app, enqueued):
    # A bug once queued the first message when the second one's SAVEPOINT was released,
    # before the surrounding transaction had committed.
    first = mail.queue_mail("k:1", "a@example.com", "One", "Body")
    second = mail.queue_mail("k:2", "b@example.com", "Two", "Body")
    assert enqueued == []
    db.session.commit()
    assert enqueued == [[first, second]]


def test_mail_from_a_rolled_back_transaction_is_never_queued(app, enqueued):
    mail.queue_mail("k:1", "a@example.com", "One", "Body")
    db.session.rollback()
    db.session.commit()
    assert enqueued == []


def test_delivered_message_has_text_html_and_a_stable_message_id(app, inbox):
    message = _queued("k:1", "a@example.com", "Hello", "Open https://example.com/x now.")
    db.session.commit()
    received = inbox.last_to("a@example.com")
    assert received["Message-ID"] == message.message_id
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == "Open https://example.com/x now."
    assert '<a href="https://example.com/x">' in received.get_body(preferencelist=("html",)).get_content()
    db.session.refresh(message)
    assert message.status == SENT and message.sent_at is not None


def test_header_injection_is_flattened(app, inbox):
    mail.queue_mail("k:1", "a@example.com", "Hi\r\nBcc: victim@example.com", "Body")
    db.session.commit()
    received = inbox.last_to("a@example.com")
    assert received["Bcc"] is None
    assert received["Subject"] == "Hi Bcc: victim@example.com"


def test_temporary_refusal_backs_off_then_arrives(app, inbox, clock):
    start = clock.set(datetime(2026, 5, 4, 12, 0, tzinfo=UTC))
    inbox.reply = "451 4.3.0 try again later"
    message = _queued("k:1", "a@example.com", "Hi", "Body")
    db.session.commit()
    db.session.refresh(message)
    assert message.status == PENDING and message.not_before > start and "451" in message.last_error
    inbox.reply = None
    assert mail.deliver([message.id]) == 0  # still held by the backoff
    clock.set(message.not_before)
    assert mail.deliver([message.id]) == 1
    assert len(inbox.to("a@example.com")) == 1


def test_permanent_refusal_stops_as_failed_and_can_be_retried(app, inbox):
    inbox.reply = "550 5.1.1 no such user"
    message = _queued("k:1", "nobody@example.com", "Hi", "Body")
    db.session.commit()
    db.session.refresh(message)
    assert message.status == FAILED and "550" in message.last_error
    inbox.reply = None
    assert mail.retry(message.id)
    db.session.refresh(message)
    assert message.status == SENT


@pytest.mark.parametrize(
    ("local", "held_until"),
    [("06:59", "07:00"), ("07:00", None), ("20:59", None), ("21:00", "07:00+1"), ("23:30", "07:00+1")],
)
def test_quiet_hours(local, held_until):
    zone = ZoneInfo("Pacific/Auckland")
    hour, minute = map(int, local.split(":"))
    now = datetime(2026, 7, 1, hour, minute, tzinfo=zone)
    until = mail.quiet_until(now.astimezone(UTC), zone)
    if held_until is None:
        assert until is None
    else:
        day = 2 if held_until.endswith("+1") else 1
        assert until == datetime(2026, 7, day, 7, 0, tzinfo=zone)


def test_held_message_waits_for_the_sweep(app, inbox, clock):
    clock.set(datetime(2026, 7, 1, 22, 0, tzinfo=ZoneInfo("Europe/Paris")))
    message = _queued("k:1", "a@example.com", "Hi", "Body", quiet_zone=ZoneInfo("Europe/Paris"))
    db.session.commit()
    assert inbox.messages == [] and mail.due_for_delivery() == []
    clock.set(message.not_before)
    tasks.sweep.call_local()
    assert len(inbox.to("a@example.com")) == 1


def test_a_retry_that_would_land_in_quiet_hours_waits_for_the_morning(app, inbox, clock):
    paris = ZoneInfo("Europe/Paris")
    clock.set(datetime(2026, 7, 1, 20, 59, 50, tzinfo=paris))
    inbox.reply = "451 4.3.0 try again later"
    message = _queued("k:1", "a@example.com", "Hi", "Body", quiet_zone=paris)
    db.session.commit()
    db.session.refresh(message)
    assert message.status == PENDING
    assert message.not_before == datetime(2026, 7, 2, 7, 0, tzinfo=paris)
