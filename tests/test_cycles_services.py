"""PDSA cycles: the rule (hypothesis over windows and thresholds, both directions, too few reps), the windows
at the edges of the learner's days, the study at the end of the timebox, rule changes, the decision."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failforward.cycles import rule, services
from failforward.cycles.models import ADAPT, ADOPT, DECIDED, ENDED, PLANNED, RUNNING, Cycle, RuleChange
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from tests.factories import count, log, make_drill, make_goal

AUCKLAND = ZoneInfo("Pacific/Auckland")
START = date(2026, 3, 2)  # a Monday
PLAN = {"objective": "Faster triage", "change": "Read the runbook first", "prediction": "Quicker, less guessing",
        "harm": "miss-rate", "harm_goal_id": None, "adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5,
        "scope_pct": 10, "timebox_days": 7, "starts_on": START, "undo_plan": "Skip the runbook",
        "undo_speed": "at once", "next_if_inconclusive": "Run it for another week"}

values = st.floats(min_value=0.1, max_value=1000, allow_nan=False)
percent = st.floats(min_value=0, max_value=100, allow_nan=False)
directions = st.sampled_from([rule.LOWER, "higher"])


def window(reps: int, signal: float, harm: float) -> rule.Window:
    return rule.Window(reps, signal, harm)


# --- the rule, as a pure function -----------------------------------------------------------------

@given(before=values, after=values, harm_before=values, harm_after=values, x=percent, y=percent, direction=directions,
       n=st.integers(1, 10), reps=st.tuples(st.integers(0, 12), st.integers(0, 12)))
def test_the_verdict_follows_the_rule(before, after, harm_before, harm_after, x, y, direction, n, reps):
    verdict = rule.decide(window(reps[0], before, harm_before), window(reps[1], after, harm_after),
                          direction=direction, harm_direction=rule.LOWER, adopt_if_pct=x, harm_tolerance_pct=y,
                          min_reps=n)
    improved = rule.improvement_pct(before, after, direction)
    worsened = -rule.improvement_pct(harm_before, harm_after, rule.LOWER)
    if min(reps) < n:
        assert verdict.outcome == rule.INCONCLUSIVE and "too few reps" in verdict.reason
    elif improved >= x and worsened <= y:
        assert verdict.outcome == rule.ADOPT
    else:
        assert verdict.outcome == rule.ABANDON


@given(before=values, after=values, x=percent, smaller=percent)
def test_a_looser_threshold_never_turns_adopt_into_abandon(before, after, x, smaller):
    def outcome(threshold):
        return rule.decide(window(5, before, 1), window(5, after, 1), direction=rule.LOWER, harm_direction=rule.LOWER,
                           adopt_if_pct=threshold, harm_tolerance_pct=0, min_reps=5).outcome
    if outcome(x) == rule.ADOPT:
        assert outcome(min(x, smaller)) == rule.ADOPT


@given(before=values, after=values)
def test_improves_follows_the_metrics_direction(before, after):
    lower = rule.improvement_pct(before, after, rule.LOWER)
    assert lower == rule.improvement_pct(-before, -after, "higher")
    # Rounded to a few decimals, a tiny gain reads as 0: never as a loss, and never a gain from a loss.
    assert lower >= 0 if after < before else lower <= 0
    assert (lower > 0) <= (after < before)


def test_a_drop_of_exactly_five_percent_adopts():
    verdict = rule.decide(window(5, 10, 0), window(5, 9.5, 0), direction=rule.LOWER, harm_direction=rule.LOWER,
                          adopt_if_pct=5, harm_tolerance_pct=0, min_reps=5)
    assert verdict.outcome == rule.ADOPT and verdict.signal_change_pct == 5


def test_higher_is_better_metrics_adopt_on_a_rise_and_abandon_on_a_drop():
    kwargs = {"direction": "higher", "harm_direction": rule.LOWER, "adopt_if_pct": 5, "harm_tolerance_pct": 0,
              "min_reps": 5}
    assert rule.decide(window(5, 10, 0), window(5, 11, 0), **kwargs).outcome == rule.ADOPT
    assert rule.decide(window(5, 10, 0), window(5, 9, 0), **kwargs).outcome == rule.ABANDON


def test_any_harm_from_nothing_is_too_much_when_none_is_allowed():
    verdict = rule.decide(window(5, 10, 0), window(5, 5, 20), direction=rule.LOWER, harm_direction=rule.LOWER,
                          adopt_if_pct=5, harm_tolerance_pct=50, min_reps=5)
    assert verdict.outcome == rule.ABANDON and "harm worsened" in verdict.reason


@pytest.mark.parametrize(("before", "after", "why"), [
    (4, 9, "too few reps: 4 before and 9 during"), (9, 0, "too few reps: 9 before and 0 during")])
def test_too_few_reps_in_either_window_is_inconclusive(before, after, why):
    verdict = rule.decide(window(before, 10, 0), window(after, 1, 0), direction=rule.LOWER, harm_direction=rule.LOWER,
                          adopt_if_pct=5, harm_tolerance_pct=0, min_reps=5)
    assert verdict.outcome == rule.INCONCLUSIVE and why in verdict.reason


def test_a_harm_that_cannot_be_measured_is_inconclusive():
    verdict = rule.decide(window(5, 10, None), window(5, 1, 3), direction=rule.LOWER, harm_direction=rule.LOWER,
                          adopt_if_pct=5, harm_tolerance_pct=0, min_reps=5)
    assert verdict.outcome == rule.INCONCLUSIVE


@given(days=st.integers(1, 14), zone=st.sampled_from(["Pacific/Auckland", "America/New_York", "UTC", "Asia/Kolkata"]),
       start=st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_on_schedule_both_windows_are_whole_local_days_of_the_same_number(days, zone, start):
    tz = ZoneInfo(zone)
    end = datetime.combine(start + timedelta(days=days), datetime.min.time(), tzinfo=tz)
    baseline, test = rule.windows(start, days, tz, end + timedelta(hours=5))
    assert baseline[1] == test[0] and test[1] == end
    assert baseline[0].astimezone(tz).date() == start - timedelta(days=days)
    assert {b.astimezone(tz).time() for b in (*baseline, *test)} == {datetime.min.time()}


def test_studied_early_the_windows_are_equally_long():
    start = datetime(2026, 3, 2, tzinfo=AUCKLAND)
    baseline, test = rule.windows(START, 7, AUCKLAND, start + timedelta(days=2, hours=3))
    assert baseline[1] - baseline[0] == test[1] - test[0] == timedelta(days=2, hours=3)


# --- the study, from the ledger ---------------------------------------------------------------------

@pytest.fixture
def kiwi(make_user):
    """A learner in Auckland (13 hours ahead of UTC in March)."""
    return make_user(name="Kiri", timezone="Pacific/Auckland")


@pytest.fixture
def drill(kiwi):
    return make_drill(make_goal(kiwi))


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=AUCKLAND).replace(hour=hour, minute=minute)


def plan(kiwi, drill, **changes) -> Cycle:
    cycle, _ = services.create_cycle(kiwi, drill.goal, {**PLAN, "drill_id": drill.id, **changes}, None, "plan-key-1")
    return cycle


def practise(kiwi, drill, day: date, value: float, times: int = 5, **fields) -> None:
    for i in range(times):
        log(kiwi, drill, value, at=local(day, 8 + i), **fields)


def test_reps_at_the_edges_of_the_learners_days_fall_in_the_right_window(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill, min_reps=1)
    log(kiwi, drill, 10, at=local(START - timedelta(days=7), 0, 0))  # the baseline's first moment
    log(kiwi, drill, 99, at=local(START - timedelta(days=7), 0, 0) - timedelta(seconds=1))  # before it: ignored
    log(kiwi, drill, 10, at=local(START - timedelta(days=1), 23, 59))  # the baseline's last minute
    log(kiwi, drill, 8, at=local(START, 0, 0))  # the test's first moment
    log(kiwi, drill, 8, at=local(START + timedelta(days=6), 23, 59))  # the test's last minute
    log(kiwi, drill, 1, at=local(START + timedelta(days=7), 0, 0))  # after the timebox: ignored
    clock.set(local(START + timedelta(days=7), 0, 0))
    assert services.study_due_cycles() == 1
    db.session.refresh(cycle)
    assert (cycle.baseline_reps, cycle.test_reps) == (2, 2)
    assert (cycle.baseline_signal, cycle.test_signal, cycle.verdict) == (10, 8, ADOPT)


def test_the_sweep_studies_at_midnight_in_the_learners_zone_and_mails_once(app, clock, inbox, kiwi, drill):
    cycle = plan(kiwi, drill)
    practise(kiwi, drill, START - timedelta(days=3), 10)
    practise(kiwi, drill, START + timedelta(days=2), 9)
    clock.set(local(START + timedelta(days=6), 23, 59))
    assert services.study_due_cycles() == 0
    clock.set(local(START + timedelta(days=7), 0, 0).astimezone(UTC))
    assert services.study_due_cycles() == 1
    assert services.study_due_cycles() == 0
    db.session.refresh(cycle)
    assert cycle.verdict == ADOPT and cycle.state(START + timedelta(days=7)) == ENDED
    assert count(OutboxMessage, OutboxMessage.key == f"cycle-ended:{cycle.id}") == 1


def test_a_miss_rate_that_rises_abandons_a_change_that_improved_the_signal(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill)
    practise(kiwi, drill, START - timedelta(days=3), 10, outcome="partial")
    practise(kiwi, drill, START + timedelta(days=2), 7, times=4, outcome="partial")
    log(kiwi, drill, 7, at=local(START + timedelta(days=3)), outcome="miss")
    clock.set(local(START + timedelta(days=7)))
    services.study_due_cycles()
    db.session.refresh(cycle)
    assert cycle.verdict == "abandon" and (cycle.baseline_harm, cycle.test_harm) == (0, 20)


def test_another_goals_metric_as_the_harm(app, clock, kiwi, drill):
    writing = make_goal(kiwi, title="Write daily", direction="higher", baseline=100, target=500, aggregation="total")
    notes = make_drill(writing, name="Morning pages")
    cycle = plan(kiwi, drill, harm="goal", harm_goal_id=writing.id)
    practise(kiwi, drill, START - timedelta(days=3), 10)
    practise(kiwi, drill, START + timedelta(days=2), 9)
    log(kiwi, notes, 300, at=local(START - timedelta(days=2)))
    log(kiwi, notes, 200, at=local(START + timedelta(days=2)))
    clock.set(local(START + timedelta(days=7)))
    services.study_due_cycles()
    db.session.refresh(cycle)
    assert (cycle.baseline_harm, cycle.test_harm, cycle.verdict) == (300, 200, "abandon")


def test_too_few_reps_during_the_test_is_inconclusive_and_offers_the_next_cycle(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill)
    practise(kiwi, drill, START - timedelta(days=3), 10)
    practise(kiwi, drill, START + timedelta(days=2), 9, times=4)
    clock.set(local(START + timedelta(days=7)))
    services.study_due_cycles()
    db.session.refresh(cycle)
    assert cycle.verdict == "inconclusive" and services.next_offered(cycle)


def test_study_it_now_ends_a_running_cycle_early(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill, min_reps=1)
    clock.set(local(START - timedelta(days=1)))
    assert cycle.state(START - timedelta(days=1)) == PLANNED and not services.study_now(cycle)
    log(kiwi, drill, 10, at=local(START - timedelta(days=1), 13))
    log(kiwi, drill, 12, at=local(START, 9))
    clock.set(local(START + timedelta(days=1)))
    assert services.study_now(cycle)
    assert cycle.ended_at == local(START + timedelta(days=1)) and cycle.test_reps == 1 and cycle.baseline_reps == 1
    assert cycle.verdict == "abandon" and not services.study_now(cycle)


def test_changing_the_rule_after_the_start_is_recorded(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill)
    clock.set(local(START - timedelta(days=1)))
    assert services.update_rule(cycle, {**PLAN, "adopt_if_pct": 4.0}, "")
    assert not cycle.rule_changed_after_start and count(RuleChange) == 0
    clock.set(local(START + timedelta(days=1)))
    assert cycle.state(START + timedelta(days=1)) == RUNNING
    assert services.update_rule(cycle, {**PLAN, "adopt_if_pct": 2.0}, "Too ambitious")
    change = db.session.scalar(db.select(RuleChange))
    assert cycle.rule_changed_after_start and "at least 4%" in change.before and "at least 2%" in change.after
    assert change.reason == "Too ambitious"


def test_the_rule_is_fixed_once_studied_and_the_decision_is_kept_beside_it(app, clock, kiwi, drill):
    cycle = plan(kiwi, drill)
    assert not services.decide(cycle, ADOPT, "")
    clock.set(local(START + timedelta(days=7)))
    services.study_due_cycles()
    db.session.refresh(cycle)
    assert not services.update_rule(cycle, {**PLAN, "adopt_if_pct": 0.0}, "")
    assert services.decide(cycle, ADAPT, "Shorter runbook") and cycle.verdict == "inconclusive"
    assert cycle.state(START + timedelta(days=7)) == DECIDED and services.next_offered(cycle)


def test_the_next_cycle_copies_the_plan_forward_and_joins_the_chain(app, kiwi, drill):
    first = plan(kiwi, drill)
    data, previous = services.prefill(drill.goal, first.id, {})
    assert previous == first and data["change"] == PLAN["change"] and data["drill_id"] == drill.id
    second, _ = services.create_cycle(kiwi, drill.goal, {**PLAN, **data, "harm": "miss-rate"}, first.id, "plan-key-2")
    assert second.previous_id == first.id
    assert [link.cycle.id for link in services.cycles_of_goal(drill.goal)] == [first.id, second.id]


def test_a_link_prefills_the_change_and_drill_but_not_another_goals_cycle(app, kiwi, drill, make_user):
    other = make_drill(make_goal(kiwi, title="Other"))
    foreign = plan(kiwi, other)
    data, previous = services.prefill(drill.goal, foreign.id, {"change": "Try X", "drill_id": drill.id})
    assert previous is None and data["change"] == "Try X" and data["adopt_if_pct"] == 5.0
