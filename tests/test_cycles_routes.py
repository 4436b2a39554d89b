"""PDSA cycle pages: planning (prefilled from links, 422 with the text kept, warnings that do not refuse), the
cycle's page for the learner and their coach, study, decision, notes, rule changes; strangers get 404."""

from datetime import UTC, date, datetime, timedelta

import pytest

from failforward.cycles.models import Cycle, CycleNote
from failforward.extensions import db
from failforward.lessons import services as lessons
from tests.factories import count, field_error, input_value, link, log, make_drill, make_goal, text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
PLAN_FORM = {"objective": "Faster triage", "change": "Read the runbook first", "prediction": "Quicker: less guessing",
             "harm": "miss-rate", "adopt_if_pct": "5", "harm_tolerance_pct": "0", "min_reps": "5", "scope_pct": "10",
             "timebox_days": "14", "starts_on": "2026-03-04", "undo_plan": "Skip the runbook",
             "undo_speed": "at once", "next_if_inconclusive": "", "idempotency_key": "cycle-key-0001"}


@pytest.fixture
def people(app, clock, make_user):
    clock.set(NOW)
    learner, coach, stranger = make_user(name="Lee Learner"), make_user(name="Casey Coach"), make_user(name="Sam")
    link(coach, learner)
    return learner, coach, stranger


@pytest.fixture
def drill(people):
    return make_drill(make_goal(people[0]))


def plan(client, drill, **changes):
    return client.post(f"/goals/{drill.goal_id}/cycles", data={**PLAN_FORM, "drill_id": str(drill.id), **changes})


def test_planning_without_javascript_saves_once_and_shows_the_cycle(client, login, people, drill):
    login(people[0])
    response = plan(client, drill)
    cycle = db.session.scalar(db.select(Cycle))
    assert response.status_code == 303 and response.location == f"/cycles/{cycle.id}"
    assert plan(client, drill).status_code == 303 and count(Cycle) == 1  # a double tap
    page = text(client.get(response.location))
    assert "Read the runbook first" in page and "Running" in page and "Study it now" in page
    assert cycle.ends_on == date(2026, 3, 18) and cycle.harm == "miss-rate"


def test_the_goal_page_shows_the_chain_and_the_button(client, login, people, drill):
    login(people[0])
    page = text(client.get(f"/goals/{drill.goal_id}"))
    assert "Plan a small test (PDSA)" in page and "No small tests yet" in page
    plan(client, drill)
    assert "Faster triage" in text(client.get(f"/goals/{drill.goal_id}"))


def test_with_htmx_a_plan_redirects_and_a_bad_one_answers_the_form(htmx_client, login, people, drill):
    login(people[0], htmx_client)
    response = htmx_client.post(f"/goals/{drill.goal_id}/cycles", data={**PLAN_FORM, "drill_id": str(drill.id)},
                                headers={"HX-Target": "plan-form"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/cycles/")
    bad = htmx_client.post(f"/goals/{drill.goal_id}/cycles", data={**PLAN_FORM, "prediction": ""},
                           headers={"HX-Target": "plan-form"})
    assert bad.status_code == 422 and text(bad).strip().startswith('<form id="plan-form"')


def test_bad_input_answers_422_beside_the_field_with_the_text_kept(client, login, people, drill):
    login(people[0])
    response = plan(client, drill, prediction="", adopt_if_pct="five", timebox_days="0", starts_on="2026-02-01",
                    objective="مرحبا 👩🏽‍💻 \u202eevil")
    assert response.status_code == 422 and count(Cycle) == 0
    assert "Write what you expect" in field_error(response, "prediction")
    assert "Enter a number" in field_error(response, "adopt_if_pct")
    assert "between 1 and 90" in field_error(response, "timebox_days")
    assert "from today" in field_error(response, "starts_on")
    assert "مرحبا 👩🏽‍💻 \u202eevil" in text(response) and input_value(response, "adopt_if_pct") == "five"


@pytest.mark.parametrize(("changes", "warning"), [({"scope_pct": "25"}, "25% of your practice is under test"),
                                                  ({"timebox_days": "21"}, "21 days is a long cycle")])
def test_a_wide_scope_or_a_long_timebox_warns_but_is_saved(client, login, people, drill, changes, warning):
    login(people[0])
    response = plan(client, drill, **changes)
    assert response.status_code == 303 and count(Cycle) == 1
    assert warning in text(client.get(response.location))
    assert warning in text(client.get(response.location))  # the page says it, not only the flash


def test_links_prefill_the_plan(client, login, people, drill):
    login(people[0])
    query = f"change=Read+the+runbook&objective=Triage&drill={drill.id}"
    page = text(client.get(f"/goals/{drill.goal_id}/cycles/new?{query}"))
    assert "\nRead the runbook</textarea>" in page and "\nTriage</textarea>" in page
    assert f'value="{drill.id}" checked' in page
    assert f'value="{drill.id}" checked' in text(client.get(f"/goals/{drill.goal_id}/cycles/new"))  # the only one
    make_drill(drill.goal, name="Second drill")
    assert f'value="{drill.id}" checked' not in text(client.get(f"/goals/{drill.goal_id}/cycles/new"))


def test_a_lesson_with_a_try_next_links_to_a_prefilled_plan(client, login, people, drill):
    learner = people[0]
    rep = log(learner, drill, 12.0)
    lesson, _ = lessons.create_lesson(learner, {"happened_on": NOW.date(), "context": "", "what_failed": "Froze",
                                                "what_tried": "", "try_next": "Read the runbook", "check_on": None,
                                                "shared": False}, {}, ("rep", rep.id), "lesson-key-1")
    login(learner)
    page = text(client.get(f"/lessons/{lesson.id}"))
    assert f"/goals/{drill.goal_id}/cycles/new?change=Read+the+runbook&amp;drill={drill.id}" in page
    assert "Test it as a PDSA cycle" in page


def test_study_decide_and_start_the_next_cycle(client, clock, login, people, drill):
    login(people[0])
    plan(client, drill, min_reps="1")
    cycle = db.session.scalar(db.select(Cycle))
    log(people[0], drill, 10, at=NOW - timedelta(hours=20))
    log(people[0], drill, 12, at=NOW + timedelta(hours=1))
    clock.set(NOW + timedelta(days=1))
    assert client.post(f"/cycles/{cycle.id}/decision", data={"decision": "adopt"}).status_code == 303
    assert count(Cycle, Cycle.decision.is_not(None)) == 0  # not studied yet
    assert client.post(f"/cycles/{cycle.id}/study").status_code == 303
    page = text(client.get(f"/cycles/{cycle.id}"))
    assert "The rule says abandon" in page and "You predicted" in page and "Start the next cycle" not in page
    assert "before the timebox ended" in page
    bad = client.post(f"/cycles/{cycle.id}/decision", data={"decision": "maybe", "note": "Kept note"})
    assert bad.status_code == 422 and "Kept note" in text(bad)
    client.post(f"/cycles/{cycle.id}/decision", data={"decision": "adapt", "note": "Shorter runbook"})
    page = text(client.get(f"/cycles/{cycle.id}"))
    assert "Your decision: adapt" in page and "(the rule said abandon)" in page and "Start the next cycle" in page
    assert "\nShorter runbook</textarea>" in page and 'value="adapt" checked' in page  # to change it, if need be
    follow = text(client.get(f"/goals/{drill.goal_id}/cycles/new?after={cycle.id}"))
    assert "Copied forward" in follow and "\nRead the runbook first</textarea>" in follow
    assert plan(client, drill, previous=str(cycle.id), idempotency_key="cycle-key-0002",
                starts_on="2026-03-05").status_code == 303
    assert db.session.scalar(db.select(Cycle).where(Cycle.id != cycle.id)).previous_id == cycle.id


def test_a_rule_change_after_the_start_is_marked(client, login, people, drill):
    login(people[0])
    plan(client, drill)
    cycle = db.session.scalar(db.select(Cycle))
    assert "Change the rule" in text(client.get(f"/cycles/{cycle.id}"))
    assert "no longer counts as declared" in text(client.get(f"/cycles/{cycle.id}/rule"))
    bad = client.post(f"/cycles/{cycle.id}/rule", data={"harm": "miss-rate", "adopt_if_pct": "-3",
                                                        "harm_tolerance_pct": "0", "min_reps": "5", "reason": "Why"})
    assert bad.status_code == 422 and "between 0 and 1000" in field_error(bad, "adopt_if_pct")
    client.post(f"/cycles/{cycle.id}/rule", data={"harm": "minutes", "adopt_if_pct": "3", "harm_tolerance_pct": "0",
                                                  "min_reps": "5", "reason": "Too ambitious"})
    page = text(client.get(f"/cycles/{cycle.id}"))
    assert "Rule changed after start" in page and "Too ambitious" in page and "at least 3%" in page


def test_a_coach_reads_and_comments_but_cannot_act(client, login, people, drill):
    learner, coach, _ = people
    login(learner)
    plan(client, drill)
    cycle = db.session.scalar(db.select(Cycle))
    client.post(f"/cycles/{cycle.id}/observations", data={"body": "Runbook took 2 minutes"})
    client.post("/logout")
    login(coach)
    page = text(client.get(f"/cycles/{cycle.id}"))
    assert "Runbook took 2 minutes" in page and "Study it now" not in page and "Change the rule" not in page
    assert "Faster triage" in text(client.get(f"/goals/{drill.goal_id}"))
    assert client.post(f"/cycles/{cycle.id}/comments", data={"comment-body": "Nice test"}).status_code == 303
    assert "Nice test" in text(client.get(f"/cycles/{cycle.id}"))
    for path in (f"/cycles/{cycle.id}/study", f"/cycles/{cycle.id}/observations", f"/cycles/{cycle.id}/rule",
                 f"/cycles/{cycle.id}/decision", f"/goals/{drill.goal_id}/cycles"):
        assert client.post(path, data={"body": "x"}).status_code == 404, path
    assert client.get(f"/goals/{drill.goal_id}/cycles/new").status_code == 404
    assert count(CycleNote) == 2


def test_strangers_get_404_everywhere(client, login, people, drill):
    learner, _, stranger = people
    login(learner)
    plan(client, drill)
    cycle = db.session.scalar(db.select(Cycle))
    client.post("/logout")
    login(stranger)
    for path in (f"/cycles/{cycle.id}", f"/cycles/{cycle.id}/rule", f"/goals/{drill.goal_id}/cycles/new"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/cycles/{cycle.id}/comments", data={"comment-body": "Hi"}).status_code == 404
    assert count(CycleNote) == 0
