"""The safety pulse: four-week periods in the learner's zone, asked once per period per coaching link, answered
once, closed at the period's end; a coach sees averages only of closed periods that 3 or more learners answered;
a coach's lesson shared with their learners."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.exceptions import NotFound

from failforward.accounts.models import EmailSwitch
from failforward.calendar import day_start
from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.lessons import services as lessons
from failforward.pulse import services
from failforward.pulse.models import Pulse
from tests.factories import count, link

PERIOD = date(2026, 3, 23)  # a Monday on which a four-week period begins
NEXT = PERIOD + timedelta(weeks=4)
BERLIN, AUCKLAND = ZoneInfo("Europe/Berlin"), ZoneInfo("Pacific/Auckland")
LONG_AGO = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ALL_FOURS = {"mistakes": 4, "problems": 4, "help": 4, "skills": 4, "risks": 4}


def at(day: date, hour: int, zone=UTC) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(hour=hour)


@pytest.fixture
def coach(make_user, clock):
    clock.set(LONG_AGO)
    return make_user(name="Casey Coach")


@pytest.fixture
def learners(make_user, clock, coach):
    """`learners(n, timezone=...)`: n learners, each linked to the coach long ago."""

    def make(n: int, timezone: str = "UTC") -> list:
        clock.set(LONG_AGO)
        people = [make_user(timezone=timezone) for _ in range(n)]
        for person in people:
            link(coach, person)
        return people

    return make


def ask(clock, moment: datetime) -> list[Pulse]:
    """Run the sweep's pulse step at `moment`; every pulse there is, oldest first."""
    clock.set(moment)
    services.create_due()
    db.session.expire_all()
    return list(db.session.scalars(db.select(Pulse).order_by(Pulse.id)))


def pulse_of(person, start: date = PERIOD) -> Pulse:
    return db.session.scalar(db.select(Pulse).filter_by(learner_id=person.id, period_start=start))


# --- periods and when a pulse is due -----------------------------------------------------------------

def test_a_period_is_four_weeks_from_a_monday_in_the_learners_own_zone():
    assert services.period_start(day_start(PERIOD, BERLIN), BERLIN) == PERIOD
    assert services.period_start(day_start(NEXT, BERLIN) - timedelta(seconds=1), BERLIN) == PERIOD
    sunday_noon_utc = at(PERIOD - timedelta(days=1), 12)  # already Monday 01:00 in Auckland
    assert services.period_start(sunday_noon_utc, AUCKLAND) == PERIOD
    assert services.period_start(sunday_noon_utc, UTC) == PERIOD - timedelta(weeks=4)
    assert services.period_end(PERIOD, AUCKLAND) == datetime(2026, 4, 19, 12, 0, tzinfo=UTC)  # NZ summer time ended


def test_due_at_the_check_in_hour_of_the_periods_first_day_in_the_learners_zone(app, clock, learners):
    [lee] = learners(1, "Europe/Berlin")
    assert ask(clock, at(PERIOD, 7, BERLIN) + timedelta(minutes=59)) == []
    [pulse] = ask(clock, at(PERIOD, 8, BERLIN))
    assert (pulse.learner_id, pulse.period_start) == (lee.id, PERIOD)
    assert pulse.closes_at == day_start(NEXT, BERLIN).astimezone(UTC) and pulse.emailed


def test_asked_once_per_period_per_link_then_again_the_next_period(app, clock, learners):
    learners(1)
    assert len(ask(clock, at(PERIOD, 9))) == 1
    assert len(ask(clock, at(PERIOD + timedelta(days=20), 9))) == 1
    assert [p.period_start for p in ask(clock, at(NEXT, 9))] == [PERIOD, NEXT]


def test_a_new_link_waits_two_weeks_and_never_comes_with_under_a_week_left(app, clock, make_user, coach):
    young, late = make_user(), make_user()
    clock.set(at(PERIOD - timedelta(days=5), 9))
    link(coach, young)
    clock.set(at(PERIOD + timedelta(days=10), 9))
    link(coach, late)
    assert ask(clock, at(PERIOD + timedelta(days=8), 9)) == []
    assert [p.learner_id for p in ask(clock, at(PERIOD + timedelta(days=9), 9))] == [young.id]
    assert [p.learner_id for p in ask(clock, at(PERIOD + timedelta(days=24), 9))] == [young.id]  # late: 14 days old
    assert pulse_of(late, NEXT) is None and pulse_of(late) is None


def test_no_pulse_for_an_ended_link_and_the_email_switch_only_stops_the_email(app, clock, learners, coach):
    ended, quiet = learners(2)
    coaching.end_link(ended, coaching.coaches_of(ended)[0])
    db.session.add(EmailSwitch(user_id=quiet.id, kind="safety-pulse", enabled=False))
    db.session.commit()
    [pulse] = ask(clock, at(PERIOD, 9))
    assert pulse.learner_id == quiet.id and not pulse.emailed
    assert [p.id for p in services.open_pulses(quiet)] == [pulse.id]


# --- answering ---------------------------------------------------------------------------------------

def test_answered_once_a_second_answer_is_refused_and_changes_nothing(app, clock, learners):
    [lee] = learners(1)
    [pulse] = ask(clock, at(PERIOD, 9))
    assert services.answer(pulse, {**ALL_FOURS, "help": 2}, "Good sessions")
    assert services.state(pulse) == services.ANSWERED and services.open_pulses(lee) == []
    assert not services.answer(pulse, {**ALL_FOURS, "help": 5}, "Changed my mind")
    db.session.expire_all()
    pulse = db.session.get(Pulse, pulse.id)
    assert (pulse.help, pulse.comment) == (2, "Good sessions")
    assert "answered this pulse already" in services.why_not(pulse)


def test_an_unanswered_pulse_closes_at_the_periods_end(app, clock, learners):
    [lee] = learners(1, "Europe/Berlin")
    [pulse] = ask(clock, at(PERIOD, 9, BERLIN))
    clock.set(day_start(NEXT, BERLIN) - timedelta(seconds=1))
    assert services.state(pulse) == services.OPEN
    clock.set(day_start(NEXT, BERLIN))
    assert services.state(pulse) == services.CLOSED and services.open_pulses(lee) == []
    assert not services.answer(pulse, ALL_FOURS, "")
    assert "closed on 19 April without an answer" in services.why_not(pulse)


def test_ending_the_coaching_closes_its_pulse(app, clock, learners):
    [lee] = learners(1)
    [pulse] = ask(clock, at(PERIOD, 9))
    coaching.end_link(lee, pulse.link)
    assert services.state(pulse) == services.CLOSED and not services.answer(pulse, ALL_FOURS, "")
    assert services.why_not(pulse) == "This coaching has ended, so its pulse is closed."


# --- what the coach sees -----------------------------------------------------------------------------

def answer_all(people, answers: list[tuple[dict, str]], start: date = PERIOD) -> None:
    for person, (scores, comment) in zip(people, answers, strict=False):
        assert services.answer(pulse_of(person, start), scores, comment)


def test_two_answers_show_nothing_three_show_the_period(app, clock, coach, learners):
    people = learners(3)
    ask(clock, at(PERIOD, 9))
    answer_all(people[:2], [(ALL_FOURS, "Fine"), (ALL_FOURS, "")])
    clock.set(day_start(NEXT, UTC))
    [period] = services.coach_pulse(coach).periods
    assert (period.answers, period.statements, period.comments) == (None, [], [])
    assert services.coach_pulse(coach).latest is None
    # closed now: a late third answer is refused, and the period stays hidden
    assert not services.answer(pulse_of(people[2]), ALL_FOURS, "")
    assert services.coach_pulse(coach).periods[0].answers is None


def test_three_answers_show_the_period_once_it_has_closed(app, clock, coach, learners):
    people = learners(3)
    ask(clock, at(PERIOD, 9))
    answer_all(people, [(ALL_FOURS, "")] * 3)
    open_page = services.coach_pulse(coach)
    assert open_page.periods == [] and open_page.open_until == date(2026, 4, 19)
    clock.set(day_start(NEXT, UTC))
    page = services.coach_pulse(coach)
    assert page.latest.answers == 3 and [s.average for s in page.latest.statements] == [4.0] * 5


def test_the_averages_agreement_and_comments_worked_out_by_hand(app, clock, coach, learners):
    people = learners(4)  # the fourth never answers: it counts for nothing
    ask(clock, at(PERIOD, 9))
    answer_all(people, [
        ({"mistakes": 5, "problems": 3, "help": 1, "skills": 4, "risks": 2}, "sessions run late"),
        ({"mistakes": 4, "problems": 3, "help": 5, "skills": 4, "risks": 2}, ""),
        ({"mistakes": 2, "problems": 3, "help": 5, "skills": 5, "risks": 4}, "Always kind"),
    ])
    clock.set(day_start(NEXT, UTC))
    latest = services.coach_pulse(coach).latest
    assert latest.answers == 3
    # mistakes (5+4+2)/3 = 3.67, 2 of 3 agree; problems 3.0, none; help 11/3 = 3.67, 2 of 3;
    # skills 13/3 = 4.33, all; risks 8/3 = 2.67, 1 of 3
    assert [(s.average, s.agree_pct) for s in latest.statements] == [(3.7, 67), (3.0, 0), (3.7, 67), (4.3, 100),
                                                                     (2.7, 33)]
    assert latest.comments == ["Always kind", "sessions run late"]  # alphabetical, not in the order they came


def test_the_trend_lists_closed_periods_newest_first_and_hides_the_thin_ones(app, clock, coach, learners):
    people = learners(3)
    ask(clock, at(PERIOD, 9))
    answer_all(people, [({**ALL_FOURS, "help": 5}, "")] * 3)
    ask(clock, at(NEXT, 9))
    answer_all(people[:2], [(ALL_FOURS, "")] * 2, NEXT)
    clock.set(day_start(NEXT + timedelta(weeks=4), UTC))
    page = services.coach_pulse(coach)
    assert [(p.start, p.answers) for p in page.periods] == [(NEXT, None), (PERIOD, 3)]
    assert page.latest.start == PERIOD and page.latest.statements[2].average == 5.0


def test_only_someone_who_coaches_has_a_pulse_page(app, clock, learners):
    [lee] = learners(1)
    with pytest.raises(NotFound):
        services.coach_pulse(lee)


def test_another_coachs_learners_never_count(app, clock, coach, learners, make_user):
    people = learners(2)
    other = make_user(name="Other Coach")
    clock.set(LONG_AGO)
    link(other, people[0])
    ask(clock, at(PERIOD, 9))
    assert count(Pulse) == 3
    for pulse in db.session.scalars(db.select(Pulse)):
        assert services.answer(pulse, ALL_FOURS, "")
    clock.set(day_start(NEXT, UTC))
    assert services.coach_pulse(coach).periods[0].answers is None  # 2 of the coach's own learners: too few


# --- a coach's lesson for their learners ---------------------------------------------------------------

def lesson_of(person, shared_with_learners: bool):
    fields = {"happened_on": PERIOD, "context": "", "what_failed": "I cancelled a session at an hour's notice",
              "what_tried": "", "try_next": "Block travel days first", "check_on": None, "shared": False,
              "shared_with_learners": shared_with_learners}
    lesson, _ = lessons.create_lesson(person, fields, {}, None, f"key-{person.id}-{shared_with_learners}")
    return lesson


def test_a_coachs_shared_lesson_shows_to_their_learners_only_while_linked(app, clock, coach, learners, make_user):
    [lee] = learners(1)
    stranger = make_user()
    shared, private = lesson_of(coach, True), lesson_of(coach, False)
    assert shared.shared_with_learners and not private.shared_with_learners
    assert lessons.lessons_from_coaches(lee) == [shared]
    assert lessons.lessons_from_coaches(stranger) == []
    coaching.end_link(lee, coaching.coaches_of(lee)[0])
    assert lessons.lessons_from_coaches(lee) == []


def test_someone_who_coaches_nobody_cannot_share_with_learners(app, clock, make_user):
    loner = make_user()
    assert not lesson_of(loner, True).shared_with_learners
