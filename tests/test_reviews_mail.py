"""Fixes from blameless reviews mail through the real sweep and SMTP: the due-date reminder to the owner and the
"did the fix work?" check to the learner, each once, after quiet hours, only while its own switch is on, with
one-click unsubscribe; the weekly check-in lists the open fixes due."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts.models import EmailSwitch
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from failforward.reviews import services
from tests.conftest import Inbox
from tests.factories import count, link, sweep

TOKYO = ZoneInfo("Asia/Tokyo")
DUE, CHECK = date(2026, 3, 10), date(2026, 3, 12)
REMINDER = "A fix from a review is due today"


def mails(inbox, person, subject: str) -> list:
    return [m for m in inbox.to(person.email) if m["Subject"] == subject]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=TOKYO).replace(hour=hour)


@pytest.fixture
def fix(app, clock, make_user):
    """Aki (in Tokyo) reviewed a setback on 2 March: one fix of theirs due on the 10th, checked on the 12th."""
    clock.set(at(date(2026, 3, 2), 9))
    learner = make_user(name="Aki", email="aki@example.com", timezone="Asia/Tokyo")
    review, _ = services.create_review(learner, {"trigger": "Missed pages", "scope": "", "counterfactual": "",
                                                 "what_worked": "", "assumptions": "", "shared": False}, [],
                                       [("tools", "Quiet"), ("process", "No handover")], None, "mail-review")
    action, _ = services.add_action(review, {"what": "Louder pager", "owner_id": learner.id, "due_on": DUE,
                                             "done_condition": "Volume 8", "verify_plan": "No missed page",
                                             "check_on": CHECK}, "mail-action")
    return learner, action


def test_the_due_reminder_mails_once_after_quiet_hours(app, clock, inbox, fix):
    learner, action = fix
    clock.set(at(DUE - timedelta(days=1), 23))
    sweep()
    assert count(OutboxMessage, OutboxMessage.kind == "action-due") == 0
    clock.set(at(DUE, 0))  # midnight in Tokyo: written, held until 07:00
    sweep()
    assert count(OutboxMessage, OutboxMessage.kind == "action-due") == 1 and mails(inbox, learner, REMINDER) == []
    clock.set(at(DUE, 7))
    sweep()
    sweep()
    [mail] = mails(inbox, learner, REMINDER)
    body = Inbox.body(mail)
    assert "Louder pager" in body and f"/reviews/{action.review_id}" in body and "/unsubscribe/" in body
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    clock.set(at(DUE + timedelta(days=1), 8))
    sweep()
    assert len(mails(inbox, learner, REMINDER)) == 1


def test_the_check_asks_did_the_fix_work_once(app, clock, inbox, fix):
    learner, action = fix
    db.session.add(EmailSwitch(user_id=learner.id, kind="action-due", enabled=False))
    clock.set(at(CHECK, 8))
    sweep()
    sweep()
    [mail] = mails(inbox, learner, "Did the fix work?")  # the reminder is switched off; the check is not
    assert f"/actions/{action.id}/check" in Inbox.body(mail)
    assert count(OutboxMessage, OutboxMessage.kind == "action-due") == 0


def test_no_check_mail_when_its_switch_is_off(app, clock, inbox, fix):
    learner, _ = fix
    db.session.add(EmailSwitch(user_id=learner.id, kind="action-check", enabled=False))
    clock.set(at(CHECK, 8))
    sweep()
    assert count(OutboxMessage, OutboxMessage.kind == "action-check") == 0
    assert len(mails(inbox, learner, REMINDER)) == 1 and mails(inbox, learner, "Did the fix work?") == []


def test_a_coach_owned_fix_reminds_the_coach_not_the_learner(app, clock, inbox, fix, make_user):
    learner, action = fix
    coach = make_user(name="Casey", email="casey@example.com", timezone="Asia/Tokyo")
    link(coach, learner)
    action.owner_id = coach.id
    clock.set(at(DUE, 8))
    sweep()
    assert len(mails(inbox, coach, REMINDER)) == 1 and mails(inbox, learner, REMINDER) == []
    assert "Aki's" in Inbox.body(mails(inbox, coach, REMINDER)[0])


def test_the_weekly_checkin_lists_open_fixes_due_this_week(app, clock, inbox, fix):
    learner, action = fix
    clock.set(at(date(2026, 3, 9), 8))  # Monday 08:00 in Tokyo: the check-in for the week of 2 March
    sweep()
    [checkin] = [m for m in inbox.to(learner.email) if "check-in" in m["Subject"]]
    body = Inbox.body(checkin)
    assert "Fixes from your reviews due this week:" in body and "Louder pager (due Tue 10 Mar)" in body
