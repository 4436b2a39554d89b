"""The Progress page's figures against hand-computed weeks: the learner is in Auckland (UTC+13 in February and
March), so a Sunday evening in UTC is already Monday there; the window of 4 weeks starts at local midnight."""

from datetime import UTC, date, datetime, timedelta

import pytest

from failforward.checkins.models import WeeklyCheckin
from failforward.cycles.models import Cycle
from failforward.extensions import db
from failforward.feedback.models import FeedbackRequest
from failforward.kpis import services
from failforward.lessons.models import Lesson, LessonCheck
from failforward.premortems.models import TripwireFiring
from failforward.reflection.models import Reflection
from failforward.reviews.models import Review, ReviewAction
from failforward.study.models import Deck, StudyItem, StudyReview
from failforward.thresholds.models import FollowUp
from tests.factories import log, make_drill, make_goal
from tests.premortem_world import converted

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Thursday 5 March, 04:00 in Auckland
WEEKS = [date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)]  # Auckland's Mondays
SINCE = datetime(2026, 2, 8, 11, 0, tzinfo=UTC)  # Monday 9 February, 00:00 in Auckland
SUNDAY_NIGHT = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)  # Sunday 23:30 in Auckland: week of 23 Feb
MONDAY_EARLY = datetime(2026, 3, 1, 11, 30, tzinfo=UTC)  # Monday 00:30 in Auckland, still Sunday in UTC: 2 Mar
_keys = iter(range(1, 100_000))


@pytest.fixture
def learner(clock, make_user):
    clock.set(datetime(2026, 1, 5, tzinfo=UTC))
    person = make_user(name="Lee Learner", timezone="Pacific/Auckland")
    clock.set(NOW)
    return person


@pytest.fixture
def drill(learner, clock):
    """Planned 3 reps of 20 minutes a week: one hour. Made before the window, so every week has that plan."""
    clock.set(datetime(2026, 1, 5, tzinfo=UTC))
    made = make_drill(make_goal(learner), time_box_minutes=20, planned_reps_per_week=3)
    clock.set(NOW)
    return made


def add(model, **fields):
    row = model(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def key() -> str:
    return f"kpi-{next(_keys):06d}"


def kpi(learner, name: str, window: int = 4) -> services.Kpi:
    found = services.kpi_of(services.progress_page(learner, window), name)
    assert found is not None
    return found


def table(figure: services.Kpi) -> list[tuple]:
    """The figure's table, oldest week first, as (Monday, cells...)."""
    return [(monday, *cells) for monday, cells in reversed(figure.rows)]


def test_the_window_is_the_current_local_week_and_the_ones_before_it(learner):
    page = services.progress_page(learner, 4)
    assert page.first_week == WEEKS[0] and [w.start for w in page.kpis[0].weeks] == WEEKS
    assert [w.in_progress for w in page.kpis[0].weeks] == [False, False, False, True]
    assert len(services.progress_page(learner, 52).kpis[0].weeks) == 52


@pytest.mark.parametrize("text, window", [("4", 4), ("26", 26), ("52", 52), (None, 12), ("", 12), ("5", 12),
                                          ("012", 12), ("-4", 12), ("1e3", 12), ("٤", 12), ("12.0", 12)])
def test_only_the_offered_windows_are_taken(text, window):
    assert services.window_of(text) == window


def test_without_data_every_figure_says_how_to_start(learner):
    page = services.progress_page(learner, 12)
    assert page.shown == [] and len(page.waiting) == 11
    assert all(k.start_hint and k.chart is None for k in page.waiting)


def test_practice_hours_count_minutes_or_the_time_box_in_the_local_week_against_the_plan(learner, drill):
    log(learner, drill, 7, at=SINCE - timedelta(minutes=1), duration_minutes=30)  # Sunday 8 Feb there: outside
    log(learner, drill, 5, at=SINCE, duration_minutes=30)
    log(learner, drill, 9, at=SUNDAY_NIGHT)  # no minutes: its drill's 20-minute time box
    log(learner, drill, 7, at=MONDAY_EARLY, duration_minutes=40)
    log(learner, drill, 5, at=NOW - timedelta(hours=1), duration_minutes=50)
    practice = kpi(learner, "practice")
    assert table(practice) == [(WEEKS[0], "0.5", "1"), (WEEKS[1], "0", "1"), (WEEKS[2], "0.3", "1"),
                               (WEEKS[3], "1.5", "1")]
    assert [w.met for w in practice.weeks] == [False, False, False, True]
    assert practice.chart.target_y is not None and "1 hours a week" in practice.target_text

    reps = kpi(learner, "reps")  # hit 5, partial 7.5, miss otherwise
    assert reps.columns == ("Reps", "Hit %", "Partial %", "Miss %")
    assert table(reps) == [(WEEKS[0], "1", "100", "0", "0"), (WEEKS[1], "0", "—", "—", "—"),
                           (WEEKS[2], "1", "0", "0", "100"), (WEEKS[3], "2", "50", "50", "0")]


def test_the_plan_counts_a_drill_only_in_the_weeks_it_was_in_use(learner, drill, clock):
    clock.set(datetime(2026, 2, 20, tzinfo=UTC))  # week of 16 Feb
    later = make_drill(drill.goal, name="Later", time_box_minutes=30, planned_reps_per_week=2)
    clock.set(NOW)
    later.archived_at = datetime(2026, 2, 22, 12, 0, tzinfo=UTC)  # Monday 23 Feb, 01:00 there
    db.session.commit()
    log(learner, drill, 5, at=NOW, duration_minutes=10)
    assert [row[2] for row in table(kpi(learner, "practice"))] == ["1", "2", "2", "1"]


def test_a_reached_goal_plans_until_the_week_it_was_reached_and_a_dropped_one_not_at_all(learner, drill, clock):
    other = make_drill(make_goal(learner, title="Dropped"), time_box_minutes=60, planned_reps_per_week=1)
    clock.set(NOW)
    drill.goal.status, drill.goal.reached_on = "reached", date(2026, 2, 22)
    other.goal.status = "dropped"
    db.session.commit()
    log(learner, drill, 5, at=NOW, duration_minutes=10)
    assert [row[2] for row in table(kpi(learner, "practice"))] == ["1", "1", "0", "0"]


def test_feedback_latency_median_p90_and_share_of_reps_answered(learner, drill):
    reps = [log(learner, drill, 5, at=SINCE + timedelta(hours=h)) for h in (1, 2, 3, 4)]
    sunday = log(learner, drill, 5, at=SUNDAY_NIGHT)
    for rep, hours in zip(reps, (2, 4, 10, None), strict=True):
        add(FeedbackRequest, learner_id=learner.id, rep=rep, reps=[rep], practised_at=rep.performed_at,
            created_at=rep.performed_at, due_at=rep.performed_at + timedelta(hours=24),
            answered_at=None if hours is None else rep.performed_at + timedelta(hours=hours))
    add(FeedbackRequest, learner_id=learner.id, rep=sunday, reps=[sunday], practised_at=sunday.performed_at,
        created_at=sunday.performed_at, due_at=sunday.performed_at,
        answered_at=sunday.performed_at + timedelta(hours=30))
    latency = kpi(learner, "feedback")
    # Week 1: 2, 4 and 10 hours; the inclusive 90th percentile lies 80% of the way from 4 to 10. 3 of 4 reps answered.
    assert table(latency) == [(WEEKS[0], "4", "8.8", "75"), (WEEKS[1], "—", "—", "—"), (WEEKS[2], "30", "30", "100"),
                              (WEEKS[3], "—", "—", "—")]


def test_retros_lessons_and_their_checks(learner):
    add(WeeklyCheckin, user_id=learner.id, iso_week="2026-W08", reviewed_week=date(2026, 2, 9),
        answered_at=SUNDAY_NIGHT)
    add(WeeklyCheckin, user_id=learner.id, iso_week="2026-W09", reviewed_week=date(2026, 2, 16), answered_at=None)
    add(Review, learner_id=learner.id, trigger="Missed pages", idempotency_key=key(), created_at=MONDAY_EARLY)
    lessons = [add(Lesson, learner_id=learner.id, happened_on=date(2026, 2, 10), what_failed="Froze",
                   check_on=date(2026, 3, 12), idempotency_key=key(), created_at=at)
               for at in (SINCE, SINCE + timedelta(days=1), MONDAY_EARLY)]
    for lesson, answer, at in ((lessons[0], "worked", SUNDAY_NIGHT), (lessons[1], "did-not", SUNDAY_NIGHT),
                               (lessons[2], "not-yet", NOW), (lessons[2], "partly", NOW)):
        add(LessonCheck, lesson_id=lesson.id, answer=answer, answered_at=at)
    assert table(kpi(learner, "retros")) == [(WEEKS[0], "2", "0", "0", "2"), (WEEKS[1], "0", "0", "0", "0"),
                                             (WEEKS[2], "1", "1", "0", "0"), (WEEKS[3], "2", "0", "1", "1")]
    assert table(kpi(learner, "lessons")) == [(WEEKS[0], "2", "0", "—"), (WEEKS[1], "0", "0", "—"),
                                              (WEEKS[2], "0", "2", "50"), (WEEKS[3], "1", "1", "0")]


def test_reappraisal_averages_the_drop_of_finished_setbacks(learner):
    for before, after, at in ((8, 5, SINCE), (6, 5, SINCE + timedelta(days=2)), (7, None, SINCE), (9, 3, MONDAY_EARLY)):
        add(Reflection, learner_id=learner.id, situation="plateau", intensity_before=before, what_happened="Froze",
            intensity_after=after, finished_at=at if after is not None else None, idempotency_key=key())
    assert table(kpi(learner, "reappraisal")) == [(WEEKS[0], "2", "2"), (WEEKS[1], "—", "0"), (WEEKS[2], "—", "0"),
                                                  (WEEKS[3], "6", "1")]


def test_an_error_becomes_knowledge_in_the_week_it_is_first_answered_right(learner):
    deck = add(Deck, learner_id=learner.id, name="Pager codes")

    def item(first_correct: bool, recovered: bool, answers: list[tuple[bool, datetime]]) -> None:
        made = add(StudyItem, deck_id=deck.id, learner_id=learner.id, prompt="P1?", answer="Page",
                   first_correct=first_correct, recovered=recovered)
        for correct, at in answers:
            add(StudyReview, item_id=made.id, learner_id=learner.id, confidence=3, answered_at=at, reviewed_at=at,
                rating=3 if correct else 1, correct=correct)

    item(False, True, [(False, SINCE - timedelta(days=3)), (True, SUNDAY_NIGHT), (True, NOW)])
    item(False, True, [(False, SINCE), (True, MONDAY_EARLY)])
    item(False, True, [(False, SINCE - timedelta(days=9)), (True, SINCE - timedelta(days=2)), (True, NOW)])  # earlier
    item(True, False, [(True, SINCE), (True, NOW)])  # never an error
    item(False, False, [(False, SINCE), (False, NOW)])  # still an error
    assert [row[1] for row in table(kpi(learner, "study"))] == ["0", "0", "1", "1"]


def test_closure_counts_fixes_done_within_30_days_and_waits_for_the_young_ones(learner, clock):
    """A fix marked done before fixes kept the moment (completed_at is empty) is left out: its timing is unknown."""
    review = add(Review, learner_id=learner.id, trigger="Missed pages", idempotency_key=key(), created_at=SINCE)
    clock.set(NOW + timedelta(days=30))  # the first week's fixes are now 30 days old or more
    week = SINCE + timedelta(hours=1)
    for done_after in (timedelta(days=2), timedelta(days=30), timedelta(days=31), None):
        add(ReviewAction, review_id=review.id, learner_id=learner.id, what="Louder pager", due_on=date(2026, 3, 1),
            check_on=date(2026, 3, 8), created_at=week, idempotency_key=key(),
            completed_at=None if done_after is None else week + done_after)
    add(ReviewAction, review_id=review.id, learner_id=learner.id, what="Old fix", due_on=date(2026, 3, 1),
        check_on=date(2026, 3, 8), created_at=week, idempotency_key=key(), status="done")  # done, moment unknown
    young = NOW + timedelta(days=26)  # the window's last week now (30 March): 4 days old, not judged while open
    for done in (None, young + timedelta(days=1)):
        add(ReviewAction, review_id=review.id, learner_id=learner.id, what="Runbook", due_on=date(2026, 4, 1),
            check_on=date(2026, 4, 8), created_at=young, idempotency_key=key(), completed_at=done)
    rows = table(kpi(learner, "closure", window=8))
    assert rows[0] == (date(2026, 2, 9), "50", "4", "2", "0")
    assert rows[-1] == (date(2026, 3, 30), "100", "2", "1", "1")
    assert all(cells[0] == "—" for _monday, *cells in rows[1:-1])


def test_decision_rules_kept_as_declared_by_the_week_cycles_started(learner, drill):
    for starts_on, changed in ((date(2026, 2, 9), False), (date(2026, 2, 15), True), (date(2026, 3, 2), False),
                               (date(2026, 3, 6), False), (date(2026, 2, 8), False)):  # 6 March: not started yet
        add(Cycle, learner_id=learner.id, goal_id=drill.goal_id, drill_id=drill.id, objective="Faster",
            change="Runbook first", prediction="Faster", harm="miss-rate", adopt_if_pct=5, harm_tolerance_pct=0,
            min_reps=5, scope_pct=10, timebox_days=14, starts_on=starts_on, ends_on=starts_on + timedelta(days=14),
            undo_plan="Skip it", undo_speed="at once", rule_changed_after_start=changed, idempotency_key=key())
    assert table(kpi(learner, "rules")) == [(WEEKS[0], "50", "2"), (WEEKS[1], "—", "0"), (WEEKS[2], "—", "0"),
                                            (WEEKS[3], "100", "1")]


def test_tripwires_fired_and_the_time_from_a_trigger_to_its_insight(learner, drill):
    risk = converted(learner, drill.goal, ["Night shifts"])[0]
    for at in (SUNDAY_NIGHT, MONDAY_EARLY, NOW):
        add(TripwireFiring, risk_id=risk.id, learner_id=learner.id, fired_at=at, fired_on=at.date(), seen="by hand")
    assert [row[1] for row in table(kpi(learner, "tripwires"))] == ["0", "0", "1", "2"]

    for at, hours in ((SINCE, 6), (SINCE, 12), (SINCE, 30), (SINCE, None), (MONDAY_EARLY, None)):
        add(FollowUp, learner_id=learner.id, kind="lesson", reason="Three misses", occurrence_key=key(),
            fired_at=at, due_at=at + timedelta(days=2), done_at=None if hours is None else at + timedelta(hours=hours))
    assert table(kpi(learner, "insight")) == [(WEEKS[0], "12", "4", "3"), (WEEKS[1], "—", "0", "0"),
                                              (WEEKS[2], "—", "0", "0"), (WEEKS[3], "—", "1", "0")]


def test_another_learners_data_never_counts(learner, drill, make_user):
    other = make_user(timezone="Pacific/Auckland")
    log(other, make_drill(make_goal(other), time_box_minutes=20), 5, at=NOW)
    add(WeeklyCheckin, user_id=other.id, iso_week="2026-W10", reviewed_week=WEEKS[2], answered_at=NOW)
    assert services.progress_page(learner, 4).shown == []


def test_the_csv_is_the_table_with_the_weeks_as_dates_and_formulas_neutralised(learner, drill):
    log(learner, drill, 5, at=NOW, duration_minutes=30)
    practice = kpi(learner, "practice")
    lines = services.kpi_csv(practice).splitlines()
    assert lines == ["Week of,Hours,Planned hours", "2026-03-02,0.5,1", "2026-02-23,0,1", "2026-02-16,0,1",
                     "2026-02-09,0,1"]
    negative = services.Kpi("x", "X", "", "", ("Drop",), [services.KpiWeek(WEEKS[0], -2.0, None, False, ())], None)
    assert services.kpi_csv(negative).splitlines()[1] == "2026-02-09,'-2"
