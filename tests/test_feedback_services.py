"""Feedback rules: asking needs a coach, due times, the coach's queue, answers, follow-ups, latency."""

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.exceptions import NotFound

from failforward.coaching import services as coaching
from failforward.feedback import services
from failforward.feedback.models import FeedbackMessage, FeedbackRequest
from tests.factories import count, link, log, make_drill, make_goal

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(START)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


# --- asking -------------------------------------------------------------------------------------

def test_asking_needs_an_active_coach(app, coach, learner, drill):
    rep = log(learner, drill, 4.0)
    with pytest.raises(services.FeedbackError, match="You have no coach yet"):
        services.ask(learner, rep, "How was it?")
    the_link = link(coach, learner)
    coaching.end_link(coach, the_link)
    with pytest.raises(services.FeedbackError, match="no coach"):
        services.ask(learner, rep, "How was it?")
    assert count(FeedbackRequest) == 0


def test_a_request_is_due_24_hours_after_the_practice_by_default(app, clock, learner, drill, the_link):
    rep = log(learner, drill, 4.0, at=at(-5))
    feedback = services.ask(learner, rep, "Was my triage order right?")
    assert (feedback.practised_at, feedback.due_at, feedback.created_at) == (at(-5), at(19), START)
    assert (feedback.question, feedback.answered_at, feedback.reps) == ("Was my triage order right?", None, [rep])


def test_the_accepted_contract_sets_the_due_hours(app, coach, learner, drill):
    the_link = link(coach, learner, feedback_due_hours=48)
    rep = log(learner, drill, 4.0)
    assert services.ask(learner, rep, "").due_at == at(48)
    # A proposal the learner has not accepted yet changes nothing.
    coaching.propose_contract(coach, the_link, {**coaching.DEFAULT_CONTRACT, "feedback_due_hours": 6})
    assert services.ask(learner, log(learner, drill, 5.0), "").due_at == at(48)


def test_asking_twice_about_a_rep_makes_one_request(app, learner, drill, the_link):
    rep = log(learner, drill, 4.0)
    first = services.ask(learner, rep, "Once")
    assert services.ask(learner, rep, "Twice").id == first.id
    assert count(FeedbackRequest) == 1


def test_a_request_can_cover_a_session_and_runs_from_its_first_rep(app, make_user, learner, drill, the_link):
    early = log(learner, drill, 6.0, at=at(-2))
    main = log(learner, drill, 4.0, at=at(-1))
    far = log(learner, drill, 5.0, at=at(-30))
    theirs = log(make_user(), drill, 1.0, at=at(-1))  # someone else's rep slipped in is ignored
    assert services.session_reps(main) == [early, theirs]
    feedback = services.ask(learner, main, "", [early, theirs])
    assert feedback.reps == [early, main]
    assert far not in feedback.reps
    assert (feedback.practised_at, feedback.due_at) == (at(-2), at(22))


# --- the queue ----------------------------------------------------------------------------------

def test_the_queue_lists_every_learners_open_requests_nearest_due_first(app, clock, make_user, coach, learner,
                                                                        drill, the_link):
    second = make_user(name="Ana Second")
    link(coach, second, feedback_due_hours=4)
    second_drill = make_drill(make_goal(second))
    not_mine = make_user()
    link(make_user(), not_mine)

    late = services.ask(learner, log(learner, drill, 4.0, at=at(-30)), "")  # due at(-6): overdue
    soon = services.ask(second, log(second, second_drill, 4.0), "")  # due at(4)
    later = services.ask(learner, log(learner, drill, 4.0, at=at(-1)), "")  # due at(23)
    services.ask(not_mine, log(not_mine, make_drill(make_goal(not_mine)), 4.0), "")
    answered = services.ask(learner, log(learner, drill, 3.0, at=at(-20)), "")
    services.answer(coach, answered, "Good.")

    assert services.queue(coach) == [late, soon, later]
    assert [r.overdue for r in services.queue(coach)] == [True, False, False]
    clock.set(at(5))
    assert [r.overdue for r in services.queue(coach)] == [True, True, False]
    assert services.queue_size(coach) == (3, 2)


def test_a_queue_page_reads_as_plain_rows_what_the_requests_themselves_say(app, clock, make_user, coach, learner,
                                                                          drill, the_link):
    """The queue page's one-query rows agree with the requests loaded as objects: the learner, rep, drill, goal,
    the session's rep count, and the latest follow-up only while one is open."""
    second = make_user(name="Ana Second")
    link(coach, second, feedback_due_hours=4)
    second_drill = make_drill(make_goal(second, unit="words"), name="Cold open")
    first = log(learner, drill, 4.0, at=at(-30), note="Rushed the start.")
    session = services.ask(learner, first, "Too slow?", [log(learner, drill, 5.5, at=at(-29))])
    plain = services.ask(second, log(second, second_drill, 120.0), "")
    followed = services.ask(learner, log(learner, drill, 3.0, at=at(-20)), "Better?")
    services.answer(coach, followed, "Yes.")
    clock.set(at(1))
    services.follow_up(learner, followed, "And the middle part?")
    clock.set(at(2))
    services.follow_up(learner, followed, "The last one, then.")
    answered = services.ask(learner, log(learner, drill, 2.0, at=at(-10)), "")
    services.answer(coach, answered, "Fine.")  # answered, no follow-up open: not in the queue

    items = services.queue_items(coach, 10, 0)
    assert items == [services.QueueItem.of(feedback) for feedback in services.queue(coach)]
    assert [item.id for item in items] == [session.id, plain.id, followed.id]  # the last two due at once: by id
    assert (items[0].rep_count, items[0].note, items[0].follow_up) == (2, "Rushed the start.", None)
    assert (items[1].learner_name, items[1].drill_name, items[1].unit) == ("Ana Second", "Cold open", "words")
    assert items[2].follow_up == "The last one, then."
    assert services.queue_items(coach, 10, 0, second.id) == items[1:2]
    assert services.queue_items(coach, 1, 2) == items[2:]


def test_the_queue_comes_a_page_at_a_time_in_due_order(app, coach, learner, drill, the_link):
    asked = [services.ask(learner, log(learner, drill, 4.0, at=at(-hours)), "") for hours in range(5)]
    nearest_first = asked[::-1]
    assert services.queue(coach, 2) == nearest_first[:2]
    assert services.queue(coach, 2, 2) == nearest_first[2:4]
    assert services.queue(coach, 2, 4) == nearest_first[4:]
    assert services.queue_size(coach) == (5, 0)


def test_answering_takes_a_request_out_of_the_queue_and_stops_the_clock(app, clock, coach, learner, drill,
                                                                         the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    clock.set(at(3))
    message = services.answer(coach, feedback, "Acknowledge first, then triage.")
    assert (message.author_id, message.body) == (coach.id, "Acknowledge first, then triage.")
    assert feedback.answered_at == at(3)
    assert services.queue(coach) == []
    clock.set(at(50))
    assert feedback.latency_hours == 3.0
    assert not feedback.overdue


def test_a_double_tap_on_answer_saves_one_message(app, coach, learner, drill, the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    services.answer(coach, feedback, "Same words")
    services.answer(coach, feedback, "Same words")
    assert count(FeedbackMessage) == 1


def test_only_an_active_coach_may_answer(app, make_user, coach, learner, drill, the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    for someone in (make_user(), learner):
        with pytest.raises(NotFound):
            services.answer(someone, feedback, "Hi")
    coaching.end_link(learner, the_link)
    with pytest.raises(NotFound):
        services.answer(coach, feedback, "Late answer")
    with pytest.raises(NotFound):
        services.request_or_404(coach, feedback.id)
    assert services.queue(coach) == []
    assert feedback.answered_at is None


def test_a_follow_up_puts_the_request_back_in_the_queue_without_changing_latency(app, clock, coach, learner, drill,
                                                                                the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    clock.set(at(2))
    services.answer(coach, feedback, "Try a checklist.")
    clock.set(at(10))
    services.follow_up(learner, feedback, "Which checklist?")
    assert services.queue(coach) == [feedback]
    assert (feedback.answered_at, feedback.latency_hours) == (at(2), 2.0)

    clock.set(at(40))
    services.answer(coach, feedback, "The one in the runbook.")
    assert services.queue(coach) == []
    assert (feedback.answered_at, feedback.latency_hours) == (at(2), 2.0)
    assert [m.body for m in feedback.messages] == ["Try a checklist.", "Which checklist?", "The one in the runbook."]
    assert services.latency([learner.id])[learner.id].median_hours == 2.0


def test_only_the_learner_follows_up_or_rates(app, coach, learner, drill, the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    services.answer(coach, feedback, "Fine.")
    with pytest.raises(NotFound):
        services.follow_up(coach, feedback, "?")
    with pytest.raises(NotFound):
        services.mark_helpful(coach, feedback, True)
    services.mark_helpful(learner, feedback, False)
    assert feedback.helpful is False


def test_strangers_cannot_open_a_request(app, make_user, coach, learner, drill, the_link):
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    assert services.request_or_404(learner, feedback.id) is feedback
    assert services.request_or_404(coach, feedback.id) is feedback
    unlinked_coach = make_user()
    link(unlinked_coach, make_user())
    for stranger in (make_user(), unlinked_coach):
        with pytest.raises(NotFound):
            services.request_or_404(stranger, feedback.id)


# --- latency ------------------------------------------------------------------------------------

def answered_after(clock, coach, learner, drill, practised: float, hours: float) -> FeedbackRequest:
    clock.set(at(practised))
    feedback = services.ask(learner, log(learner, drill, 4.0), "")
    clock.set(at(practised + hours))
    services.answer(coach, feedback, f"after {hours} h")
    return feedback


def test_latency_is_the_median_and_90th_percentile_with_late_answers_counted(app, clock, coach, learner, drill,
                                                                             the_link):
    for day, hours in enumerate((2, 4, 6, 30, 50)):
        answered_after(clock, coach, learner, drill, day * 24, hours)
    clock.set(at(7 * 24))
    figures = services.latency([learner.id])[learner.id]
    assert (figures.requests, figures.answered, figures.late) == (5, 5, 2)
    assert figures.median_hours == 6.0
    assert figures.p90_hours == pytest.approx(42.0)  # between 30 and 50, 60 % of the way


def test_unanswered_requests_count_with_their_age_so_far(app, clock, coach, learner, drill, the_link):
    for day, hours in enumerate((2, 4, 6)):
        answered_after(clock, coach, learner, drill, day * 24, hours)
    clock.set(at(100))
    services.ask(learner, log(learner, drill, 4.0), "")  # nobody answers this one

    clock.set(at(101))
    quiet = services.latency([learner.id])[learner.id]
    assert (quiet.requests, quiet.answered, quiet.late, quiet.median_hours) == (4, 3, 0, 3.0)

    clock.set(at(160))  # 60 hours of silence
    silent = services.latency([learner.id])[learner.id]
    assert (silent.requests, silent.answered, silent.late) == (4, 3, 1)
    assert silent.median_hours == 5.0
    assert silent.p90_hours > 40


def test_latency_looks_back_four_weeks(app, clock, coach, learner, drill, the_link):
    answered_after(clock, coach, learner, drill, 0, 40)
    answered_after(clock, coach, learner, drill, 24, 2)
    clock.set(at(24) + timedelta(weeks=4) - timedelta(hours=1))
    assert services.latency([learner.id])[learner.id].requests == 1
    clock.set(at(24) + timedelta(weeks=5))
    figures = services.latency([learner.id])[learner.id]
    assert (figures.requests, figures.median_hours, figures.p90_hours) == (0, None, None)


def test_latency_is_per_learner(app, clock, make_user, coach, learner, drill, the_link):
    other = make_user()
    link(coach, other)
    answered_after(clock, coach, learner, drill, 0, 3)
    answered_after(clock, coach, other, make_drill(make_goal(other)), 0, 30)
    figures = services.latency([learner.id, other.id])
    assert (figures[learner.id].median_hours, figures[learner.id].late) == (3.0, 0)
    assert (figures[other.id].median_hours, figures[other.id].late) == (30.0, 1)


def test_trends_are_each_drills_latest_eight_values_oldest_first(app, learner, drill):
    other = make_drill(drill.goal, name="Other drill")
    idle = make_drill(drill.goal, name="Never practised")
    for n in range(10):
        log(learner, drill, float(n), at=at(n - 20))
    log(learner, other, 7.0, at=at(-1))
    found = services.trends([drill.id, other.id, idle.id])
    assert found[drill.id].values == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert found[drill.id].points.split()[0] == "0.0,18.0" and found[drill.id].points.split()[-1] == "80.0,2.0"
    assert found[other.id].values == [7.0] and found[other.id].points == "0.0,18.0"
    assert idle.id not in found


def test_an_unanswered_requests_age_does_not_depend_on_the_zone_the_time_is_written_in(app, clock, coach, learner,
                                                                                         drill, the_link):
    from zoneinfo import ZoneInfo

    services.ask(learner, log(learner, drill, 4.0), "")
    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        clock.set(at(2).astimezone(ZoneInfo(zone)))  # the same moment, written in another zone
        figures = services.latency([learner.id])[learner.id]
        assert (figures.median_hours, figures.late) == (2.0, 0), zone


def test_a_coachs_own_latency_counts_only_their_own_answers(app, clock, make_user, coach, learner, drill, the_link):
    other_coach = make_user(name="Olu Other")
    link(other_coach, learner)
    answered_after(clock, other_coach, learner, drill, 0, 2)  # the other coach's quick answer
    both = answered_after(clock, other_coach, learner, drill, 24, 1)
    clock.set(at(24 + 9))
    services.answer(coach, both, "me too")  # Casey answered this one 9 hours after the practice
    answered_after(clock, coach, learner, drill, 48, 30)
    clock.set(at(100))
    services.ask(learner, log(learner, drill, 4.0), "")  # nobody answered: it waits for every coach
    clock.set(at(104))

    everyone = services.latency([learner.id])[learner.id]
    assert (everyone.requests, everyone.answered, everyone.median_hours) == (4, 3, 3.0)  # 2, 1, 30, 4
    casey = services.latency([learner.id], coach.id)[learner.id]
    assert (casey.requests, casey.answered, casey.late) == (3, 2, 1)  # 9, 30 and the open 4
    assert casey.median_hours == 9.0
    olu = services.latency([learner.id], other_coach.id)[learner.id]
    assert (olu.requests, olu.answered, olu.median_hours) == (3, 2, 2.0)  # 2, 1 and the open 4
