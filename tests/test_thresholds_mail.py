"""A due follow-up mails its learner once, through the real sweep and SMTP: held through quiet hours in
the learner's zone, only while the "follow-up-due" switch is on, with one-click unsubscribe."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts.models import EmailSwitch, User
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from failforward.thresholds import services
from failforward.thresholds.models import FollowUp
from tests.conftest import Inbox
from tests.factories import count, link, log, make_drill, make_goal, sweep

AUCKLAND = ZoneInfo("Pacific/Auckland")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=AUCKLAND)


@pytest.fixture
def three_misses_at_night(app, clock, make_user):
    """Ari in Auckland misses the drill three times, the last at 22:30 local (quiet hours)."""
    clock.set(at(2, 9))
    learner = make_user(name="Ari", email="ari@example.com", timezone="Pacific/Auckland")
    drill = make_drill(make_goal(learner))
    for moment in (at(2, 10), at(3, 10), at(3, 22, 30)):
        clock.set(moment)
        log(learner, drill, 12.0, at=moment)
    return learner


def test_a_due_follow_up_mails_once_after_quiet_hours(app, clock, inbox, three_misses_at_night):
    learner = three_misses_at_night
    sweep()
    assert count(FollowUp) == 1 and count(OutboxMessage, OutboxMessage.kind == "follow-up-due") == 1
    assert inbox.to(learner.email) == []  # 22:30 in Auckland: held until 07:00
    clock.set(at(4, 6, 59))
    sweep()
    assert inbox.to(learner.email) == []
    clock.set(at(4, 7))
    sweep()
    sweep()
    [mail] = inbox.to(learner.email)
    body = Inbox.body(mail)
    assert "3 misses on Pager drill within 7 days" in body and "a lesson by Friday 6 March, 22:30" in body
    assert "/lessons/new?followup=" in body and "/unsubscribe/" in body
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    clock.set(at(5, 9))
    sweep()
    assert len(inbox.to(learner.email)) == 1 and count(FollowUp) == 1


def test_no_mail_when_the_switch_is_off_but_the_follow_up_is_due(app, clock, inbox, three_misses_at_night):
    learner = three_misses_at_night
    db.session.add(EmailSwitch(user_id=learner.id, kind="follow-up-due", enabled=False))
    clock.set(at(4, 8))
    sweep()
    assert count(FollowUp) == 1 and count(OutboxMessage, OutboxMessage.kind == "follow-up-due") == 0
    assert inbox.to(learner.email) == []


def test_the_coachs_morning_digest_lists_their_learners_follow_ups(app, clock, inbox, make_user,
                                                                   three_misses_at_night):
    learner = three_misses_at_night
    coach = make_user(name="Dana Digest", email="dana@example.com", timezone="Pacific/Auckland")
    link(coach, learner)
    db.session.add(EmailSwitch(user_id=coach.id, kind="feedback-digest", enabled=True))
    sweep()  # 22:30: the follow-up is due; the digest waits for the morning
    clock.set(at(4, 7, 59))
    sweep()
    assert inbox.to(coach.email) == []
    clock.set(at(4, 8))
    sweep()
    [digest] = inbox.to(coach.email)
    assert digest["Subject"] == "Your learners' lessons and reviews due"
    assert "- Ari: 3 misses on Pager drill within 7 days, a lesson due by Fri 6 Mar, 22:30" in Inbox.body(digest)
    follow_up = db.session.scalar(db.select(FollowUp))
    services.complete_follow_up(db.session.get(User, learner.id), follow_up.id)
    db.session.commit()
    clock.set(at(5, 8))
    sweep()
    assert len(inbox.to(coach.email)) == 1  # nothing due: no digest
