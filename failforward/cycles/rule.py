"""The decision rule, as pure functions over plain values: the two windows of a cycle in the learner's
zone, a window's signal and harm from its reps, and the verdict (adopt, abandon, inconclusive).

"Improves" follows the metric's direction: for a lower-is-better metric a drop is an improvement.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from failforward.calendar import day_start
from failforward.goals.models import LOWER
from failforward.ledger.models import MISS
from failforward.ledger.progress import aggregate

ADOPT, ABANDON, INCONCLUSIVE = "adopt", "abandon", "inconclusive"
PLACES = 9  # percentages are compared rounded, so 10 -> 9.5 is exactly a 5% improvement


@dataclass(frozen=True)
class RepFigures:
    """What the rule reads from one rep."""

    performed_at: datetime
    value: float
    minutes: int | None
    outcome: str


@dataclass(frozen=True)
class Window:
    """A window's reps counted, its signal (the goal's metric over them) and its harm (None: not measurable)."""

    reps: int
    signal: float | None
    harm: float | None


@dataclass(frozen=True)
class Verdict:
    """What the rule says, why, and the percentages it compared (None where one could not be computed)."""

    outcome: str
    reason: str
    signal_change_pct: float | None
    harm_worsening_pct: float | None


def windows(starts_on: date, timebox_days: int, zone: ZoneInfo, ended_at: datetime
            ) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """(baseline, test) as [start, end) instants. On schedule the test is the timebox's local days and the
    baseline the as many local days before; a cycle studied early compares equally long stretches of time."""
    start = day_start(starts_on, zone)
    scheduled_end = day_start(starts_on + timedelta(days=timebox_days), zone)
    if ended_at >= scheduled_end:
        return (day_start(starts_on - timedelta(days=timebox_days), zone), start), (start, scheduled_end)
    ended_at = max(ended_at, start)
    return (start - (ended_at - start), start), (start, ended_at)


def inside(reps: Iterable[RepFigures], bounds: tuple[datetime, datetime]) -> list[RepFigures]:
    """The reps performed in [start, end)."""
    return [rep for rep in reps if bounds[0] <= rep.performed_at < bounds[1]]


def miss_rate(reps: list[RepFigures]) -> float | None:
    """The share of reps missed, in percent; None without reps."""
    return 100.0 * sum(rep.outcome == MISS for rep in reps) / len(reps) if reps else None


def minutes(reps: list[RepFigures]) -> float:
    """Practice minutes: the durations logged (a rep without one adds nothing)."""
    return float(sum(rep.minutes or 0 for rep in reps))


def signal(reps: list[RepFigures], how: str, direction: str) -> float | None:
    """The goal's metric over the window's reps, aggregated the way its weeks are."""
    return aggregate([rep.value for rep in reps], how, direction)


def improvement_pct(before: float | None, after: float | None, direction: str) -> float | None:
    """How much better `after` is than `before`, in percent of `before` (negative: worse). From a zero
    baseline any change is infinitely large; None when either is missing."""
    if before is None or after is None:
        return None
    gain = before - after if direction == LOWER else after - before
    if before == 0:
        return 0.0 if gain == 0 else (float("inf") if gain > 0 else float("-inf"))
    return round(100.0 * gain / abs(before), PLACES)


def decide(baseline: Window, test: Window, *, direction: str, harm_direction: str, adopt_if_pct: float,
           harm_tolerance_pct: float, min_reps: int) -> Verdict:
    """Adopt if the signal improves by at least `adopt_if_pct`% without the harm worsening by more than
    `harm_tolerance_pct`%; inconclusive with fewer than `min_reps` reps in either window or a harm that
    cannot be measured; abandon otherwise."""
    change = improvement_pct(baseline.signal, test.signal, direction)
    harm_gain = improvement_pct(baseline.harm, test.harm, harm_direction)
    worsening = None if harm_gain is None else -harm_gain + 0.0  # + 0.0: no "-0%"
    if baseline.reps < min_reps or test.reps < min_reps:
        return Verdict(INCONCLUSIVE, f"too few reps: {baseline.reps} before and {test.reps} during the test, "
                                     f"fewer than {min_reps} in a window", change, worsening)
    if change is None or worsening is None:
        return Verdict(INCONCLUSIVE, "the harm could not be measured in both windows", change, worsening)
    if change < adopt_if_pct:
        return Verdict(ABANDON, f"the signal improved by {_pct(change)}, less than the {adopt_if_pct:g}% the rule "
                                "asks", change, worsening)
    if worsening > harm_tolerance_pct:
        return Verdict(ABANDON, f"the harm worsened by {_pct(worsening)}, more than the {harm_tolerance_pct:g}% "
                                "the rule allows", change, worsening)
    return Verdict(ADOPT, f"the signal improved by {_pct(change)} and the harm stayed within "
                          f"{harm_tolerance_pct:g}%", change, worsening)


def _pct(value: float) -> str:
    if value in (float("inf"), float("-inf")):
        return "more than any percentage (from zero)" if value > 0 else "less than any percentage (from zero)"
    return f"{value:.1f}%"

