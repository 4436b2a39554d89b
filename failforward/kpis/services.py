"""The learner's learning KPIs, week by week in their own calendar: practice hours against the plan, reps and their
outcomes, feedback latency, retros, lessons, reappraisal, study, fixes closed, decision rules, tripwires and the
time from a trigger to its lesson or review.

Each figure reads its rows for the whole window in one query (nine in all, whatever the number of weeks or reps)
and buckets them into the learner's weeks here: a week in Auckland is not a week in UTC, and SQL cannot group by a
local week portably across SQLite and PostgreSQL.
"""

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy.sql.expression import Executable

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import day_start, monday_of, week_start, zone_of
from failforward.checkins.models import WeeklyCheckin
from failforward.csvsafe import neutralise
from failforward.cycles.models import Cycle
from failforward.extensions import db
from failforward.feedback.models import FeedbackRequest, request_reps
from failforward.goals.models import ACTIVE, HIGHER, REACHED, Drill, Goal
from failforward.ledger.models import HIT, MISS, PARTIAL, Rep
from failforward.ledger.progress import Chart, chart, figure
from failforward.lessons.models import NOT_YET, WORKED, Lesson, LessonCheck
from failforward.premortems.models import TripwireFiring
from failforward.reflection.models import Reflection
from failforward.reviews.models import DONE, VERIFIED, Review, ReviewAction
from failforward.study.models import StudyItem, StudyReview
from failforward.thresholds.models import FollowUp

WINDOWS = (4, 12, 26, 52)
DEFAULT_WINDOW = 12
CLOSE_WITHIN = timedelta(days=30)
NONE = "—"  # a week without the figure: in the table and in the CSV alike


@dataclass(frozen=True)
class KpiWeek:
    """One local week of a figure: the plotted value (None: nothing to measure), whether it met the target, and
    the table's other cells for that week."""

    start: date
    value: float | None
    met: bool | None
    in_progress: bool
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Kpi:
    """One figure of the Progress page: its chart (None when the window has no data) and its table."""

    key: str
    title: str
    about: str  # what it measures, one sentence
    start_hint: str  # how to get the figure going, shown instead of an empty chart
    columns: tuple[str, ...]  # the table's headers after "Week of": the plotted value first
    weeks: list[KpiWeek]
    chart: Chart | None
    target_text: str = ""

    @property
    def rows(self) -> list[tuple[date, tuple[str, ...]]]:
        """The table's rows, newest first: the week's Monday and its cells (the plotted value first)."""
        return [(w.start, (NONE if w.value is None else figure(w.value), *w.cells)) for w in reversed(self.weeks)]


@dataclass(frozen=True)
class ProgressPage:
    """The learner's learning KPIs over a window of weeks, in their zone."""

    window: int
    windows: tuple[int, ...]
    first_week: date
    zone: str
    kpis: list[Kpi]

    @property
    def shown(self) -> list[Kpi]:
        return [k for k in self.kpis if k.chart]

    @property
    def waiting(self) -> list[Kpi]:
        return [k for k in self.kpis if not k.chart]


def window_of(text: str | None) -> int:
    """The window a query string asks for: one of WINDOWS, else the default."""
    return int(text) if text in {str(w) for w in WINDOWS} else DEFAULT_WINDOW


class Weeks:
    """The window's local weeks, and which one a moment or a day falls in (None: outside the window)."""

    def __init__(self, zone: ZoneInfo, window: int, now: datetime):
        self.zone = zone
        self.current = week_start(now, zone)
        self.starts = [self.current - timedelta(weeks=window - 1 - i) for i in range(window)]
        self.since = day_start(self.starts[0], zone)  # the first week's local midnight, for the queries

    def of(self, moment: datetime | date | None) -> date | None:
        if moment is None:
            return None
        monday = week_start(moment, self.zone) if isinstance(moment, datetime) else monday_of(moment)
        return monday if self.starts[0] <= monday <= self.current else None

    def group(self, rows: Iterable[tuple], when: Callable[[tuple], datetime | date | None]) -> dict[date, list]:
        """The rows of each week of the window, by the moment `when` picks from a row."""
        weeks: dict[date, list] = defaultdict(list)
        for row in rows:
            monday = self.of(when(row))
            if monday is not None:
                weeks[monday].append(row)
        return weeks


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}" if whole else NONE


def _hours(value: float | None) -> str:
    return NONE if value is None else figure(value)


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _kpi(weeks: Weeks, key: str, title: str, about: str, start_hint: str, columns: tuple[str, ...],
         figures: Callable[[date], tuple[float | None, tuple[str, ...]]], has_data: bool, *,
         target: float | None = None, target_text: str = "") -> Kpi:
    """A figure's weeks from `figures(monday)` -> (value, other cells), and its chart when there is data."""
    laid = []
    for monday in weeks.starts:
        value, cells = figures(monday)
        in_progress = monday == weeks.current
        met = None if value is None or target is None else value >= target
        laid.append(KpiWeek(monday, value, None if in_progress and not met else met, in_progress, cells))
    drawn = chart(laid, target, None, HIGHER, from_zero=True, label_zeros=False) if has_data else None
    return Kpi(key, title, about, start_hint, columns, laid, drawn, target_text if has_data else "")


# --- the queries: one each, for the whole window ---------------------------------------------------------------
# Built once per process with bind parameters (:learner, :since, :first_day, :today): constructing nine selects on
# every request cost a third of the page's time.
LEARNER, SINCE = db.bindparam("learner"), db.bindparam("since")


@cache
def _statements() -> dict[str, Executable]:
    """The figures' queries by name; each reads one learner's rows from :since on."""
    answered = (db.select(request_reps.c.rep_id)
                .join(FeedbackRequest, FeedbackRequest.id == request_reps.c.request_id)
                .where(request_reps.c.rep_id == Rep.id, FeedbackRequest.answered_at.is_not(None)).exists())
    first_right = db.func.min(StudyReview.reviewed_at)
    return {
        # (performed_at, minutes, outcome, drill id, had an answered feedback request) of every rep
        "reps": db.select(Rep.performed_at, Rep.duration_minutes, Rep.outcome, Rep.drill_id, answered)
        .where(Rep.learner_id == LEARNER, Rep.performed_at >= SINCE),
        # (id, planned reps a week, time box, created, archived, goal status, goal reached on) of every drill
        "drills": db.select(Drill.id, Drill.planned_reps_per_week, Drill.time_box_minutes, Drill.created_at,
                            Drill.archived_at, Goal.status, Goal.reached_on)
        .join(Goal, Goal.id == Drill.goal_id).where(Drill.learner_id == LEARNER),
        # (kind, moment, detail) of the retros, lessons, lesson checks and tripwires
        "moments": db.union_all(
            db.select(db.literal("checkin"), WeeklyCheckin.answered_at, db.literal(""))
            .where(WeeklyCheckin.user_id == LEARNER, WeeklyCheckin.answered_at >= SINCE),
            db.select(db.literal("review"), Review.created_at, db.literal(""))
            .where(Review.learner_id == LEARNER, Review.created_at >= SINCE),
            db.select(db.literal("lesson"), Lesson.created_at, db.literal(""))
            .where(Lesson.learner_id == LEARNER, Lesson.created_at >= SINCE),
            db.select(db.literal("check"), LessonCheck.answered_at, LessonCheck.answer)
            .join(Lesson, Lesson.id == LessonCheck.lesson_id)
            .where(Lesson.learner_id == LEARNER, LessonCheck.answered_at >= SINCE),
            db.select(db.literal("tripwire"), TripwireFiring.fired_at, db.literal(""))
            .where(TripwireFiring.learner_id == LEARNER, TripwireFiring.fired_at >= SINCE)),
        # (practised_at, answered_at) of the feedback requests on the window's practice
        "feedback": db.select(FeedbackRequest.practised_at, FeedbackRequest.answered_at)
        .where(FeedbackRequest.learner_id == LEARNER, FeedbackRequest.practised_at >= SINCE),
        # (finished_at, intensity before, after) of the setbacks finished with an intensity after
        "reappraisals": db.select(Reflection.finished_at, Reflection.intensity_before, Reflection.intensity_after)
        .where(Reflection.learner_id == LEARNER, Reflection.finished_at >= SINCE,
               Reflection.intensity_after.is_not(None)),
        # (the first right answer,) of each item first answered wrongly: the moment an error became knowledge
        "recoveries": db.select(first_right).join(StudyItem, StudyItem.id == StudyReview.item_id)
        .where(StudyItem.learner_id == LEARNER, StudyItem.first_correct.is_(False), StudyItem.recovered.is_(True),
               StudyReview.correct.is_(True))
        .group_by(StudyReview.item_id).having(first_right >= SINCE),
        # (created_at, completed_at) of the review fixes made, but those done before fixes kept the moment (unknown)
        "actions": db.select(ReviewAction.created_at, ReviewAction.completed_at)
        .where(ReviewAction.learner_id == LEARNER, ReviewAction.created_at >= SINCE,
               db.or_(ReviewAction.completed_at.is_not(None), ReviewAction.status.not_in((DONE, VERIFIED)))),
        # (starts_on, rule changed after the start) of the cycles that started by today (local days)
        "cycles": db.select(Cycle.starts_on, Cycle.rule_changed_after_start)
        .where(Cycle.learner_id == LEARNER, Cycle.starts_on >= db.bindparam("first_day"),
               Cycle.starts_on <= db.bindparam("today")),
        # (fired_at, done_at) of the follow-ups (a lesson or review asked for)
        "follow_ups": db.select(FollowUp.fired_at, FollowUp.done_at)
        .where(FollowUp.learner_id == LEARNER, FollowUp.fired_at >= SINCE),
    }


def _rows(name: str, params: dict) -> list[tuple]:
    """One figure's rows; each statement takes the parameters it names from `params`."""
    return db.session.execute(_statements()[name], params).all()


# --- the figures -------------------------------------------------------------------------------------------------

def _practice(weeks: Weeks, reps: dict[date, list], drills: list[tuple]) -> Kpi:
    """Hours a week (a rep's own minutes, else its drill's time box) against the plan: the planned reps of each
    drill that was in use that week, times its time box. A drill stops counting when archived, when its goal is
    reached (from the week after), and when its goal is paused or dropped (which keeps no date: every week)."""
    time_box = {d[0]: d[2] or 0 for d in drills}

    def plan(monday: date) -> float:
        start, end = day_start(monday, weeks.zone), day_start(monday + timedelta(days=7), weeks.zone)
        return sum(planned * (box or 0) for _id, planned, box, created, archived, status, reached_on in drills
                   if (status == ACTIVE or (status == REACHED and reached_on and reached_on >= monday))
                   and created < end and (archived is None or archived >= start)) / 60

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        minutes = sum(r[1] if r[1] is not None else time_box.get(r[3], 0) for r in reps.get(monday, []))
        return minutes / 60, (figure(plan(monday)),)

    planned = plan(weeks.current)
    logged = any(r[1] is not None or time_box.get(r[3]) for week in reps.values() for r in week)
    return _kpi(weeks, "practice", "Focused practice", "Hours of practice a week: each rep's minutes, or its drill's "
                "time box when you left them out.", "Give your drills a time box, or note the minutes of a rep, "
                "and your weekly hours show here against your plan.", ("Hours", "Planned hours"), figures, logged,
                target=planned or None,
                target_text=f"plan: {figure(planned)} hours a week (planned reps × time box)" if planned else "")


def _rep_outcomes(weeks: Weeks, reps: dict[date, list]) -> Kpi:
    """Reps a week, and the share that hit, partly hit and missed the goal's target."""

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        outcomes = Counter(r[2] for r in reps.get(monday, []))
        total = sum(outcomes.values())
        return float(total), tuple(_pct(outcomes[o], total) for o in (HIT, PARTIAL, MISS))

    return _kpi(weeks, "reps", "Reps", "Reps logged a week, and how many of them hit, partly hit or missed.",
                "Log a rep from the home page and your weekly count starts here.", ("Reps", "Hit %", "Partial %",
                                                                                      "Miss %"), figures, bool(reps))


def _latency(weeks: Weeks, reps: dict[date, list], requests: list[tuple]) -> Kpi:
    """Hours from practice to the first answer (median and 90th percentile, by the week practised), and the share
    of the week's reps that got an answer."""
    answered = weeks.group([r for r in requests if r[1] is not None], lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        hours = [(a - p).total_seconds() / 3600 for p, a in answered.get(monday, [])]
        week_reps = reps.get(monday, [])
        return _median(hours), (_hours(_p90(hours) if hours else None),
                                _pct(sum(1 for r in week_reps if r[4]), len(week_reps)))

    return _kpi(weeks, "feedback", "Feedback latency", "Hours from practice to your coach's first answer, by the "
                "week you practised; lower is better.", "Ask your coach for feedback on a rep and the time it takes "
                "shows here.", ("Median hours", "90th percentile", "Reps with feedback %"), figures,
                any(r[1] is not None for r in requests))


def _retros(weeks: Weeks, moments: list[tuple]) -> Kpi:
    """Retros a week: weekly check-ins answered, reviews and lessons written."""
    kinds = ("checkin", "review", "lesson")
    by_week = weeks.group([m for m in moments if m[0] in kinds], lambda m: m[1])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        counts = Counter(m[0] for m in by_week.get(monday, []))
        return float(sum(counts.values())), tuple(str(counts[k]) for k in kinds)

    return _kpi(weeks, "retros", "Retros", "Looking back a week: check-ins answered, reviews and lessons written.",
                "Answer your weekly check-in, or write a lesson or a review, and your retros count here.",
                ("Retros", "Check-ins", "Reviews", "Lessons"), figures, bool(by_week))


def _lessons(weeks: Weeks, moments: list[tuple]) -> Kpi:
    """Lessons written a week, their 30-day checks answered (not "too early"), and the share that worked."""
    written = weeks.group([m for m in moments if m[0] == "lesson"], lambda m: m[1])
    checks = weeks.group([m for m in moments if m[0] == "check" and m[2] != NOT_YET], lambda m: m[1])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        answered = checks.get(monday, [])
        return float(len(written.get(monday, []))), (
            str(len(answered)), _pct(sum(1 for m in answered if m[2] == WORKED), len(answered)))

    return _kpi(weeks, "lessons", "Lessons", "Lessons written a week, their 30-day checks answered, and how many "
                "of those said it worked.", "Write a lesson after a miss; 30 days on, the app asks whether it "
                "worked, and both show here.", ("Lessons written", "Checks answered", "Worked %"), figures,
                bool(written or checks))


def _reappraisal(weeks: Weeks, rows: list[tuple]) -> Kpi:
    """The average drop in intensity (before minus after) of the setbacks finished each week."""
    by_week = weeks.group(rows, lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        drops = [before - after for _at, before, after in by_week.get(monday, [])]
        return (statistics.fmean(drops) if drops else None), (str(len(drops)),)

    return _kpi(weeks, "reappraisal", "Reappraisal", "How much a setback's intensity dropped from before to after "
                "reframing it (0-10 scale), on average.", "Work through a setback (the Setback page) and rate how "
                "it feels before and after; the drop shows here.", ("Average drop", "Setbacks"), figures,
                bool(by_week))


def _study(weeks: Weeks, rows: list[tuple]) -> Kpi:
    """Study items first answered wrongly that were answered right later, by the week of that first right one."""
    by_week = weeks.group(rows, lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        return float(len(by_week.get(monday, []))), ()

    return _kpi(weeks, "study", "Errors turned knowledge", "Study items you first got wrong and later got right, "
                "by the week you got them right.", "Review a deck on the Study page; each item you first miss and "
                "later recall counts here.", ("Errors turned knowledge",), figures, bool(by_week))


def _closure(weeks: Weeks, rows: list[tuple], now: datetime) -> Kpi:
    """Of the review fixes made each week, the share done within 30 days; a fix still inside its 30 days and not
    done yet is not judged."""
    by_week = weeks.group(rows, lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        made = by_week.get(monday, [])
        in_time = sum(1 for c, done in made if done is not None and done - c <= CLOSE_WITHIN)
        judged = sum(1 for c, done in made if (done is not None and done - c <= CLOSE_WITHIN) or now - c > CLOSE_WITHIN)
        return (100 * in_time / judged if judged else None), (str(len(made)), str(in_time), str(len(made) - judged))

    return _kpi(weeks, "closure", "Fixes closed within 30 days", "Of the fixes your reviews set each week, the share "
                "done within 30 days.", "Write a blameless review with a fix to make; when it is done, mark it done "
                "and it counts here.", ("Closed in 30 days %", "Fixes set", "Closed in time", "Not judged yet"),
                figures, bool(rows))


def _decision_rules(weeks: Weeks, rows: list[tuple]) -> Kpi:
    """Of the cycles that started each week, the share whose decision rule stood as declared before the start."""
    by_week = weeks.group(rows, lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        started = by_week.get(monday, [])
        kept = sum(1 for _day, changed in started if not changed)
        return (100 * kept / len(started) if started else None), (str(len(started)),)

    return _kpi(weeks, "rules", "Decision rules declared up front", "Of the cycles (small tests) that started each "
                "week, the share whose decision rule was not changed after the start.", "Plan a cycle on a goal: its "
                "decision rule, set before it starts, counts here.", ("Rule kept %", "Cycles started"), figures,
                bool(rows))


def _tripwires(weeks: Weeks, moments: list[tuple]) -> Kpi:
    """Tripwires fired a week: early warnings a pre-mortem set up."""
    by_week = weeks.group([m for m in moments if m[0] == "tripwire"], lambda m: m[1])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        return float(len(by_week.get(monday, []))), ()

    return _kpi(weeks, "tripwires", "Tripwires fired", "Early warnings from your pre-mortems that went off, a week.",
                "Run a pre-mortem on a goal and set a tripwire on its top risk; each time it fires it counts here.",
                ("Tripwires fired",), figures, bool(by_week))


def _insight(weeks: Weeks, rows: list[tuple]) -> Kpi:
    """Hours from a threshold firing to the lesson or review it asked for (median, by the week it fired)."""
    by_week = weeks.group(rows, lambda r: r[0])

    def figures(monday: date) -> tuple[float | None, tuple[str, ...]]:
        fired = by_week.get(monday, [])
        hours = [(done - at).total_seconds() / 3600 for at, done in fired if done is not None]
        return _median(hours), (str(len(fired)), str(len(hours)))

    return _kpi(weeks, "insight", "Trigger to insight", "Hours from a review threshold firing (say, three misses in a "
                "row) to the lesson or review it asked for; lower is better.", "Set review thresholds in your "
                "contract; when one fires, the time until you write what it asks for shows here.",
                ("Median hours", "Fired", "Written"), figures, any(done is not None for _at, done in rows))


def progress_page(learner: User, window: int) -> ProgressPage:
    """Every learning KPI of the learner over the last `window` weeks of their calendar (the current one too)."""
    now = clock.now()
    zone = zone_of(learner)
    weeks = Weeks(zone, window, now)
    params = {"learner": learner.id, "since": weeks.since, "first_day": weeks.starts[0],
              "today": now.astimezone(zone).date()}
    reps = weeks.group(_rows("reps", params), lambda r: r[0])  # three figures read them: bucketed once
    moments = _rows("moments", params)
    kpis = [_practice(weeks, reps, _rows("drills", params)), _rep_outcomes(weeks, reps),
            _latency(weeks, reps, _rows("feedback", params)), _retros(weeks, moments), _lessons(weeks, moments),
            _reappraisal(weeks, _rows("reappraisals", params)), _study(weeks, _rows("recoveries", params)),
            _closure(weeks, _rows("actions", params), now), _decision_rules(weeks, _rows("cycles", params)),
            _tripwires(weeks, moments), _insight(weeks, _rows("follow_ups", params))]
    return ProgressPage(window, WINDOWS, weeks.starts[0], learner.timezone, kpis)


def kpi_of(page: ProgressPage, key: str) -> Kpi | None:
    """One figure of the page by its key (a CSV download), None for an unknown key."""
    return next((k for k in page.kpis if k.key == key), None)


def kpi_csv(kpi: Kpi) -> str:
    """A figure's table as CSV: the same rows and cells as on the page, the week as its Monday's date."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Week of", *kpi.columns])
    for monday, cells in kpi.rows:
        writer.writerow([monday.isoformat(), *(neutralise(cell) for cell in cells)])
    return out.getvalue()
