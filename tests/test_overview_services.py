"""The coach's overview: each figure against hand-computed fixtures, weeks in each learner's zone, who needs
attention and why, sorting and the filter, and only the coach's own active learners."""

from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug.exceptions import NotFound

from failforward.checkins.models import WeeklyCheckin
from failforward.checkins.services import answer as answer_checkin
from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.overview import services
from failforward.reflection import services as reflection
from failforward.reviews import services as reviews
from failforward.thresholds.models import FollowUp
from tests.factories import link, log, make_drill, make_goal

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday; in Auckland (UTC+13) already Thursday 04:00
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def setback(learner, key: str, shared: bool):
    made = reflection.start_reflection(learner, {"situation": "plateau", "feeling": "numb", "intensity_before": 6,
                                                 "what_happened": "Stuck again"}, key)
    reflection.set_shared(made, shared)
    return made


@pytest.fixture
def roster(clock, make_user):
    """Casey coaches Lee (UTC), Ana (Auckland) and Bo (never practised); a stranger and an ended link aside."""
    clock.set(datetime(2026, 2, 10, 9, 0, tzinfo=UTC))
    coach = make_user(name="Casey Coach")
    lee, ana = make_user(name="Lee Learner"), make_user(name="Ana Second", timezone="Pacific/Auckland")
    bo, gone, stranger = make_user(name="Bo Third"), make_user(name="Gil Gone"), make_user(name="Sam Stranger")
    for learner in (lee, ana, bo, gone):
        link(coach, learner)
    lee_drill = make_drill(make_goal(lee), time_box_minutes=10)  # 5 reps a week planned: 50 minutes
    ana_drill = make_drill(make_goal(ana, title="Sight-read"), time_box_minutes=20, planned_reps_per_week=3)
    make_drill(ana_drill.goal, name="Old drill", planned_reps_per_week=9, time_box_minutes=30).archived_at = NOW
    db.session.commit()
    log(stranger, make_drill(make_goal(stranger)), 4.0, at=MONDAY)

    log(lee, lee_drill, 4.0, at=datetime(2026, 2, 18, 9, 0, tzinfo=UTC))  # met the target of 5
    log(lee, lee_drill, 8.0, at=datetime(2026, 2, 25, 9, 0, tzinfo=UTC))  # then missed it: slipping
    log(lee, lee_drill, 4.0, at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC), duration_minutes=30)  # Sunday: last week
    clock.set(MONDAY)
    asked = log(lee, lee_drill, 4.0, at=MONDAY, duration_minutes=12)
    feedback.ask(lee, asked, "How was it?")  # due Tuesday 09:00, unanswered: overdue by now
    clock.set(MONDAY + timedelta(days=1))
    log(lee, lee_drill, 9.0, duration_minutes=8)  # a miss
    setback(lee, "lee-shared", shared=True)
    setback(lee, "lee-private", shared=False)
    checkin = WeeklyCheckin(user_id=lee.id, iso_week="2026-W10", reviewed_week=date(2026, 2, 23))
    db.session.add(checkin)
    answer_checkin(checkin, "Kept at it", "Tuesday", "Slower start")

    # Ana: Sunday 23:00 in Auckland is last week; Monday 01:00 there is this week.
    log(ana, ana_drill, 4.0, at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC), duration_minutes=20)
    log(ana, ana_drill, 4.0, at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC), duration_minutes=15)
    db.session.add(FollowUp(learner_id=ana.id, kind="lesson", reason="3 misses", occurrence_key="t:1",
                            fired_at=MONDAY, due_at=NOW - timedelta(hours=1)))
    review, _ = reviews.create_review(ana, {"trigger": "Missed a page", "scope": "", "counterfactual": "",
                                            "what_worked": "", "assumptions": "", "shared": True}, [], [], None, "r")
    reviews.add_action(review, {"what": "Warm up first", "owner_id": ana.id, "due_on": date(2026, 3, 6),
                                "done_condition": "", "verify_plan": "", "check_on": None}, "a")
    private, _ = reviews.create_review(ana, {"trigger": "Private", "scope": "", "counterfactual": "",
                                             "what_worked": "", "assumptions": "", "shared": False}, [], [], None, "p")
    reviews.add_action(private, {"what": "Hidden fix", "owner_id": ana.id, "due_on": date(2026, 3, 1),
                                 "done_condition": "", "verify_plan": "", "check_on": None}, "b")

    # Bo's only follow-up comes from a setback he kept private: his coach does not learn of it.
    bo_setback = setback(bo, "bo-private", shared=False)
    db.session.add(FollowUp(learner_id=bo.id, kind="review", reason="A hard setback", occurrence_key="t:2",
                            reflection_id=bo_setback.id, fired_at=MONDAY, due_at=NOW - timedelta(hours=2)))
    db.session.commit()
    coaching.end_link(coach, next(each for each in coaching.roster(coach) if each.learner_id == gone.id))
    clock.set(NOW)
    return coach, lee, ana, bo


def by_name(rows) -> dict:
    return {row.name: row for row in rows}


def test_each_learners_figures_this_week_in_their_own_zone(app, roster):
    coach, lee, ana, bo = roster
    rows = by_name(services.learner_rows(coach))
    assert list(rows) == ["Ana Second", "Bo Third", "Lee Learner"]  # active links only, by name

    row = rows["Lee Learner"]
    assert (row.week, row.reps, row.minutes, row.misses) == (date(2026, 3, 2), 2, 20, 1)
    assert (row.planned_reps, row.planned_minutes) == (5, 50)
    assert row.last_practice == MONDAY + timedelta(days=1)
    assert [(g.title, g.held, g.required, g.slipping) for g in row.goals] == [("Answer pages faster", 0, 2, True)]
    assert (row.open_requests, row.overdue_requests, row.oldest_request) == (1, 1, MONDAY)
    assert (row.follow_ups, row.overdue_follow_ups, row.setbacks) == (0, 0, 1)
    assert row.last_checkin == MONDAY + timedelta(days=1)

    row = rows["Ana Second"]
    assert (row.week, row.reps, row.minutes, row.misses) == (date(2026, 3, 2), 1, 15, 0)
    assert (row.planned_reps, row.planned_minutes) == (3, 60)  # the archived drill is not in the plan
    assert (row.follow_ups, row.overdue_follow_ups) == (2, 1)  # the overdue lesson, the shared fix due Friday
    assert (row.open_requests, row.setbacks, row.last_checkin) == (0, 0, None)

    row = rows["Bo Third"]
    assert (row.last_practice, row.reps, row.planned_reps, row.goals, row.follow_ups) == (None, 0, 0, (), 0)


def test_who_needs_attention_and_why(app, clock, roster):
    coach, *_ = roster
    rows = by_name(services.learner_rows(coach))
    assert rows["Lee Learner"].reasons == ("a feedback request is overdue", "“Answer pages faster” is slipping")
    assert rows["Ana Second"].reasons == ("a follow-up is overdue",)
    assert rows["Bo Third"].reasons == ("no practice in 7 days",)

    clock.set(MONDAY + timedelta(days=8, hours=1))  # Lee's last rep is 7 days and an hour old
    assert "no practice in 7 days" in by_name(services.learner_rows(coach))["Lee Learner"].reasons


def test_the_page_sorts_by_each_column_and_filters_to_those_needing_attention(app, clock, make_user, roster):
    coach, lee, *_ = roster
    calm = make_user(name="Cal Calm")
    link(coach, calm)
    log(calm, make_drill(make_goal(calm)), 4.0, at=NOW - timedelta(hours=3))

    def names(sort: str, descending: bool = False, attention: bool = False) -> list[str]:
        return [row.name for row in services.overview_page(coach, sort, descending, attention).rows]

    assert names("name") == ["Ana Second", "Bo Third", "Cal Calm", "Lee Learner"]
    assert names("name", descending=True) == ["Lee Learner", "Cal Calm", "Bo Third", "Ana Second"]
    assert names("practice") == ["Bo Third", "Ana Second", "Lee Learner", "Cal Calm"]
    assert names("requests", descending=True)[0] == "Lee Learner"
    assert names("follow_ups", descending=True)[0] == "Ana Second"
    assert names("misses", descending=True)[0] == "Lee Learner"
    assert names("reps") == ["Bo Third", "Cal Calm", "Ana Second", "Lee Learner"]  # of plan: 0, 1/5, 1/3, 2/5
    assert names("nonsense") == names("name")
    page = services.overview_page(coach, "name", False, True)
    assert [row.name for row in page.rows] == ["Ana Second", "Bo Third", "Lee Learner"]
    assert (page.learners, page.needing) == (4, 3)


def test_someone_who_coaches_nobody_gets_404(app, roster, make_user):
    _coach, lee, *_ = roster
    for person in (lee, make_user()):
        with pytest.raises(NotFound):
            services.overview_page(person, "name", False, False)
