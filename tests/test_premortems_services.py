"""Pre-mortem rules: hidden causes until the reveal, dots and the top risks (ties kept), and tripwires evaluated
once a day in the learner's own calendar (Auckland and Los Angeles, at day and week edges), firing once until
they clear, with one email that keeps to its switch and quiet hours, and a line in the coach's digest."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts.models import EmailSwitch
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.mail.models import PENDING, OutboxMessage
from failforward.premortems import services
from failforward.premortems.models import MANUAL, METRIC, MISSES, NO_REP, PLANNED, TripwireFiring
from failforward.premortems.services import PreMortemError
from tests.factories import link, log, make_drill, make_goal, sweep
from tests.premortem_world import converted

AUCKLAND, LOS_ANGELES = ZoneInfo("Pacific/Auckland"), ZoneInfo("America/Los_Angeles")


def at(zone, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone)


def watch(learner, goal, tripwire: str, threshold: float | None, drill=None):
    """A converted pre-mortem on `goal` whose one top risk has this tripwire, set today."""
    [risk] = converted(learner, goal, ["Stopped practising"])
    return services.convert(risk, {"prevention": "Fixed slot", "contingency": "Call my coach", "owner": "learner",
                                   "due_on": date(2026, 6, 1), "tripwire": tripwire, "threshold": threshold,
                                   "drill_id": drill.id if drill else None})


def firings(risk) -> list[TripwireFiring]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(TripwireFiring).where(TripwireFiring.risk_id == risk.id)
                                   .order_by(TripwireFiring.id)))


def evaluate_at(clock, moment: datetime) -> int:
    clock.set(moment)
    return services.evaluate_tripwires()


# --- the steps ------------------------------------------------------------------------------------

def test_the_prime_imagines_six_months_on_in_the_learners_calendar(clock, make_user):
    clock.set(datetime(2026, 8, 31, 13, 0, tzinfo=UTC))  # already 1 September in Auckland
    assert services.imagined_day(make_user(timezone="Pacific/Auckland")) == date(2027, 3, 1)
    assert services.imagined_day(make_user(timezone="America/Los_Angeles")) == date(2027, 2, 28)
    assert services.six_months_on(date(2027, 8, 31)) == date(2028, 2, 29)


def test_causes_stay_hidden_from_the_other_participant_until_both_finish(clock, learner, coach):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    link(coach, learner)
    premortem = services.start(learner, make_goal(learner), 6, 3, coach.id)
    assert "6 causes" not in services.write_causes(premortem, learner, ["a", "b", "c"], finished=True)
    assert services.count_note(3).startswith("3 causes so far: aim for at least 5")
    assert services.count_note(11).startswith("11 causes: more than 10")
    assert services.count_note(7) == "7 causes."

    coach_view = services.step_page(coach, premortem)
    assert [(p.name, [c.text for c in causes]) for p, causes in coach_view.written] == [("Casey Coach", [])]
    assert [p.name for p in coach_view.still_writing] == ["Casey Coach"]
    services.write_causes(premortem, coach, ["x"], finished=False)
    assert [c.text for _p, causes in services.step_page(learner, premortem).written for c in causes] == ["a", "b", "c"]

    services.write_causes(premortem, coach, ["x", "y"], finished=True)
    assert premortem.revealed
    assert [[c.text for c in causes] for _p, causes in services.step_page(coach, premortem).written] == [
        ["a", "b", "c"], ["x", "y"]]
    with pytest.raises(PreMortemError):
        services.write_causes(premortem, coach, ["z"], finished=True)


def test_the_owner_may_reveal_without_waiting(learner, coach):
    link(coach, learner)
    premortem = services.start(learner, make_goal(learner), 6, 3, coach.id)
    services.write_causes(premortem, learner, ["a"], finished=True)
    assert not premortem.revealed
    services.reveal(premortem)
    assert premortem.revealed and [p.name for p in services.step_page(learner, premortem).still_writing] == [
        "Casey Coach"]


def test_only_an_active_coach_can_be_invited(learner, coach):
    with pytest.raises(PreMortemError):
        services.start(learner, make_goal(learner), 6, 3, coach.id)


def test_dots_are_limited_and_the_top_five_go_forward_with_ties(learner):
    premortem = services.start(learner, make_goal(learner), 6, 8, None)
    services.write_causes(premortem, learner, [f"cause {i}" for i in range(8)], finished=True)
    risks = [services.add_risk(premortem, learner.id, f"risk {i}", [cause.id])
             for i, cause in enumerate(premortem.causes)]
    with pytest.raises(PreMortemError):
        services.vote(premortem, learner, {risk.id: 2 for risk in risks})
    services.vote(premortem, learner, {risk.id: 1 for risk in risks[:6]} | {risks[0].id: 2, risks[1].id: 1})
    assert services.dots_left(premortem, learner.id) == 1
    assert [r.title for r in services.close_vote(premortem)] == [f"risk {i}" for i in range(6)]  # 5th and 6th tie
    assert [r.forward for r in risks] == [True] * 6 + [False] * 2
    with pytest.raises(PreMortemError):
        services.add_risk(premortem, learner.id, "late", [])


# --- tripwires ------------------------------------------------------------------------------------

def test_no_rep_fires_at_midnight_in_auckland_once_and_again_only_after_clearing(clock, make_user):
    lee = make_user(timezone="Pacific/Auckland")
    clock.set(at(AUCKLAND, 2026, 3, 2, 10, 0))
    drill = make_drill(make_goal(lee))
    log(lee, drill, 6.0, at(AUCKLAND, 2026, 3, 2, 9, 0))
    risk = watch(lee, drill.goal, NO_REP, 2, drill)

    assert services.evaluate_tripwires() == 0
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 4, 23, 59)) == 0  # 3 and 4 March: one full day without
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 5, 0, 0)) == 1  # 11:00 UTC on the 4th
    assert services.evaluate_tripwires() == 0
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 6, 0, 0)) == 0  # still tripped: counts once
    [fired] = firings(risk)
    assert (fired.fired_on, fired.value, fired.seen) == (date(2026, 3, 5), 2, "2 days without a rep on Pager drill")

    log(lee, drill, 6.0, at(AUCKLAND, 2026, 3, 6, 8, 0))
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 7, 0, 0)) == 0
    assert firings(risk)[0].cleared_at == at(AUCKLAND, 2026, 3, 7, 0, 0)
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 9, 0, 0)) == 1
    assert len(firings(risk)) == 2


def test_misses_within_seven_days_count_los_angeles_days(clock, make_user):
    lee = make_user(timezone="America/Los_Angeles")
    clock.set(at(LOS_ANGELES, 2026, 3, 2, 12, 0))
    drill = make_drill(make_goal(lee))
    risk = watch(lee, drill.goal, MISSES, 3, drill)
    for moment in (at(LOS_ANGELES, 2026, 3, 2, 23, 30), at(LOS_ANGELES, 2026, 3, 4, 10, 0)):
        log(lee, drill, 12.0, moment)  # above the baseline: a miss
    log(lee, drill, 4.0, at(LOS_ANGELES, 2026, 3, 4, 11, 0))  # a hit does not count
    log(lee, drill, 12.0, at(LOS_ANGELES, 2026, 3, 5, 23, 59))

    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 5, 0, 0)) == 0
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 6, 0, 0)) == 1
    assert firings(risk)[0].seen == "3 misses on Pager drill in 7 days"
    # The 23:30 miss of 2 March (3 March in UTC) leaves the window on 10 March, local time (after DST began).
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 9, 0, 0)) == 0
    assert firings(risk)[0].cleared_at is None
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 10, 0, 0)) == 0
    assert firings(risk)[0].cleared_at is not None


def test_this_weeks_metric_uses_the_auckland_week_of_yesterday(clock, make_user):
    lee = make_user(timezone="Pacific/Auckland")
    clock.set(at(AUCKLAND, 2026, 3, 2, 8, 0))
    goal = make_goal(lee)  # median, lower is better
    drill = make_drill(goal)
    for day in (2, 4):
        log(lee, drill, 6.0, at(AUCKLAND, 2026, 3, day, 9, 0))
    log(lee, drill, 12.0, at(AUCKLAND, 2026, 3, 9, 0, 30))  # Sunday 11:30 UTC: a new week only in Auckland
    risk = watch(lee, goal, METRIC, 8, None)

    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 9, 0, 0)) == 0  # the week of 2 March: median 6
    assert evaluate_at(clock, at(AUCKLAND, 2026, 3, 10, 0, 0)) == 1
    [fired] = firings(risk)
    assert (fired.value, fired.seen) == (12.0, "12 min in the week of 9 Mar")


def test_worse_respects_a_higher_is_better_goal(clock, make_user):
    lee = make_user(timezone="America/Los_Angeles")
    clock.set(at(LOS_ANGELES, 2026, 3, 2, 8, 0))
    goal = make_goal(lee, direction="higher", baseline=3.0, target=8.0)
    drill = make_drill(goal)
    log(lee, drill, 9.0, at(LOS_ANGELES, 2026, 3, 2, 9, 0))
    risk = watch(lee, goal, METRIC, 7, None)
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 3, 0, 0)) == 0
    log(lee, drill, 2.0, at(LOS_ANGELES, 2026, 3, 3, 9, 0))
    log(lee, drill, 2.0, at(LOS_ANGELES, 2026, 3, 3, 10, 0))
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 4, 0, 0)) == 1
    assert firings(risk)[0].value == 2.0


def test_planned_reps_short_for_n_los_angeles_weeks(clock, make_user):
    lee = make_user(timezone="America/Los_Angeles")
    clock.set(at(LOS_ANGELES, 2026, 3, 2, 8, 0))
    drill = make_drill(make_goal(lee), planned_reps_per_week=3)
    risk = watch(lee, drill.goal, PLANNED, 2, drill)
    for moment in (at(LOS_ANGELES, 2026, 3, 3, 9, 0), at(LOS_ANGELES, 2026, 3, 10, 9, 0),
                   at(LOS_ANGELES, 2026, 3, 11, 9, 0), at(LOS_ANGELES, 2026, 3, 15, 23, 30)):
        log(lee, drill, 6.0, moment)  # the last is on Monday in UTC, yet in the week of 9 March here

    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 9, 0, 0)) == 0  # one full week only
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 16, 0, 0)) == 0  # 1 then 3 reps: the plan was kept
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 23, 0, 0)) == 0  # 3 then 0
    assert evaluate_at(clock, at(LOS_ANGELES, 2026, 3, 30, 0, 0)) == 1  # 0 then 0
    assert firings(risk)[0].seen == "0, 0 reps a week on Pager drill (planned 3)"


def test_a_manual_tripwire_fires_once_per_tap_until_cleared(clock, learner):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    risk = watch(learner, make_goal(learner), MANUAL, None)
    first = services.trigger(risk)
    assert services.trigger(risk) is first
    services.clear(risk)
    services.trigger(risk)
    assert len(firings(risk)) == 2
    assert services.evaluate_tripwires() == 0  # the sweep never touches a manual one


def test_a_dropped_goal_is_no_longer_watched(clock, learner):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    watch(learner, drill.goal, NO_REP, 1, drill)
    drill.goal.status = "dropped"
    db.session.commit()
    assert evaluate_at(clock, datetime(2026, 3, 9, 0, 0, tzinfo=UTC)) == 0


def test_firings_since_lists_the_learners_firings_from_a_moment(clock, learner, make_user):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    risk = watch(learner, make_goal(learner), MANUAL, None)
    services.trigger(risk)
    assert [f.risk_id for f in services.firings_since(learner, datetime(2026, 3, 2, 8, 59, tzinfo=UTC))] == [risk.id]
    assert services.firings_since(learner, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) == []
    assert services.firings_since(make_user(), datetime(2026, 3, 1, tzinfo=UTC)) == []


# --- mail -----------------------------------------------------------------------------------------

def test_a_firing_emails_once_after_quiet_hours(clock, inbox, learner):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    risk = watch(learner, drill.goal, NO_REP, 1, drill)
    clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))  # midnight: evaluated, and held until 07:00
    sweep()
    [held] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.key.startswith("tripwire:")))
    assert (held.status, held.not_before) == (PENDING, datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    assert inbox.to(learner.email) == []
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    sweep()
    sweep()
    # Once, beside the review the personal contract now asks for when a tripwire fires (issue 13).
    [message] = [m for m in inbox.to(learner.email) if m["Subject"].startswith("Tripwire")]
    assert message["Subject"] == "Tripwire: Stopped practising"
    assert "Call my coach" in inbox.body(message) and "List-Unsubscribe" in message
    assert len(firings(risk)) == 1


def test_a_firing_with_the_switch_off_is_recorded_without_mail(clock, inbox, learner):
    db.session.add(EmailSwitch(user_id=learner.id, kind="tripwire", enabled=False))
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    risk = watch(learner, drill.goal, NO_REP, 1, drill)
    assert evaluate_at(clock, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)) == 1
    assert len(firings(risk)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_the_coachs_digest_lists_their_learners_firings_since_the_last_digest(clock, inbox, learner, coach):
    link(coach, learner)
    db.session.add(EmailSwitch(user_id=coach.id, kind="feedback-digest", enabled=True))
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    risk = watch(learner, make_goal(learner), MANUAL, None)
    services.trigger(risk)
    assert feedback.create_due_digests(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) == 1
    body = db.session.scalar(db.select(OutboxMessage.text_body).where(OutboxMessage.key.startswith("feedback-digest")))
    assert "Lee Learner, Stopped practising (Answer pages faster): marked by hand" in body
    assert "Their plan: Call my coach" in body
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert feedback.create_due_digests(datetime(2026, 3, 3, 9, 0, tzinfo=UTC)) == 0  # nothing new, nothing waiting


def test_a_tripwire_whose_drill_was_deleted_stays_quiet(clock, learner):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    drill = make_drill(make_goal(learner))
    risk = watch(learner, drill.goal, NO_REP, 1, drill)
    db.session.delete(drill)
    db.session.commit()
    assert evaluate_at(clock, datetime(2026, 3, 9, 0, 0, tzinfo=UTC)) == 0
    assert firings(risk) == []
