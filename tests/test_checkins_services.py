"""The weekly check-in: due at each learner's day and hour in their own zone, once a week, held
through quiet hours, never before the account existed, and an email that sums up last week."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.checkins.models import WeeklyCheckin
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.mail.models import PENDING, SENT, OutboxMessage
from tests.conftest import Inbox
from tests.factories import count, link, log, make_drill, make_goal, sweep, text

BERLIN, TONGA, HONOLULU = ZoneInfo("Europe/Berlin"), ZoneInfo("Pacific/Tongatapu"), ZoneInfo("Pacific/Honolulu")
LONG_AGO = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    """A wall-clock time in `zone`, as the aware moment it stands for."""
    return datetime(*parts, tzinfo=zone)


@pytest.fixture
def learner(make_user, clock):
    """`learner(timezone=..., **fields)`: an account made well before the weeks these tests look at."""

    def make(timezone: str = "UTC", **fields):
        clock.set(LONG_AGO)
        return make_user(timezone=timezone, **fields)

    return make


def practise(clock, person, *moments: datetime, minutes: int = 10) -> None:
    """A goal with one drill (5 reps a week planned), and a rep at each moment, logged just after it."""
    drill = make_drill(make_goal(person, weeks_required=4))
    for moment in moments:
        clock.set(moment + timedelta(minutes=5))
        log(person, drill, 4.0, at=moment, duration_minutes=minutes)


def checkin_mails(inbox, person) -> list:
    return [m for m in inbox.to(person.email) if "check-in" in m["Subject"]]


# --- when it is due ----------------------------------------------------------------------------------

def test_default_is_monday_0800_in_the_learners_own_zone(app, clock, inbox, learner):
    person = learner("America/New_York")
    practise(clock, person, datetime(2026, 2, 25, 15, 0, tzinfo=UTC))

    clock.set(local(ZoneInfo("America/New_York"), 2026, 3, 2, 7, 59))
    sweep()
    assert count(WeeklyCheckin) == 0 and checkin_mails(inbox, person) == []

    clock.set(local(ZoneInfo("America/New_York"), 2026, 3, 2, 8, 0))  # 13:00 UTC
    sweep()
    [mail] = checkin_mails(inbox, person)
    assert mail["Subject"] == "Your week of 23 Feb: check-in"
    checkin = db.session.scalar(db.select(WeeklyCheckin))
    assert (checkin.iso_week, str(checkin.reviewed_week), checkin.emailed) == ("2026-W10", "2026-02-23", True)


def test_a_chosen_day_and_hour_are_kept(app, clock, inbox, learner):
    person = learner("Europe/Berlin", checkin_weekday=4, checkin_hour=18, checkin_always=True)
    clock.set(local(BERLIN, 2026, 3, 2, 8, 0))
    sweep()
    clock.set(local(BERLIN, 2026, 3, 6, 17, 59))
    sweep()
    assert checkin_mails(inbox, person) == []
    clock.set(local(BERLIN, 2026, 3, 6, 18, 0))
    sweep()
    assert len(checkin_mails(inbox, person)) == 1


def test_tongatapu_and_honolulu_at_the_same_utc_instant(app, clock, inbox, make_user):
    clock.set(datetime(2026, 2, 26, 12, 0, tzinfo=UTC))  # after both of last week's Monday mornings
    tonga = make_user(timezone="Pacific/Tongatapu", checkin_always=True)      # UTC+13
    honolulu = make_user(timezone="Pacific/Honolulu", checkin_always=True)    # UTC-10
    # Sunday 12:00 UTC: Monday 01:00 in Tonga (this week), Sunday 02:00 in Honolulu (last week).
    practise(clock, tonga, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    practise(clock, honolulu, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    clock.set(datetime(2026, 3, 1, 19, 0, tzinfo=UTC))  # Monday 08:00 in Tonga, Sunday 09:00 in Honolulu
    sweep()
    assert [(c.user_id, c.iso_week) for c in db.session.scalars(db.select(WeeklyCheckin))] == [(tonga.id, "2026-W10")]
    assert "Practice: 0 reps" in Inbox.body(inbox.last_to(tonga.email))
    assert inbox.to(honolulu.email) == []

    clock.set(datetime(2026, 3, 2, 17, 59, tzinfo=UTC))  # Monday 07:59 in Honolulu
    sweep()
    assert inbox.to(honolulu.email) == []
    clock.set(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    sweep()
    assert "Practice: 1 rep " in Inbox.body(inbox.last_to(honolulu.email))
    weeks = db.session.scalars(db.select(WeeklyCheckin.iso_week).where(WeeklyCheckin.user_id == honolulu.id)).all()
    assert weeks == ["2026-W10"]
    assert len(inbox.to(tonga.email)) == 1


@pytest.mark.parametrize("monday, utc_hour", [((2026, 3, 30), 6), ((2026, 10, 26), 7)],
                         ids=["summer-time-starts", "summer-time-ends"])
def test_a_week_with_a_dst_change_in_berlin(app, clock, inbox, learner, monday, utc_hour):
    person = learner("Europe/Berlin")
    week_before = local(BERLIN, *monday, 0, 0) - timedelta(days=7)
    start, end = week_before.astimezone(UTC), local(BERLIN, *monday, 0, 0).astimezone(UTC)
    assert end - start != timedelta(days=7)  # 167 or 169 hours: the clocks changed that Sunday
    practise(clock, person,
             start - timedelta(minutes=30),  # Sunday 23:30 local, the week before: not counted
             start + timedelta(minutes=30),  # Monday 00:30 local: counted
             end - timedelta(minutes=30),    # Sunday 23:30 local, after the change: counted
             end + timedelta(minutes=30))    # Monday 00:30 local, this week: not counted

    clock.set(datetime(*monday, utc_hour, 0, tzinfo=UTC) - timedelta(minutes=1))
    sweep()
    assert checkin_mails(inbox, person) == []
    assert local(BERLIN, *monday, 8, 0) == datetime(*monday, utc_hour, 0, tzinfo=UTC)
    clock.set(local(BERLIN, *monday, 8, 0))
    sweep()
    [mail] = checkin_mails(inbox, person)
    assert "Practice: 2 reps of 5 planned" in Inbox.body(mail)


def test_a_checkin_hour_in_quiet_hours_is_created_then_emailed_at_0700(app, clock, inbox, learner):
    person = learner("Europe/Berlin", checkin_hour=22, checkin_always=True)
    clock.set(local(BERLIN, 2026, 3, 2, 22, 0))
    sweep()
    checkin = db.session.scalar(db.select(WeeklyCheckin))
    assert checkin.created_at == local(BERLIN, 2026, 3, 2, 22, 0)
    message = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.recipient == person.email))
    assert (message.status, message.not_before) == (PENDING, local(BERLIN, 2026, 3, 3, 7, 0))
    assert inbox.to(person.email) == []

    clock.set(local(BERLIN, 2026, 3, 3, 6, 59))
    sweep()
    assert inbox.to(person.email) == []
    clock.set(local(BERLIN, 2026, 3, 3, 7, 0))
    sweep()
    assert len(checkin_mails(inbox, person)) == 1
    sweep()
    assert len(checkin_mails(inbox, person)) == 1
    db.session.refresh(message)
    assert message.status == SENT and message.sent_at == local(BERLIN, 2026, 3, 3, 7, 0)


def test_sweeping_twice_in_a_week_makes_one_checkin_and_one_email(app, clock, inbox, learner):
    person = learner(checkin_always=True)
    for moment in (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
                   datetime(2026, 3, 2, 8, 1, tzinfo=UTC), datetime(2026, 3, 8, 23, 59, tzinfo=UTC)):
        clock.set(moment)
        sweep()
    assert count(WeeklyCheckin) == 1 and len(checkin_mails(inbox, person)) == 1
    assert db.session.scalars(db.select(OutboxMessage.key)).all() == [f"weekly-checkin:{person.id}:2026-W10"]

    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    sweep()
    sweep()
    assert count(WeeklyCheckin) == 2 and len(checkin_mails(inbox, person)) == 2
    assert sorted(db.session.scalars(db.select(OutboxMessage.key))) == [
        f"weekly-checkin:{person.id}:2026-W10", f"weekly-checkin:{person.id}:2026-W11"]


def test_a_new_account_gets_no_checkin_for_a_moment_before_it_existed(app, clock, inbox, make_user):
    clock.set(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))  # half an hour after this week's Monday 08:00
    person = make_user(checkin_always=True)
    for moment in (datetime(2026, 3, 2, 8, 31, tzinfo=UTC), datetime(2026, 3, 5, 12, 0, tzinfo=UTC),
                   datetime(2026, 3, 9, 7, 59, tzinfo=UTC)):
        clock.set(moment)
        sweep()
    assert count(WeeklyCheckin) == 0 and inbox.to(person.email) == []
    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    sweep()
    assert count(WeeklyCheckin) == 1 and len(checkin_mails(inbox, person)) == 1


def test_an_empty_week_sends_nothing_unless_always_is_chosen(app, clock, inbox, learner):
    quiet = learner()
    always = learner(checkin_always=True)
    busy = learner()
    practise(clock, busy, datetime(2026, 2, 24, 9, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    sweep()
    assert inbox.to(quiet.email) == []
    assert len(checkin_mails(inbox, always)) == 1 and len(checkin_mails(inbox, busy)) == 1
    assert "Practice: 0 reps" in Inbox.body(inbox.last_to(always.email))
    # The week is still recorded for the quiet learner, so it is not re-examined every minute.
    assert db.session.scalar(db.select(WeeklyCheckin.emailed).where(WeeklyCheckin.user_id == quiet.id)) is False


def test_the_email_lists_the_lessons_due_for_their_30_day_check(app, clock, inbox, learner):
    from failforward.lessons import services as lessons

    person, other = learner(), learner()
    clock.set(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    for what, check_on in (("Rushed the warm-up", date(2026, 2, 25)), ("Skipped the cool-down", date(2026, 3, 4)),
                           ("Started too fast", date(2026, 3, 9)), ("Lost count", date(2026, 3, 5)),
                           ("Forgot the timer", date(2026, 2, 20))):
        values = {"happened_on": date(2026, 1, 30), "context": "", "what_failed": what, "what_tried": "",
                  "try_next": "", "check_on": check_on, "shared": False}
        lessons.create_lesson(person, values, {}, None, f"key-{what[:4]}")
    answered = lessons.create_lesson(other, {**values, "check_on": date(2026, 3, 3)}, {}, None, "key-other")[0]
    lessons.answer_check(answered, "worked", "")
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    sweep()
    # Nothing practised, nothing answered: the lessons due are enough to write.
    body = Inbox.body(checkin_mails(inbox, person)[0])
    listed = body[body.index("Lessons due for their 30-day check"):body.index("Three questions")]
    overdue, due = "Rushed the warm-up (waiting since Wed 25 Feb)", "Skipped the cool-down (Wed 4 Mar)"
    assert listed.index(overdue) < listed.index(due)
    assert "Lost count (Thu 5 Mar)" in listed and "Started too fast" not in listed  # next week's
    assert "Forgot the timer" not in listed  # due before the reviewed week: its own email asked already
    assert "/lessons/review" in listed
    assert checkin_mails(inbox, other) == []  # its one lesson was answered: an empty week


def test_no_checkin_email_for_someone_who_switched_it_or_all_email_off(app, clock, inbox, learner, client, login):
    switched_off = learner(checkin_always=True)
    no_email = learner(checkin_always=True, email_opt_in=False)
    login(switched_off)
    form = {"name": switched_off.name, "timezone": "UTC", "checkin_weekday": "0", "checkin_hour": "8",
            "checkin_always": "y", "email_opt_in": "y", "mail_feedback_request": "y"}
    assert client.post("/settings", data=form).status_code == 303
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    sweep()
    assert inbox.to(switched_off.email) == [] and inbox.to(no_email.email) == []


# --- what it says ----------------------------------------------------------------------------------

def test_the_email_sums_up_last_week_and_asks_three_questions(app, clock, inbox, learner, make_user, client):
    person = learner(name="Lee Learner")
    coach = make_user(name="Casey Coach")
    link(coach, person)
    clock.set(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    goal = make_goal(person, weeks_required=3)
    drill = make_drill(goal, planned_reps_per_week=5, time_box_minutes=10)
    make_drill(goal, name="Runbook drill", planned_reps_per_week=2, time_box_minutes=None)

    def rep(moment: datetime, minutes: int):
        clock.set(moment)
        return log(person, drill, 4.0, at=moment, duration_minutes=minutes)

    rep(datetime(2026, 2, 18, 9, 0, tzinfo=UTC), 10)  # the week before: held
    asked = rep(datetime(2026, 2, 24, 10, 0, tzinfo=UTC), 12)  # the reviewed week: three reps, 36 minutes
    request = feedback.ask(person, asked, "Was the triage order right?")
    clock.set(datetime(2026, 2, 24, 13, 0, tzinfo=UTC))
    feedback.answer(coach, request, "Yes: severity first.")
    rep(datetime(2026, 2, 25, 10, 0, tzinfo=UTC), 12)
    rep(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), 12)
    rep(datetime(2026, 3, 2, 0, 30, tzinfo=UTC), 30)  # this week: not in the summary

    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    sweep()
    [mail] = checkin_mails(inbox, person)  # a coached learner's safety pulse may come the same morning
    body = Inbox.body(mail)
    assert mail["Subject"] == "Your week of 23 Feb: check-in"
    assert "Hello Lee Learner," in body
    assert "Practice: 3 reps of 7 planned, 36 minutes of 50 planned." in body
    assert "- Answer pages faster: 2 of 3 weeks held" in body
    assert "Feedback: 1 answer received, after 3 hours." in body
    for question in ("1. What went well?", "2. What failed, or nearly did?", "3. What will you try next week?"):
        assert question in body

    answer_url = re.search(r"Answer here \(the link works for 7 days\): (\S+)", body).group(1)
    assert re.fullmatch(r"http://localhost/checkins/answer/[\w.-]+", answer_url)
    page = client.get(answer_url.removeprefix("http://localhost"))
    assert page.status_code == 200 and "Your week of 23 February" in text(page)
    unsubscribe_url = re.search(r"Stop them: (\S+)", body).group(1)
    assert mail["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    confirm = client.get(unsubscribe_url.removeprefix("http://localhost"))
    assert confirm.status_code == 200 and "My weekly check-in" in text(confirm)
