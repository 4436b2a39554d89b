"""Weeks in the learner's own time zone, a week's value from its reps, and the target rule.

Pure functions over plain values, so the week and time-zone edges can be tested exhaustively.
ISO weeks start on Monday at local midnight; the current week is "in progress" and never failed.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from failforward.calendar import week_start
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


def weekly_values(
    reps: Iterable[tuple[datetime, float, int | None]],
    *,
    how: str,
    direction: str,
    target: float,
    zone: ZoneInfo,
    first_week: date,
    now: datetime,
) -> list[WeekValue]:
    """Every local week from `first_week` to the current one, with its value and verdict."""
    current = week_start(now, zone)
    buckets: dict[date, list[tuple[float, int]]] = {}
    for performed_at, value, minutes in reps:
        buckets.setdefault(week_start(performed_at, zone), []).append((value, minutes or 0))
    weeks = []
    monday = min(first_week, current)
    while monday <= current:
        entries = buckets.get(monday, [])
        value = aggregate([v for v, _ in entries], how, direction)
        in_progress = monday == current
        if value is None:
            met = None
        else:
            hit = value <= target if direction == LOWER else value >= target
            met = None if in_progress and not hit else hit
        weeks.append(WeekValue(monday, value, len(entries), sum(m for _, m in entries), met, in_progress))
        monday += timedelta(days=7)
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


@dataclass(frozen=True)
class Chart:
    """Coordinates for the weekly chart, drawn as server-side SVG."""

    width: int
    height: int
    points: list[tuple[float, float, WeekValue]]
    target_y: float
    baseline_y: float


def chart(weeks: list[WeekValue], target: float, baseline: float, width: int = 320, height: int = 140) -> Chart:
    """Place each week's value, the target and the baseline on a small chart (padding included)."""
    values = [w.value for w in weeks if w.value is not None] + [target, baseline]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 12

    def y(value: float) -> float:
        return round(pad + (high - value) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / max(len(weeks) - 1, 1)
    points = [(round(pad + i * step, 1), y(w.value), w) for i, w in enumerate(weeks) if w.value is not None]
    return Chart(width, height, points, y(target), y(baseline))
