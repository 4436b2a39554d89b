"""Reflections: the library, the drop in intensity, own prompts, sharing; the recovery routine."""

from datetime import UTC, datetime

import pytest

from failforward.coaching.access import may_see_private
from failforward.extensions import db
from failforward.reflection import prompts, services
from failforward.reflection.models import OwnPrompt
from tests.factories import link, log, make_drill, make_goal

_keys = iter(range(1, 100_000))


def reflect(learner, before: int, after: int | None, prompt: str = "narrowed", **fields):
    reflection = services.start_reflection(learner, {"situation": "missed-target", "feeling": "frustrated",
                                                     "intensity_before": before, "what_happened": "Missed it",
                                                     **fields}, f"key-{next(_keys):06d}")
    if after is not None:
        services.finish_reflection(reflection, prompt, "", False, after)
    return reflection


def test_the_library_has_at_least_15_prompts_in_5_situations_with_unique_keys():
    keys = [key for group in prompts.PROMPTS.values() for key, _ in group]
    assert len(keys) >= 15 and len(set(keys)) == len(keys)
    assert set(prompts.PROMPTS) == {"missed-target", "public-mistake", "plateau", "bad-review", "streak-broken"}


def test_the_average_drop_counts_only_finished_reflections(make_user):
    learner = make_user()
    reflect(learner, 8, 5)
    reflect(learner, 6, 5)
    reflect(learner, 4, 6)  # it may rise, too
    reflect(learner, 9, None)
    drop = services.average_drop(learner)
    assert drop.count == 3 and drop.average == pytest.approx((3 + 1 - 2) / 3)
    assert services.average_drop(make_user()).average is None


def test_own_words_are_kept_once_and_offered_next_time(make_user):
    learner = make_user()
    first = reflect(learner, 7, None)
    services.finish_reflection(first, "own", "One bad rep is one data point.", True, 4)
    second = reflect(learner, 7, None)
    services.finish_reflection(second, "own", "One bad rep is one data point.", True, 5)
    assert db.session.scalar(db.select(db.func.count()).select_from(OwnPrompt)) == 1
    options = services.prompt_options(learner, "plateau")
    assert options[-1][1] == "One bad rep is one data point." and options[0][0] == "consolidating"
    third = reflect(learner, 6, None)
    services.finish_reflection(third, options[-1][0], "", False, 3)
    assert third.reappraisal == "One bad rep is one data point." and third.prompt_key == options[-1][0]


def test_finishing_twice_keeps_the_first_answer(make_user):
    learner = make_user()
    reflection = reflect(learner, 7, 4)
    services.finish_reflection(reflection, "next-rep", "", False, 1)
    assert (reflection.intensity_after, reflection.prompt_key) == (4, "narrowed")


def test_a_reflection_is_private_until_shared_and_only_to_an_active_coach(make_user):
    learner, coach, stranger = make_user(), make_user(), make_user()
    the_link = link(coach, learner)
    reflection = reflect(learner, 7, 3)
    assert may_see_private(learner, reflection)
    assert not may_see_private(coach, reflection)
    services.set_shared(reflection, True)
    assert may_see_private(coach, reflection)
    assert not may_see_private(stranger, reflection)
    from failforward.coaching.services import end_link

    end_link(learner, the_link)
    assert not may_see_private(coach, reflection)


def test_a_reflection_links_only_the_learners_own_rep(make_user):
    learner, other = make_user(), make_user()
    rep = log(learner, make_drill(make_goal(learner)), 12.0)
    assert reflect(learner, 5, None, rep_id=rep.id).rep_id == rep.id
    assert reflect(other, 5, None, rep_id=rep.id).rep_id is None


def test_the_routine_is_saved_step_by_step_and_resumed(make_user, clock):
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    learner = make_user()
    routine = services.start_routine(learner)
    assert services.start_routine(learner).id == routine.id  # one at a time: resumed, not doubled
    services.save_routine(routine, {"body_done": True}, "next")
    services.save_routine(routine, {"what_happened": "Froze", "try_next": "Runbook first"}, "save")
    assert (routine.step, routine.finished_at) == (2, None)
    assert services.unfinished_routine(learner).id == routine.id
    services.save_routine(routine, {}, "skip")
    services.save_routine(routine, {"share_learning": "Read first", "shared": True}, "finish")
    assert routine.step == 4 and routine.finished_at is not None
    assert services.unfinished_routine(learner) is None
    assert services.shared_learnings(learner) == [routine]
