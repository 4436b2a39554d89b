"""Weeks in the learner's own time zone, a week's value from its reps, and the target rule.

Pure functions over plain values, so the week and time-zone edges can be tested exhaustively.
ISO weeks start on Monday at local midnight; the current week is "in progress" and never failed.
"""

import bisect
import functools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from failforward.calendar import week_bounds, week_start
from failforward.goals.models import LOWER

CHART_WEEKS = 12


@dataclass(frozen=True)
class WeekValue:
    """One local week of a goal: its value (None without reps) and whether it met the target."""

    start: date
    value: float | None
    reps: int
    minutes: int
    met: bool | None  # None: no reps, or still in progress with no verdict
    in_progress: bool

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Progress:
    """Where a goal's rule stands: the streak of completed weeks held, and the weeks behind it."""

    held: int
    required: int
    weeks: list[WeekValue]
    reached_on: date | None  # the last day of the week that completed the streak

    @property
    def current(self) -> WeekValue | None:
        return self.weeks[-1] if self.weeks else None


def aggregate(values: list[float], how: str, direction: str) -> float | None:
    """A week's value from its reps' values: median, best, mean, total or count."""
    if not values:
        return None
    if how == "count":
        return float(len(values))
    if how == "total":
        return float(sum(values))
    if how == "mean":
        return statistics.fmean(values)
    if how == "best":
        return min(values) if direction == LOWER else max(values)
    return float(statistics.median(values))


@functools.lru_cache(maxsize=4096)
def _week_seconds(monday: date, zone: ZoneInfo) -> tuple[float, float]:
    """A local week's UTC start and end in epoch seconds; a coach's overview asks for the same few hundred."""
    start, end = week_bounds(monday, zone)
    return start.timestamp(), end.timestamp()


@dataclass(frozen=True)
class WeekTotal:
    """A week's reps rolled up: the week's value under the goal's rule, how many reps, how many minutes."""

    value: float
    reps: int
    minutes: int


def total(entries: list[tuple[float, int | None]], how: str, direction: str) -> WeekTotal | None:
    """A week's (value, minutes) reps rolled up; None for a week without reps."""
    value = aggregate([v for v, _ in entries], how, direction)
    return None if value is None else WeekTotal(value, len(entries), sum(m or 0 for _, m in entries))


def weekly_values(
    reps: Iterable[tuple[float, float, int | None]],
    *,
    how: str,
    direction: str,
    target: float,
    zone: ZoneInfo,
    first_week: date,
    now: datetime,
) -> list[WeekValue]:
    """Every local week from `first_week` to the current one, with its value and verdict. Each rep is
    (when, value, minutes), `when` in UTC seconds since the epoch as `database.epoch_seconds` reads it."""
    mondays = mondays_between(first_week, week_start(now, zone))
    # Each rep finds its week among the weeks' UTC starts, as seconds: converting every rep to the learner's zone,
    # or only reading its timestamp back as a datetime, cost more than the rest of a coach's overview.
    starts = [_week_seconds(monday, zone)[0] for monday in mondays]
    end = _week_seconds(mondays[-1], zone)[1]
    buckets: dict[date, list[tuple[float, int | None]]] = {}
    for performed_at, value, minutes in reps:
        index = bisect.bisect_right(starts, performed_at) - 1
        if index >= 0 and performed_at < end:
            buckets.setdefault(mondays[index], []).append((value, minutes))
    totals = {monday: total(entries, how, direction) for monday, entries in buckets.items()}
    return weeks_from(totals, direction=direction, target=target, mondays=mondays)


def mondays_between(first_week: date, current: date) -> list[date]:
    """Every Monday from `first_week` to `current` (at least `current`)."""
    mondays = [min(first_week, current)]
    while mondays[-1] < current:
        mondays.append(mondays[-1] + timedelta(days=7))
    return mondays


def weeks_from(totals: dict[date, WeekTotal | None], *, direction: str, target: float,
               mondays: list[date]) -> list[WeekValue]:
    """The weeks `mondays` (the last is the one in progress), each with its rolled-up reps from `totals` (a week
    missing from it had none) and its verdict against the target."""
    weeks = []
    for monday in mondays:
        week = totals.get(monday)
        in_progress = monday == mondays[-1]
        if week is None:
            weeks.append(WeekValue(monday, None, 0, 0, None, in_progress))
            continue
        hit = week.value <= target if direction == LOWER else week.value >= target
        weeks.append(WeekValue(monday, week.value, week.reps, week.minutes,
                               None if in_progress and not hit else hit, in_progress))
    return weeks


def evaluate(weeks: list[WeekValue], required: int) -> Progress:
    """The streak of completed weeks that met the target, ending with the last completed week.

    A completed week without reps, or one that missed, breaks the streak. The week in progress
    neither breaks nor extends it.
    """
    held = 0
    reached_on = None
    streak = 0
    for week in weeks:
        if week.in_progress:
            continue
        streak = streak + 1 if week.met else 0
        if streak >= required and reached_on is None:
            reached_on = week.end
    completed = [w for w in weeks if not w.in_progress]
    for week in reversed(completed):
        if not week.met:
            break
        held += 1
    return Progress(min(held, required), required, weeks, reached_on)


class Plotted(Protocol):
    """A week the chart can draw: a goal's WeekValue, or a week of a Progress-page figure."""

    start: date
    value: float | None
    met: bool | None
    in_progress: bool


@dataclass(frozen=True)
class ChartWeek:
    """One week on the chart: its column's centre, its label (None when there is no room), and its dot."""

    x: float
    label: str | None
    week: Plotted
    y: float | None  # None: no reps that week
    value_label: str


@dataclass(frozen=True)
class Chart:
    """The weekly chart, laid out for server-side SVG: the plot area, the value axis, the target band (the
    values that meet the target), the baseline, and one column per week, the current one in progress."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: list[tuple[float, str]]  # (y, label) on the value axis
    target_y: float | None  # None: a figure without a target (nor a band)
    band_top: float | None  # the target band, between these two y coordinates
    band_bottom: float | None
    baseline_y: float | None  # None: no baseline
    weeks: list[ChartWeek]
    column: float  # a week's width

    @property
    def dot_radius(self) -> float:
        return min(4.0, round(self.column / 2.5, 1))  # 52 weeks on a phone: dots that do not merge

    @property
    def points(self) -> list[tuple[float, float]]:
        return [(w.x, w.y) for w in self.weeks if w.y is not None]


def figure(value: float) -> str:
    """A value as a chart label: at most one decimal, none when it is whole ("4.7", "10", "1250")."""
    return f"{round(value, 1):g}" if abs(value) < 1000 else f"{value:.0f}"


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def label_every(weeks: int) -> int:
    """Label every nth week so that the labels fit a phone: all of 6, every second of 9, about four of more."""
    return 1 if weeks <= 6 else 2 if weeks <= 9 else max(3, math.ceil(weeks / 4))


def chart(weeks: Sequence[Plotted], target: float | None, baseline: float | None, direction: str,
          width: int = 320, height: int = 176, from_zero: bool = False, label_zeros: bool = True) -> Chart:
    """Lay out the weekly chart: 2-3 round ticks spanning the values, the target and the baseline (either may be
    None; `from_zero` spans 0 too, for counts and hours, and `label_zeros=False` leaves their empty weeks' dots
    unlabelled); a label under every week (every second or third when 12 weeks would crowd a phone)."""
    left, right, top, bottom = 30, width - 6, 16, height - 30
    values = [w.value for w in weeks if w.value is not None] + [v for v in (target, baseline) if v is not None]
    values = values + [0.0] if from_zero or not values else values
    step = _nice_step((max(values) - min(values)) or abs(max(values)) or 1.0, 2)
    low = math.floor(min(values) / step) * step
    high = math.ceil(max(values) / step) * step
    if high == low:
        high = low + step

    def y(value: float) -> float:
        return round(top + (high - value) / (high - low) * (bottom - top), 1)

    ticks = [(y(low + i * step), figure(low + i * step)) for i in range(round((high - low) / step) + 1)]
    column = (right - left) / max(len(weeks), 1)
    every = label_every(len(weeks))
    laid_out = []
    for i, week in enumerate(weeks):
        shown = week.in_progress or (len(weeks) - 1 - i) % every == 0
        label = "now" if week.in_progress else f"{week.start.day} {week.start:%b}" if shown else None
        laid_out.append(ChartWeek(x=round(left + (i + 0.5) * column, 1), label=label, week=week,
                                  y=None if week.value is None else y(week.value),
                                  # Beyond 12 weeks, a figure over every dot would overlap: the labelled weeks'
                                  value_label="" if week.value is None or (len(weeks) > 12 and not label)
                                  or (week.value == 0 and not label_zeros) else figure(week.value)))
    target_y = band_top = band_bottom = None
    if target is not None:
        target_y = y(target)
        band_top, band_bottom = (target_y, y(low)) if direction == LOWER else (y(high), target_y)
    return Chart(width, height, left, right, top, bottom, ticks, target_y, band_top, band_bottom,
                 None if baseline is None else y(baseline), laid_out, round(column, 1))
