"""Setback pages: the two steps of a reflection, 422 with the text kept, sharing, the routine without JavaScript."""

import html

import pytest

from failforward.extensions import db
from failforward.reflection.models import RecoveryRoutine, Reflection
from tests.factories import field_error, log, make_drill, make_goal, text

STEP_ONE = {"situation": "missed-target", "feeling": "frustrated", "intensity_before": "8",
            "what_happened": "Missed the target by two minutes", "idempotency_key": "reflect-key-01"}


@pytest.fixture
def learner(make_user, login):
    person = make_user(name="Lee Learner")
    login(person)
    return person


def test_a_reflection_in_two_steps_shows_the_drop(client, learner):
    rep = log(learner, make_drill(make_goal(learner)), 12.0)
    response = client.post("/reflections", data={**STEP_ONE, "rep_id": str(rep.id)})
    reflection = db.session.scalar(db.select(Reflection))
    assert response.status_code == 303 and response.location == f"/reflections/{reflection.id}/reappraise"
    assert reflection.rep_id == rep.id
    assert client.post("/reflections", data={**STEP_ONE, "rep_id": str(rep.id)}).status_code == 303  # double tap
    assert db.session.scalar(db.select(db.func.count()).select_from(Reflection)) == 1

    page = text(client.get(response.location))
    assert "This miss rules out one way" in page and "Write my own" in page
    assert "made a mistake in front of others" not in page.split("reappraise-form")[1]
    other_group = text(client.get(f"{response.location}?group=plateau"))
    assert "A flat stretch" in other_group

    done = client.post(response.location, data={"prompt": "narrowed", "intensity_after": "5", "group": "missed-target"})
    assert done.status_code == 303
    shown = text(client.get(done.location))
    assert "dropped 3 points" in shown
    assert client.get(response.location).status_code == 303  # finished: straight to the reflection


@pytest.mark.parametrize("changes, field_id, message", [
    ({"situation": ""}, "situation", "Pick the kind"),
    ({"situation": "nonsense"}, "situation", "Not a valid choice"),
    ({"feeling": "", "feeling_own": ""}, "feeling_own", "Pick a feeling"),
    ({"intensity_before": "11"}, "intensity_before", "Not a valid choice"),
    ({"intensity_before": "eight"}, "intensity_before", "Not a valid choice"),
    ({"what_happened": ""}, "what_happened", "Write a sentence"),
    ({"what_happened": "a\x00b"}, "what_happened", "control characters"),
    ({"what_happened": "x" * 501}, "what_happened", "500"),
    ({"feeling_own": "\u202eevil"[0:1] + "x" * 61}, "feeling_own", "60"),
])
def test_bad_input_on_step_one_keeps_the_text(client, htmx_client, login, learner, changes, field_id, message):
    login(learner, htmx_client)
    data = {**STEP_ONE, "feeling_own": "مرحبا 😤", **changes}
    for response in (client.post("/reflections", data=data),
                     htmx_client.post("/reflections", data=data, headers={"HX-Target": "feeling-form"})):
        assert response.status_code == 422
        assert message in html.unescape(field_error(response, field_id))
        if data["what_happened"] and "\x00" not in data["what_happened"]:
            assert html.escape(data["what_happened"][:50], quote=False) in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(Reflection)) == 0


def test_bad_input_on_step_two_keeps_the_text(client, learner):
    client.post("/reflections", data=STEP_ONE)
    reflection = db.session.scalar(db.select(Reflection))
    url = f"/reflections/{reflection.id}/reappraise"
    for data, field_id, message in [
        ({"prompt": "own", "own_text": "", "intensity_after": "3"}, "own_text", "Write your reappraisal"),
        ({"prompt": "not-a-prompt", "own_text": "Kept ✍️ words", "intensity_after": "3"}, "prompt", "Not a valid"),
        ({"prompt": "own", "own_text": "Kept ✍️ words", "intensity_after": ""}, "intensity_after", "0 to 10"),
        ({"prompt": "own", "own_text": "Kept ✍️ words\x00", "intensity_after": "2"}, "own_text", "control"),
        ({"prompt": "mine-999", "own_text": "Kept ✍️ words", "intensity_after": "2"}, "prompt", "Not a valid"),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 422, data
        assert message in html.unescape(field_error(response, field_id))
        if data["own_text"] and "\x00" not in data["own_text"]:
            assert "Kept ✍️ words" in text(response)
    assert reflection.finished_at is None


def test_the_routine_works_as_a_plain_checklist(client, learner):
    response = client.post("/recovery", data={})
    routine = db.session.scalar(db.select(RecoveryRoutine))
    assert response.status_code == 303 and response.location == f"/recovery/{routine.id}"
    page = text(client.get(response.location))
    for label in ("What happened?", "What did I control?", "What will I try next?", "Share this learning",
                  "I did the body reset", "Save for later", "Skip this step", "Finish"):
        assert label in page
    assert "In for 4, hold for 7, out for 8" in page

    saved = client.post(response.location, data={"body_done": "y", "what_happened": "Froze", "action": "next"})
    assert saved.status_code == 303 and saved.location.endswith("#step-2")
    assert client.post("/recovery", data={}).location == f"/recovery/{routine.id}"  # resumes, not a new one
    too_long = client.post(response.location, data={"what_i_controlled": "x" * 2001, "try_next": "Keep ✨ me",
                                                     "action": "finish"})
    assert too_long.status_code == 422 and "Keep ✨ me" in text(too_long)
    client.post(response.location, data={"what_happened": "Froze", "try_next": "Runbook first", "action": "finish"})
    assert routine.finished_at is not None
    assert f"/lessons/new?routine={routine.id}" in text(client.get(response.location))
    assert "Runbook first" in text(client.get(f"/lessons/new?routine={routine.id}"))


def test_someone_elses_routine_and_reflection_are_404(client, make_user, login, learner):
    client.post("/recovery", data={})
    client.post("/reflections", data=STEP_ONE)
    routine, reflection = db.session.scalar(db.select(RecoveryRoutine)), db.session.scalar(db.select(Reflection))
    login(make_user())
    assert client.get(f"/recovery/{routine.id}").status_code == 404
    assert client.post(f"/recovery/{routine.id}", data={"action": "finish"}).status_code == 404
    assert client.post("/recovery", data={"reflection": str(reflection.id)}).status_code == 404
    assert client.get(f"/reflections/{reflection.id}").status_code == 404
    assert client.post(f"/reflections/{reflection.id}/reappraise", data={}).status_code == 404
