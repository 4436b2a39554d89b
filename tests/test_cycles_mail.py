"""An ended cycle mails its learner once, through the real sweep and SMTP: after quiet hours (a cycle ends at
midnight, so its mail waits for 07:00), only while the "cycle-ended" switch is on, with one-click unsubscribe."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts.models import EmailSwitch
from failforward.cycles import services
from failforward.cycles.models import Cycle
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from tests.conftest import Inbox
from tests.factories import count, log, make_drill, make_goal, sweep

TOKYO = ZoneInfo("Asia/Tokyo")
START = date(2026, 3, 2)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=TOKYO).replace(hour=hour)


@pytest.fixture
def tokyo_cycle(app, clock, make_user):
    clock.set(at(START, 9))
    learner = make_user(name="Aki", email="aki@example.com", timezone="Asia/Tokyo")
    drill = make_drill(make_goal(learner))
    for day, value in ((START - timedelta(days=2), 10), (START + timedelta(days=1), 9)):
        for hour in range(5):
            log(learner, drill, value, at=at(day, 10 + hour))
    cycle, _ = services.create_cycle(learner, drill.goal, {
        "drill_id": drill.id, "objective": "Faster triage", "change": "Runbook first", "prediction": "Quicker",
        "harm": "miss-rate", "harm_goal_id": None, "adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5,
        "scope_pct": 10, "timebox_days": 3, "starts_on": START, "undo_plan": "Skip it", "undo_speed": "at once",
        "next_if_inconclusive": ""}, None, "mail-cycle")
    return learner, cycle


def test_an_ended_cycle_mails_once_after_quiet_hours(app, clock, inbox, tokyo_cycle):
    learner, cycle = tokyo_cycle
    clock.set(at(START + timedelta(days=2), 23) + timedelta(minutes=59))
    sweep()
    assert db.session.get(Cycle, cycle.id).studied_at is None
    clock.set(at(START + timedelta(days=3), 0))  # midnight in Tokyo: studied, the mail held until 07:00
    sweep()
    assert db.session.get(Cycle, cycle.id).verdict == "adopt" and inbox.to(learner.email) == []
    assert count(OutboxMessage, OutboxMessage.kind == "cycle-ended") == 1
    clock.set(at(START + timedelta(days=3), 7))
    sweep()
    sweep()
    [mail] = inbox.to(learner.email)
    text = Inbox.body(mail)
    assert "The rule you declared says adopt" in text and f"/cycles/{cycle.id}" in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/unsubscribe/" in text
    clock.set(at(START + timedelta(days=4), 8))
    sweep()
    assert len(inbox.to(learner.email)) == 1


def test_no_mail_when_the_switch_is_off_but_the_cycle_is_studied(app, clock, inbox, tokyo_cycle):
    learner, cycle = tokyo_cycle
    db.session.add(EmailSwitch(user_id=learner.id, kind="cycle-ended", enabled=False))
    clock.set(at(START + timedelta(days=3), 8))
    sweep()
    assert db.session.get(Cycle, cycle.id).verdict == "adopt"
    assert count(OutboxMessage, OutboxMessage.kind == "cycle-ended") == 0 and inbox.to(learner.email) == []


def test_the_home_page_says_the_cycle_ended_until_the_learner_decides(app, client, clock, login, tokyo_cycle):
    learner, cycle = tokyo_cycle
    clock.set(at(START + timedelta(days=3), 8))
    sweep()
    login(learner)
    page = client.get("/").get_data(as_text=True)
    assert "A small test ended" in page and "the rule says adopt" in page
    services.decide(db.session.get(Cycle, cycle.id), "adopt", "")
    assert "A small test ended" not in client.get("/").get_data(as_text=True)
