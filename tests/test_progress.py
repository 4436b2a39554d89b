"""Weeks in the learner's time zone and the target rule (failforward/ledger/progress.py), by tables and hypothesis."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failforward.calendar import week_bounds, week_start
from failforward.ledger import progress
from failforward.ledger.progress import WeekValue, aggregate, evaluate, weekly_values

ZONES = [ZoneInfo(name) for name in (
    "UTC", "Europe/Berlin", "America/New_York", "Pacific/Honolulu", "Pacific/Tongatapu", "Pacific/Auckland",
    "Pacific/Kiritimati", "Pacific/Apia", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns",
    "America/Santiago", "America/Havana", "Asia/Gaza", "Europe/London",
)]
BERLIN, NEW_YORK, HONOLULU = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Pacific/Honolulu")
TONGATAPU, AUCKLAND = ZoneInfo("Pacific/Tongatapu"), ZoneInfo("Pacific/Auckland")
UTC_ZONE = ZoneInfo("UTC")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- which week a moment belongs to ---------------------------------------------------------------

@pytest.mark.parametrize(("moment", "zone", "monday"), [
    # 23:30 on a Sunday, local time, while UTC is already Monday: still the week that is ending.
    (utc(2026, 3, 9, 9, 30), HONOLULU, date(2026, 3, 2)),
    (utc(2026, 3, 2, 4, 30), NEW_YORK, date(2026, 2, 23)),  # Sunday 23:30 EST
    (utc(2026, 3, 8, 22, 30), BERLIN, date(2026, 3, 2)),  # Sunday 23:30 CET, Sunday 22:30 UTC
    # 00:30 on a Monday, local time, while UTC is still Sunday: already the new week.
    (utc(2026, 3, 8, 11, 30), TONGATAPU, date(2026, 3, 9)),
    (utc(2026, 3, 1, 11, 15), AUCKLAND, date(2026, 3, 2)),  # Monday 00:15 NZDT (UTC+13)
    (utc(2026, 3, 8, 23, 30), BERLIN, date(2026, 3, 9)),  # Monday 00:30 CET
    # Sunday 23:30 in Tonga is Sunday 10:30 UTC: the same week on both sides.
    (utc(2026, 3, 8, 10, 30), TONGATAPU, date(2026, 3, 2)),
    # The Sundays the clocks change in Berlin, at 23:30 local time.
    (utc(2026, 3, 29, 21, 30), BERLIN, date(2026, 3, 23)),  # 23:30 CEST
    (utc(2026, 10, 25, 22, 30), BERLIN, date(2026, 10, 19)),  # 23:30 CET
    # Both 02:30s of the night the clocks go back belong to the same week.
    (utc(2026, 10, 25, 0, 30), BERLIN, date(2026, 10, 19)),
    (utc(2026, 10, 25, 1, 30), BERLIN, date(2026, 10, 19)),
    # New York's changes: Sunday 8 March and Sunday 1 November 2026, late in the evening.
    (utc(2026, 3, 9, 3, 30), NEW_YORK, date(2026, 3, 2)),  # Sunday 23:30 EDT
    (utc(2026, 11, 2, 4, 30), NEW_YORK, date(2026, 10, 26)),  # Sunday 23:30 EST
    # New Year: 2026 has an ISO week 53 that runs to Sunday 3 January 2027.
    (utc(2027, 1, 3, 22, 30), BERLIN, date(2026, 12, 28)),
    (utc(2027, 1, 4, 9, 30), HONOLULU, date(2026, 12, 28)),  # Sunday 23:30 in Honolulu
    (utc(2027, 1, 3, 11, 30), TONGATAPU, date(2027, 1, 4)),  # Monday 00:30 in Tonga
    (utc(2026, 12, 28, 0, 0), ZoneInfo("UTC"), date(2026, 12, 28)),
])
def test_a_moment_belongs_to_the_local_iso_week(moment, zone, monday):
    assert week_start(moment, zone) == monday
    assert monday.weekday() == 0
    start, end = week_bounds(monday, zone)
    assert start <= moment < end


@pytest.mark.parametrize(("monday", "zone", "start", "end"), [
    (date(2026, 3, 2), ZoneInfo("UTC"), utc(2026, 3, 2), utc(2026, 3, 9)),
    # Clocks go forward on Sunday 29 March 2026: a 167-hour week.
    (date(2026, 3, 23), BERLIN, utc(2026, 3, 22, 23), utc(2026, 3, 29, 22)),
    # Clocks go back on Sunday 25 October 2026: a 169-hour week.
    (date(2026, 10, 19), BERLIN, utc(2026, 10, 18, 22), utc(2026, 10, 25, 23)),
    (date(2026, 3, 2), NEW_YORK, utc(2026, 3, 2, 5), utc(2026, 3, 9, 4)),
    (date(2026, 10, 26), NEW_YORK, utc(2026, 10, 26, 4), utc(2026, 11, 2, 5)),
    # Auckland leaves daylight time on Sunday 5 April 2026 (UTC+13 to UTC+12).
    (date(2026, 3, 30), AUCKLAND, utc(2026, 3, 29, 11), utc(2026, 4, 5, 12)),
    (date(2026, 3, 2), HONOLULU, utc(2026, 3, 2, 10), utc(2026, 3, 9, 10)),
    (date(2026, 3, 2), TONGATAPU, utc(2026, 3, 1, 11), utc(2026, 3, 8, 11)),
    (date(2026, 12, 28), BERLIN, utc(2026, 12, 27, 23), utc(2027, 1, 3, 23)),
])
def test_week_bounds_are_the_utc_instants_of_local_monday_midnights(monday, zone, start, end):
    assert week_bounds(monday, zone) == (start, end)


def test_iso_week_53_runs_from_28_december_2026_to_3_january_2027():
    week = WeekValue(date(2026, 12, 28), 4.0, 1, 10, True, False)
    assert week.label == "2026-W53"
    assert week.end == date(2027, 1, 3)
    assert WeekValue(date(2027, 1, 4), None, 0, 0, None, False).label == "2027-W01"
    assert WeekValue(date(2025, 12, 29), None, 0, 0, None, False).label == "2026-W01"


def test_weekly_values_cross_new_year_without_a_gap():
    reps = [(utc(2026, 12, 31, 12).timestamp(), 4.0, 10), (utc(2027, 1, 3, 22, 30).timestamp(), 6.0, 5)]
    weeks = weekly_values(reps, how="median", direction="lower", target=5.0, zone=BERLIN,
                          first_week=date(2026, 12, 21), now=utc(2027, 1, 12, 12))
    assert [w.label for w in weeks] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert [w.start for w in weeks] == [date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)]
    assert (weeks[1].reps, weeks[1].minutes, weeks[1].value) == (2, 15, 5.0)


# --- hypothesis: every instant falls in exactly one local week ------------------------------------

moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 1),
                       timezones=st.sampled_from(ZONES))


@settings(max_examples=400, deadline=None, database=None)
@given(moment=moments, zone=st.sampled_from(ZONES))
def test_any_moment_lies_in_the_week_that_week_start_names(moment, zone):
    monday = week_start(moment, zone)
    local_day = moment.astimezone(zone).date()
    assert monday.weekday() == 0
    assert monday <= local_day < monday + timedelta(days=7)
    start, end = week_bounds(monday, zone)
    assert start <= moment < end
    # ...and in no other week: the neighbours end where this one starts and start where it ends.
    assert week_bounds(monday - timedelta(days=7), zone)[1] == start
    assert week_bounds(monday + timedelta(days=7), zone)[0] == end


@settings(max_examples=200, deadline=None, database=None)
@given(day=st.dates(min_value=date(1971, 1, 4), max_value=date(2099, 11, 30)), zone=st.sampled_from(ZONES))
def test_consecutive_weeks_tile_time(day, zone):
    monday = day - timedelta(days=day.weekday())
    start, end = week_bounds(monday, zone)
    assert start < end
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert week_start(start, zone) == monday
    assert week_start(end - timedelta(microseconds=1), zone) == monday
    assert week_start(end, zone) == monday + timedelta(days=7)


# --- a week's value -------------------------------------------------------------------------------

@pytest.mark.parametrize(("how", "direction", "expected"), [
    ("median", "lower", 3.0), ("median", "higher", 3.0),
    ("mean", "lower", 5.0), ("mean", "higher", 5.0),
    ("best", "lower", 2.0), ("best", "higher", 10.0),
    ("total", "lower", 15.0), ("total", "higher", 15.0),
    ("count", "lower", 3.0), ("count", "higher", 3.0),
])
def test_a_weeks_value_from_its_reps(how, direction, expected):
    assert aggregate([10.0, 2.0, 3.0], how, direction) == expected


@pytest.mark.parametrize("how", ["median", "mean", "best", "total", "count"])
def test_a_week_without_reps_has_no_value(how):
    assert aggregate([], how, "lower") is None


def test_median_of_an_even_number_of_reps_is_the_middle_of_the_two():
    assert aggregate([1.0, 8.0, 4.0, 6.0], "median", "higher") == 5.0


# --- the target rule ------------------------------------------------------------------------------

MONDAYS = [date(2026, 3, 2) + timedelta(weeks=i) for i in range(6)]


def reps_on(values_by_week: dict[int, list[float]], zone=UTC_ZONE) -> list[tuple[float, float, int]]:
    """Reps on the Wednesday noon (local) of the given weeks of MONDAYS."""
    reps = []
    for index, values in values_by_week.items():
        noon = datetime.combine(MONDAYS[index] + timedelta(days=2), datetime.min.time().replace(hour=12), zone)
        reps += [(noon.timestamp(), value, 10) for value in values]
    return reps


def rule(values_by_week, *, now_week: int, required: int, how="median", direction="lower", target=5.0,
         zone=UTC_ZONE) -> progress.Progress:
    now = datetime.combine(MONDAYS[now_week] + timedelta(days=3), datetime.min.time(), zone).astimezone(UTC)
    weeks = weekly_values(reps_on(values_by_week, zone), how=how, direction=direction, target=target, zone=zone,
                          first_week=MONDAYS[0], now=now)
    return evaluate(weeks, required)


def test_consecutive_weeks_on_target_reach_the_goal_on_the_last_day_of_the_streak():
    state = rule({0: [4, 5], 1: [3], 2: [5, 6, 4]}, now_week=3, required=3)
    assert (state.held, state.required) == (3, 3)
    assert state.reached_on == date(2026, 3, 22)  # Sunday of the third week
    assert [w.met for w in state.weeks] == [True, True, True, None]


def test_a_week_without_reps_breaks_the_streak():
    state = rule({0: [4], 2: [4], 3: [3]}, now_week=4, required=3)
    assert state.held == 2
    assert state.reached_on is None
    assert state.weeks[1].value is None and state.weeks[1].met is None


def test_a_week_that_missed_breaks_the_streak():
    state = rule({0: [4], 1: [4], 2: [9], 3: [4]}, now_week=4, required=3)
    assert state.held == 1
    assert state.weeks[2].met is False
    assert state.reached_on is None


def test_the_current_week_is_in_progress_and_never_failed():
    state = rule({0: [4], 1: [4], 2: [9, 9]}, now_week=2, required=3)
    current = state.current
    assert current.in_progress and current.start == MONDAYS[2]
    assert current.met is None  # not on target yet, but not a failure either
    assert state.held == 2
    assert [w.in_progress for w in state.weeks] == [False, False, True]


def test_the_current_week_on_target_does_not_count_until_it_ends():
    state = rule({0: [4], 1: [4]}, now_week=1, required=2)
    assert state.current.met is True
    assert state.held == 1
    assert state.reached_on is None


def test_an_empty_current_week_leaves_the_streak_alone():
    state = rule({0: [4], 1: [4]}, now_week=2, required=2)
    assert state.held == 2
    assert state.current.reps == 0 and state.current.met is None
    assert state.reached_on == date(2026, 3, 15)


def test_held_is_capped_at_the_weeks_required_and_reached_on_is_the_first_streak():
    state = rule({0: [4], 1: [4], 2: [4], 3: [4]}, now_week=4, required=2)
    assert state.held == 2
    assert state.reached_on == date(2026, 3, 15)


@pytest.mark.parametrize(("how", "direction", "target", "week_values", "met"), [
    ("best", "lower", 5.0, [9, 5, 12], True),
    ("best", "higher", 10.0, [9, 5, 8], False),
    ("mean", "higher", 6.0, [9, 5, 4], True),
    ("total", "higher", 20.0, [9, 5, 4], False),
    ("count", "higher", 3.0, [9, 5, 4], True),
    ("median", "higher", 6.0, [9, 5, 4], False),
])
def test_the_weeks_verdict_follows_the_aggregation_and_direction(how, direction, target, week_values, met):
    state = rule({0: week_values}, now_week=1, required=1, how=how, direction=direction, target=target)
    assert state.weeks[0].met is met
    assert state.held == (1 if met else 0)


def test_reps_are_bucketed_by_the_learners_own_week():
    """Sunday 23:30 in Honolulu is Monday in UTC: it counts for the week that ends that Sunday."""
    zone = HONOLULU
    late_sunday = datetime(2026, 3, 8, 23, 30, tzinfo=zone).astimezone(UTC)
    assert late_sunday.weekday() == 0
    weeks = weekly_values([(late_sunday.timestamp(), 4.0, 20)], how="median", direction="lower", target=5.0, zone=zone,
                          first_week=MONDAYS[0], now=utc(2026, 3, 20))
    assert (weeks[0].reps, weeks[0].minutes, weeks[0].met) == (1, 20, True)
    assert weeks[1].reps == 0


# --- the chart's layout ------------------------------------------------------------------------------

def weeks_of(values: list[float | None], target: float = 3.0) -> list[WeekValue]:
    """Consecutive weeks from 7 September 2026 with these values (lower is better), the last in progress."""
    first = date(2026, 9, 7)
    return [WeekValue(first + timedelta(weeks=i), value, 0 if value is None else 1, 0,
                      None if value is None or i == len(values) - 1 else value <= target, i == len(values) - 1)
            for i, value in enumerate(values)]


def test_the_chart_has_two_or_three_round_ticks_in_the_goals_unit_and_labels_each_value():
    chart = progress.chart(weeks_of([6.8, 5.6, 4.7, None]), target=3, baseline=10, direction="lower")
    assert [label for _y, label in chart.ticks] == ["0", "5", "10"]
    assert [w.value_label for w in chart.weeks] == ["6.8", "5.6", "4.7", ""]
    assert [w.label for w in chart.weeks] == ["7 Sep", "14 Sep", "21 Sep", "now"]
    # Lower is better: the band of values that meet the target runs from the target down to the axis.
    assert chart.band_top == chart.target_y < chart.band_bottom == chart.ticks[0][0]
    assert chart.baseline_y == chart.ticks[-1][0]


def test_twelve_weeks_label_every_third_week_and_now_so_a_phone_can_read_them():
    chart = progress.chart(weeks_of([2.7, 3.2, 3, 2.8, 4.7, 6.9, 7.7, 8.3, 7.4, 5.6, 4.7, None]), target=3,
                           baseline=10, direction="lower")
    assert [w.label for w in chart.weeks if w.label] == ["21 Sep", "12 Oct", "2 Nov", "now"]
    xs = [w.x for w in chart.weeks]
    assert xs == sorted(xs) and chart.left < xs[0] and xs[-1] < chart.right


def test_higher_is_better_shades_from_the_target_up_and_big_values_get_no_decimals():
    chart = progress.chart(weeks_of([1180.0, 1320.5, None]), target=1400, baseline=900, direction="higher")
    assert chart.band_top == chart.ticks[-1][0] < chart.band_bottom == chart.target_y
    assert [w.value_label for w in chart.weeks[:2]] == ["1180", "1320"]
    assert 2 <= len(chart.ticks) <= 3 + 1


def test_a_figure_without_target_or_baseline_has_no_band_and_can_start_at_zero():
    chart = progress.chart(weeks_of([2, 5, None]), target=None, baseline=None, direction="higher", from_zero=True)
    assert (chart.target_y, chart.band_top, chart.band_bottom, chart.baseline_y) == (None, None, None, None)
    assert [label for _y, label in chart.ticks] == ["0", "2.5", "5"] and chart.points[1][1] == chart.ticks[-1][0]
    quiet = progress.chart(weeks_of([0, 5, None]), target=None, baseline=None, direction="higher", label_zeros=False)
    assert [w.value_label for w in quiet.weeks] == ["", "5", ""] and quiet.weeks[0].y is not None
    empty = progress.chart(weeks_of([None, None]), target=None, baseline=None, direction="higher")
    assert empty.points == [] and empty.ticks


def test_a_year_of_weeks_labels_about_four_and_puts_figures_only_over_them():
    chart = progress.chart(weeks_of([4.0] * 51 + [None]), target=3, baseline=10, direction="lower")
    labelled = [w for w in chart.weeks if w.label]
    assert 4 <= len(labelled) <= 6 and labelled[-1].label == "now"
    assert [w.value_label for w in chart.weeks if w.value_label] == ["4"] * (len(labelled) - 1)
    assert chart.dot_radius < 4


@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)), min_size=1,
                max_size=52),
       st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.floats(min_value=-1e6, max_value=1e6,
                                                                            allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_every_value_target_and_baseline_lands_inside_the_plot(values, target, baseline):
    chart = progress.chart(weeks_of(values, target), target=target, baseline=baseline, direction="lower")
    for y in [w.y for w in chart.weeks if w.y is not None] + [chart.target_y, chart.baseline_y]:
        assert chart.top - 0.1 <= y <= chart.bottom + 0.1
