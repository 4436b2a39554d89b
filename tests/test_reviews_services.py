"""Blameless reviews: the language check, where a review starts, actions' due and check dates in the learner's
calendar, the reminder and the check sent once each, and who may see a review."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.exceptions import NotFound

from failforward.extensions import db
from failforward.lessons import services as lessons
from failforward.mail.models import OutboxMessage
from failforward.reflection import services as reflection
from failforward.reviews import services
from failforward.reviews.models import DONE, NOT_DOING, NOT_YET, OPEN, VERIFIED, WORKED, Review
from failforward.thresholds import services as thresholds
from tests.factories import count, link, log, make_drill, make_goal

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
FIELDS = {"trigger": "Missed three pages", "scope": "On-call", "counterfactual": "", "what_worked": "",
          "assumptions": "", "shared": False}
_keys = iter(range(1, 100_000))


def review(learner, events=(), factors=(("tools", "Alert too quiet"), ("process", "No handover")), source=None,
           **fields):
    made, _ = services.create_review(learner, {**FIELDS, **fields}, list(events), list(factors), source,
                                     f"review-{next(_keys):06d}")
    return made


def action(made, owner=None, **fields):
    values = {"what": "Louder pager", "owner_id": (owner or made.learner).id, "due_on": None,
              "done_condition": "Pager at volume 8", "verify_plan": "No missed page in 2 weeks", "check_on": None,
              **fields}
    return services.add_action(made, values, f"action-{next(_keys):06d}")[0]


@pytest.fixture
def learner(clock, make_user):
    clock.set(NOW)
    return make_user(name="Lee Learner")


def outbox(prefix: str) -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))))


# --- the blameless-language check -------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Who forgot the pager?", "It was your fault", "A careless slip",
                                  "I should have checked", "What a stupid mistake", "Sam caused the outage",
                                  "she caused it"])
def test_person_blaming_words_get_a_note(text):
    assert services.blame_notes({"trigger": text}, 2)["trigger"]


@pytest.mark.parametrize("text", ["The alert was too quiet", "Fatigue caused the slip", "The whole team was tired",
                                  "Nobody had the runbook open", "It caused a delay", "wholesome"])
def test_system_language_gets_no_note(text):
    assert services.blame_notes({"trigger": text}, 2) == {}


def test_a_single_factor_is_questioned_and_two_are_not():
    assert services.blame_notes({}, 1) == {"factors": [services.ONE_FACTOR]}
    assert services.blame_notes({}, 2) == {} and services.blame_notes({}, 0) == {}


def test_the_check_advises_and_never_refuses(learner):
    made = review(learner, trigger="Who left the alert muted?", factors=[("tools", "Muted alert")])
    assert made.id and made.trigger == "Who left the alert muted?"
    notes = services.review_notes(made)
    assert notes["trigger"] and notes["factors"] == [services.ONE_FACTOR]


# --- writing ------------------------------------------------------------------------------------------

def test_the_timeline_is_kept_in_time_order_and_a_double_tap_saves_once(learner):
    later, earlier = datetime(2026, 3, 4, 9, 5, tzinfo=UTC), datetime(2026, 3, 4, 8, 59, tzinfo=UTC)
    fields = {**FIELDS}
    first, created = services.create_review(learner, fields, [(later, "Second"), (earlier, "First")], [], None,
                                            "same-key-1234")
    again, created_again = services.create_review(learner, fields, [], [], None, "same-key-1234")
    assert (created, created_again, again.id) == (True, False, first.id)
    assert [e.what for e in first.events] == ["First", "Second"]
    assert count(Review) == 1


def test_a_review_starts_from_the_learners_own_rep_reflection_or_missed_week_only(learner, make_user):
    drill = make_drill(make_goal(learner))
    rep = log(learner, drill, 12.0, note="Froze on the second alert")
    made = review(learner, source=("rep", rep.id, None))
    assert (made.rep_id, made.goal_id) == (rep.id, drill.goal_id)
    assert "Froze" in services.prefill(learner, ("rep", rep.id, None))["events"][0]["what"]
    week = review(learner, source=("goal-week", drill.goal_id, date(2026, 2, 23)))
    assert (week.goal_id, week.missed_week) == (drill.goal_id, date(2026, 2, 23))
    assert review(learner, source=("followup", 77, None)).follow_up_id is None  # not one of the learner's follow-ups

    stranger = make_user()
    assert services.prefill(stranger, ("rep", rep.id, None)) == {}
    assert review(stranger, source=("rep", rep.id, None)).rep_id is None
    assert review(stranger, source=("goal-week", drill.goal_id, date(2026, 2, 23))).goal_id is None


def test_an_unshared_review_is_a_404_to_the_coach_and_a_stranger(learner, make_user):
    coach, stranger = make_user(), make_user()
    link(coach, learner)
    made = review(learner)
    for person in (coach, stranger):
        with pytest.raises(NotFound):
            services.review_or_404(person, made.id)
    services.set_shared(made, True)
    assert services.review_or_404(coach, made.id) is made
    with pytest.raises(NotFound):
        services.review_or_404(stranger, made.id)
    with pytest.raises(NotFound):
        services.own_review_or_404(coach, made.id)
    comment = services.add_comment(coach, made, "Good timeline")
    assert services.add_comment(coach, made, "Good timeline").id == comment.id  # a double tap


def test_a_review_becomes_a_lesson_prefilled_and_linked(learner):
    made = review(learner, assumptions="Checklists help")
    action(made)
    filled = lessons.prefill(learner, ("review", made.id))
    assert filled["what_failed"] == "Missed three pages" and filled["try_next"] == "Louder pager"
    assert filled["root_cause_tags"] == "tools, process"
    assert lessons.source_links(learner, ("review", made.id))["review_id"] == made.id


# --- actions --------------------------------------------------------------------------------------

def test_an_action_is_due_30_days_on_in_the_learners_calendar_and_checked_two_weeks_later(clock, make_user):
    clock.set(datetime(2026, 3, 4, 23, 30, tzinfo=UTC))  # already 5 March in Tokyo
    tokyo = make_user(timezone="Asia/Tokyo")
    made = action(review(tokyo))
    assert (made.due_on, made.check_on) == (date(2026, 4, 4), date(2026, 4, 18))
    chosen = action(review(tokyo), due_on=date(2026, 3, 20), check_on=date(2026, 3, 27))
    assert (chosen.due_on, chosen.check_on) == (date(2026, 3, 20), date(2026, 3, 27))


def test_an_owner_is_the_learner_or_an_active_coach_never_a_stranger(learner, make_user):
    coach, stranger = make_user(), make_user()
    link(coach, learner)
    made = review(learner)
    assert action(made, owner=coach).owner_id == coach.id
    assert action(made, owner=stranger).owner_id == learner.id


def test_the_due_reminder_and_the_check_are_sent_once_each_at_the_start_of_the_learners_day(clock, make_user):
    clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    tokyo = make_user(timezone="Asia/Tokyo")
    made = action(review(tokyo), due_on=date(2026, 3, 10), check_on=date(2026, 3, 12))
    assert services.create_due_notices(datetime(2026, 3, 9, 14, 59, tzinfo=UTC)) == 0  # 23:59 on the 9th in Tokyo
    assert services.create_due_notices(datetime(2026, 3, 9, 15, 0, tzinfo=UTC)) == 1  # midnight on the 10th
    assert services.create_due_notices(datetime(2026, 3, 9, 15, 1, tzinfo=UTC)) == 0
    assert [m.key for m in outbox("action-due:")] == [f"action-due:{made.id}:2026-03-10"]
    assert services.create_due_notices(datetime(2026, 3, 11, 15, 0, tzinfo=UTC)) == 1
    assert services.create_due_notices(datetime(2026, 3, 11, 16, 0, tzinfo=UTC)) == 0
    assert [m.key for m in outbox("action-check:")] == [f"action-check:{made.id}:2026-03-12"]


def test_a_coach_owned_action_reminds_the_coach(learner, make_user):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    made = action(review(learner), owner=coach, due_on=NOW.date())
    assert services.create_due_notices(NOW) == 1
    assert [m.recipient for m in outbox("action-due:")] == [coach.email]
    assert made in services.actions_due(coach).due and made not in services.actions_due(learner).due


def test_a_done_action_gets_no_due_reminder_and_not_yet_asks_again_a_week_later(learner, clock):
    made = action(review(learner), due_on=NOW.date(), check_on=NOW.date())
    services.set_status(made, DONE, "")
    assert services.create_due_notices(NOW) == 1  # the check only
    assert outbox("action-due:") == []
    services.answer_check(made, NOT_YET, "")
    assert made.check_on == NOW.date() + timedelta(days=7) and made.status == DONE
    clock.set(NOW + timedelta(days=7))
    assert services.create_due_notices(NOW + timedelta(days=7)) == 1
    services.answer_check(made, WORKED, "No missed page since")
    assert (made.status, made.evidence) == (VERIFIED, "No missed page since")
    assert services.create_due_notices(NOW + timedelta(days=8)) == 0


def test_a_fix_keeps_the_moment_it_was_first_done_and_loses_it_when_reopened_or_dropped(learner, clock):
    """The Progress page's closure within 30 days counts from this moment."""
    made = action(review(learner))
    assert made.completed_at is None
    services.set_status(made, DONE, "")
    assert made.completed_at == NOW
    clock.set(NOW + timedelta(days=3))
    services.answer_check(made, WORKED, "Fine")  # verified later: still done on the first day
    assert (made.status, made.completed_at) == (VERIFIED, NOW)
    services.set_status(made, OPEN, "")
    assert made.completed_at is None
    services.answer_check(made, WORKED, "")  # a check that worked verifies an open fix too
    assert made.completed_at == NOW + timedelta(days=3)
    services.set_status(made, NOT_DOING, "Pager retired")
    assert made.completed_at is None


def test_the_home_page_lists_actions_due_within_a_week_and_checks_that_came(learner):
    made = review(learner)
    soon, later = action(made, due_on=NOW.date() + timedelta(days=7)), action(made)
    checked = action(made, due_on=NOW.date(), check_on=NOW.date())
    due = services.actions_due(learner)
    assert soon in due.due and later not in due.due and checked in due.checks
    assert services.actions_due(learner).checks == [checked]
    services.set_status(soon, OPEN, "")
    assert services.open_actions_due([learner.id], NOW.date()) == [checked]


def test_a_review_written_from_a_due_follow_up_marks_it_done_and_only_its_owners(app, clock, make_user):
    """Issue 13: a setback at intensity 8 or more asks for a review; writing it is what closes the ask."""
    clock.set(NOW)
    learner, stranger = make_user(), make_user()
    reflection.start_reflection(learner, {"situation": "plateau", "intensity_before": 9, "what_happened": "Froze"},
                                "setback-1")
    assert thresholds.fire_due() == 1
    [due] = thresholds.due_follow_ups(learner)
    assert due.kind == "review" and "/reviews/new?from=followup" in thresholds.write_url(due)
    assert review(stranger, source=("followup", due.id, None)).follow_up_id is None
    written = review(learner, source=("followup", due.id, None))
    assert written.follow_up_id == due.id and written.reflection_id == due.reflection_id
    assert thresholds.due_follow_ups(learner) == []


def test_a_review_from_a_due_follow_up_starts_with_what_fired_and_the_misses_in_the_learners_zone(clock, make_user):
    """Issue 13: three misses ask for a review; the review starts with the reason, the goal, and the three misses
    of the rule's 7 local days (Auckland's), not an older one."""
    auckland = ZoneInfo("Pacific/Auckland")
    clock.set(datetime(2026, 2, 23, 0, tzinfo=UTC))
    learner = make_user(timezone="Pacific/Auckland")
    drill = make_drill(make_goal(learner, title="Calm pages"), name="Page triage")
    page = thresholds.contract_page(learner)
    thresholds.update_contract(learner, {name: getattr(page.contract, name) for name in thresholds.PERSONAL_TERMS},
                               {"drill-misses": {"follow_up": "review"}})
    for moment in (datetime(2026, 2, 23, 12, 0), datetime(2026, 3, 2, 9, 30), datetime(2026, 3, 3, 0, 5),
                   datetime(2026, 3, 3, 0, 10)):
        at = moment.replace(tzinfo=auckland).astimezone(UTC)
        clock.set(at)
        log(learner, drill, 12.0, at=at)
    assert thresholds.fire_due() == 1
    [due] = thresholds.due_follow_ups(learner)
    start = services.prefill(learner, ("followup", due.id, None))
    assert start["trigger"] == "3 misses on Page triage within 7 days"
    assert start["scope"] == "The goal “Calm pages”"
    assert [event["at"] for event in start["events"]] == [datetime(2026, 3, 2, 9, 30), datetime(2026, 3, 3, 0, 5),
                                                          datetime(2026, 3, 3, 0, 10)]
    assert start["events"][0]["what"] == "A miss: 12 min on Page triage"
    assert services.prefill(make_user(), ("followup", due.id, None)) == {}  # not theirs: nothing of it
