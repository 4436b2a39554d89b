"""Contract thresholds: every learner's personal contract, rules that fire in the learner's zone (at day
and week edges in Auckland and Los Angeles), once per occurrence, and follow-ups done by writing them."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts import services as accounts
from failforward.coaching.models import Contract
from failforward.extensions import db
from failforward.lessons import services as lessons
from failforward.premortems import services as premortems
from failforward.premortems.models import MANUAL
from failforward.reflection import services as reflection
from failforward.thresholds import services
from failforward.thresholds.models import DRILL_MISSES, LESSON, REVIEW, SETBACK, TRIPWIRE, WEEKLY_MISSES, FollowUp
from tests.factories import count, link, log, make_drill, make_goal

AUCKLAND, LOS_ANGELES = ZoneInfo("Pacific/Auckland"), ZoneInfo("America/Los_Angeles")
_keys = iter(range(1, 100_000))


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def miss(clock, learner, drill, moment: datetime):
    """A miss logged at `moment` (value 12 is worse than the baseline of 10)."""
    clock.set(moment)
    return log(learner, drill, 12.0, at=moment)


def due(learner) -> list[FollowUp]:
    return services.due_follow_ups(learner)


def write_lesson(learner, follow_up_id: int):
    fields = {"happened_on": date(2026, 3, 9), "context": "", "what_failed": "Three misses", "what_tried": "",
              "try_next": "", "check_on": None, "shared": False}
    return lessons.create_lesson(learner, fields, {}, ("followup", follow_up_id), f"key-{next(_keys):06d}")[0]


def test_every_learner_has_a_personal_contract_with_the_default_numbers(clock, make_user):
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    learner = make_user()
    page = services.contract_page(learner)
    assert page.contract.learner_id == learner.id and page.contract.link_id is None
    assert "3 misses on one drill in a week" in page.contract.review_thresholds
    rules = {rule.kind: rule for rule in page.rules}
    assert (rules[DRILL_MISSES].count, rules[DRILL_MISSES].days, rules[DRILL_MISSES].follow_up,
            rules[DRILL_MISSES].window_hours) == (3, 7, LESSON, 72)
    assert (rules[SETBACK].intensity, rules[SETBACK].follow_up) == (8, REVIEW)
    assert rules[WEEKLY_MISSES].count == 2 and rules[TRIPWIRE].follow_up == REVIEW
    assert count(Contract, Contract.learner_id == learner.id) == 0  # reading it stores nothing
    reflection.start_reflection(learner, {"situation": "plateau", "intensity_before": 2, "what_happened": "x"}, "s-0")
    services.fire_due()  # the sweep needs its rules: stored now, once
    services.fire_due()
    assert count(Contract, Contract.learner_id == learner.id) == 1
    assert len(services.contract_page(learner).rules) == 4


def test_signing_up_stores_the_personal_contract_from_the_defaults(app, inbox):
    """Issue 13: the contract is created at sign-up, so it is the person's from the first day (their data export
    carries it), not only once they save it or the sweep needs it."""
    accounts.start_sign_up("Ada", "ada@example.com", "a long enough password", "Europe/Paris", None)
    body = inbox.body(inbox.last_to("ada@example.com"))
    token = next(word for word in body.split() if word.startswith("http://localhost/")).rsplit("/", 1)[1]
    user, _next = accounts.finish_sign_up(token)
    [contract] = db.session.scalars(db.select(Contract).where(Contract.learner_id == user.id))
    assert contract.link_id is None and contract.accepted_at is not None
    assert len(services.contract_page(user).rules) == 4


def test_three_misses_on_one_drill_make_a_lesson_due_once(clock, make_user):
    learner = make_user()
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    for hour in (9, 10):
        miss(clock, learner, drill, datetime(2026, 3, 2, hour, tzinfo=UTC))
    assert services.fire_due() == 0
    third = miss(clock, learner, drill, datetime(2026, 3, 4, 9, tzinfo=UTC))
    assert services.fire_due() == 1
    [follow_up] = due(learner)
    assert (follow_up.kind, follow_up.drill_id, follow_up.on_day) == (LESSON, drill.id, date(2026, 3, 4))
    assert follow_up.due_at == third.performed_at + timedelta(hours=72)
    assert follow_up.reason == "3 misses on Pager drill within 7 days"
    miss(clock, learner, drill, datetime(2026, 3, 5, 9, tzinfo=UTC))  # a fourth in the same window
    assert services.fire_due() == 0 and services.fire_due() == 0
    for day in (10, 11, 12):  # a new window, past the first: it fires again
        miss(clock, learner, drill, datetime(2026, 3, 12, day, tzinfo=UTC))
    assert services.fire_due() == 1 and len(due(learner)) == 2


def test_other_drills_and_hits_do_not_count(clock, make_user):
    learner = make_user()
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    goal = make_goal(learner)
    one, other = make_drill(goal), make_drill(goal, name="Other drill")
    miss(clock, learner, one, datetime(2026, 3, 2, 9, tzinfo=UTC))
    miss(clock, learner, other, datetime(2026, 3, 2, 10, tzinfo=UTC))
    clock.set(datetime(2026, 3, 2, 11, tzinfo=UTC))
    log(learner, one, 4.0)  # a hit
    miss(clock, learner, one, datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert services.fire_due() == 0


@pytest.mark.parametrize(("last_hour", "fires"), [(23, True), (24, False)])
def test_the_days_are_the_learners_own_in_auckland(clock, make_user, last_hour, fires):
    """Monday 00:30 to Sunday 23:30 in Auckland is within 7 local days (in UTC it spans 8); 00:30 on the
    next Monday is not."""
    learner = make_user(timezone="Pacific/Auckland")
    clock.set(local(AUCKLAND, date(2026, 3, 1), 12))
    drill = make_drill(make_goal(learner))
    miss(clock, learner, drill, local(AUCKLAND, date(2026, 3, 2), 0, 30))
    miss(clock, learner, drill, local(AUCKLAND, date(2026, 3, 4), 12))
    last = local(AUCKLAND, date(2026, 3, 8), 23, 30) + timedelta(hours=last_hour - 23)
    miss(clock, learner, drill, last)
    assert services.fire_due() == int(fires)


@pytest.mark.parametrize(("last", "fires"), [((8, 23, 30), True), ((9, 0, 30), False)])
def test_the_days_are_the_learners_own_in_los_angeles_across_the_clock_change(clock, make_user, last, fires):
    """Summer time starts on 8 March 2026 in Los Angeles: local days still count as days."""
    learner = make_user(timezone="America/Los_Angeles")
    clock.set(local(LOS_ANGELES, date(2026, 3, 1), 12))
    drill = make_drill(make_goal(learner))
    miss(clock, learner, drill, local(LOS_ANGELES, date(2026, 3, 2), 0, 30))
    miss(clock, learner, drill, local(LOS_ANGELES, date(2026, 3, 5), 12))
    day, hour, minute = last
    miss(clock, learner, drill, local(LOS_ANGELES, date(2026, 3, day), hour, minute))
    assert services.fire_due() == int(fires)


def weekly_world(clock, make_user, zone: ZoneInfo, timezone: str):
    """A goal whose weekly median (8) missed its target (5) in the weeks of 2 and 9 March, local time."""
    learner = make_user(timezone=timezone)
    clock.set(local(zone, date(2026, 2, 25), 12))
    goal = make_goal(learner)
    drill = make_drill(goal)
    for day in (date(2026, 3, 3), date(2026, 3, 10)):
        clock.set(local(zone, day, 12))
        log(learner, drill, 8.0, at=local(zone, day, 12))
    return learner, drill


@pytest.mark.parametrize(("zone", "timezone"), [(AUCKLAND, "Pacific/Auckland"), (LOS_ANGELES, "America/Los_Angeles")])
def test_two_missed_weeks_make_a_review_due_when_the_local_week_turns(clock, make_user, zone, timezone):
    learner, drill = weekly_world(clock, make_user, zone, timezone)
    clock.set(local(zone, date(2026, 3, 15), 23, 59))  # Sunday night: the second week is still in progress
    assert services.fire_due() == 0
    clock.set(local(zone, date(2026, 3, 16), 0, 1))  # Monday, local midnight has passed
    assert services.fire_due() == 1
    [follow_up] = due(learner)
    assert (follow_up.kind, follow_up.goal_id, follow_up.on_day) == (REVIEW, drill.goal_id, date(2026, 3, 9))
    clock.set(local(zone, date(2026, 3, 17), 12))
    log(learner, drill, 8.0)
    assert services.fire_due() == 0
    clock.set(local(zone, date(2026, 3, 23), 9))  # a third missed week: the same run, nothing new
    assert services.fire_due() == 0


def test_a_hard_setback_makes_a_review_due_and_a_milder_one_does_not(clock, make_user):
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    learner = make_user()
    for intensity in (7, 8):
        reflection.start_reflection(learner, {"situation": "public-mistake", "intensity_before": intensity,
                                              "what_happened": "Froze in the demo"}, f"setback-{intensity}")
    assert services.fire_due() == 1 and services.fire_due() == 0
    [follow_up] = due(learner)
    assert follow_up.kind == REVIEW and follow_up.reflection_id is not None


def test_a_rule_switched_off_or_changed_applies_from_then_on(clock, make_user):
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    learner = make_user()
    page = services.contract_page(learner)
    terms = {name: getattr(page.contract, name) for name in services.PERSONAL_TERMS}
    services.update_contract(learner, terms, {
        DRILL_MISSES: {"active": True, "count": 2, "days": 3, "follow_up": REVIEW, "window_hours": 24},
        SETBACK: {"active": False, "intensity": 8, "follow_up": REVIEW, "window_hours": 72}})
    drill = make_drill(make_goal(learner))
    miss(clock, learner, drill, datetime(2026, 3, 2, 9, tzinfo=UTC))
    miss(clock, learner, drill, datetime(2026, 3, 2, 10, tzinfo=UTC))
    reflection.start_reflection(learner, {"situation": "plateau", "intensity_before": 10, "what_happened": "x"}, "s-1")
    assert services.fire_due() == 1
    [follow_up] = due(learner)
    assert follow_up.kind == REVIEW and follow_up.due_at == datetime(2026, 3, 3, 10, tzinfo=UTC)


def test_a_pre_mortem_tripwire_that_fires_makes_a_review_due_once(clock, make_user):
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    learner = make_user()
    assert services.fired_tripwires(datetime(2026, 3, 1, tzinfo=UTC)) == []
    premortem = premortems.start(learner, make_goal(learner), 6, 3, None)
    premortems.write_causes(premortem, learner, ["Partner rate limits"], finished=True)
    premortems.reveal(premortem)
    risk = premortems.add_risk(premortem, learner.id, "Partner rate limits hit", [premortem.causes[0].id])
    premortems.vote(premortem, learner, {risk.id: 3})
    premortems.close_vote(premortem)
    premortems.convert(risk, {"prevention": "Cache the calls", "contingency": "Switch to the batch API",
                              "owner": "learner", "due_on": None, "tripwire": MANUAL, "drill_id": None,
                              "threshold": None})
    premortems.trigger(risk)
    assert services.fire_due() == 1 and services.fire_due() == 0
    [follow_up] = due(learner)
    assert follow_up.kind == REVIEW and follow_up.reason.startswith("Tripwire fired: Partner rate limits hit")


def test_writing_the_lesson_from_the_follow_up_marks_it_done(clock, make_user):
    learner, stranger = make_user(), make_user()
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    for hour in (9, 10, 11):
        miss(clock, learner, drill, datetime(2026, 3, 2, hour, tzinfo=UTC))
    services.fire_due()
    [follow_up] = due(learner)
    assert lessons.prefill(stranger, ("followup", follow_up.id)) == {}
    assert write_lesson(stranger, follow_up.id).drill_id is None and len(due(learner)) == 1
    assert lessons.prefill(learner, ("followup", follow_up.id))["context"] == follow_up.reason
    lesson = write_lesson(learner, follow_up.id)
    assert lesson.drill_id == drill.id and due(learner) == []
    assert db.session.get(FollowUp, follow_up.id).done_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert services.complete_follow_up(learner, follow_up.id) is False


def test_a_follow_up_is_overdue_after_its_window(clock, make_user):
    learner = make_user()
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    reflection.start_reflection(learner, {"situation": "plateau", "intensity_before": 9, "what_happened": "x"}, "s-2")
    services.fire_due()
    [follow_up] = due(learner)
    clock.set(datetime(2026, 3, 5, 8, 59, tzinfo=UTC))
    assert not follow_up.overdue
    clock.set(datetime(2026, 3, 5, 9, tzinfo=UTC))
    assert follow_up.overdue


def test_the_coach_sees_their_learners_follow_ups_but_not_an_unshared_setback(clock, make_user):
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    learner, coach, other_coach = make_user(), make_user(), make_user()
    link(coach, learner)
    drill = make_drill(make_goal(learner))
    for hour in (9, 10, 11):
        miss(clock, learner, drill, datetime(2026, 3, 2, hour, tzinfo=UTC))
    setback = reflection.start_reflection(learner, {"situation": "plateau", "intensity_before": 9,
                                                    "what_happened": "x"}, "s-3")
    services.fire_due()
    assert [f.kind for f in services.coach_follow_ups(coach)] == [LESSON]
    reflection.set_shared(setback, True)
    assert sorted(f.kind for f in services.coach_follow_ups(coach)) == [LESSON, REVIEW]
    assert services.coach_follow_ups(other_coach) == []


def test_miss_days_fire_on_windows_that_never_overlap():
    rule = type("Rule", (), {"count": 3, "days": 7})()
    week = [date(2026, 3, d) for d in (2, 3, 4, 5, 6, 8)]
    assert services.miss_days_that_fire(rule, week, [], date(2026, 3, 8)) == [date(2026, 3, 4)]
    later = [*week[:5], date(2026, 3, 11)]  # 5, 6 and 11 March: three in 7 days, after the window of the 4th
    assert services.miss_days_that_fire(rule, later, [date(2026, 3, 4)], date(2026, 3, 15)) == [date(2026, 3, 11)]
    assert services.miss_days_that_fire(rule, later, [date(2026, 3, 5)], date(2026, 3, 15)) == []
    assert services.miss_days_that_fire(rule, week, [], date(2026, 3, 20)) == []  # too long ago to fire now
