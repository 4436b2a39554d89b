"""Lesson pages: full pages, fragments, 303 without JavaScript, 422 with the text kept, and privacy:
an unshared lesson or a private reflection is a 404 to a coach everywhere."""

import html
from datetime import UTC, datetime, timedelta

import pytest

from failforward.extensions import db
from failforward.lessons import services
from failforward.lessons.models import Lesson
from failforward.reflection import services as reflection_services
from tests.factories import field_error, link, log, make_drill, make_goal, text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
LESSON_FORM = {"happened_on": "2026-03-04", "what_failed": "Froze on the second alert", "context": "Pager drill",
               "what_tried": "Guessing", "try_next": "Read the runbook first", "system_tags": "Pager, pager ,handover",
               "root_cause_tags": "rushed", "metric_tags": "", "idempotency_key": "lesson-key-0001"}


@pytest.fixture
def people(app, clock, make_user, login):
    clock.set(NOW)
    learner, coach, stranger = make_user(name="Lee Learner"), make_user(name="Casey Coach"), make_user(name="Sam")
    link(coach, learner)
    return learner, coach, stranger


def save(learner, what_failed, shared=False, key=None, **fields):
    values = {"happened_on": NOW.date(), "context": "", "what_failed": what_failed, "what_tried": "",
              "try_next": "", "check_on": None, "shared": shared, **fields}
    return services.create_lesson(learner, values, {}, None, key or f"k-{what_failed[:20]}-{shared}")[0]


def test_the_pages_answer_for_the_learner(client, login, people):
    learner, _coach, _ = people
    made = save(learner, "A lesson")
    rep = log(learner, make_drill(make_goal(learner)), 12.0, note="Froze")
    login(learner)
    for url in ["/lessons", "/lessons/new", f"/lessons/new?rep={rep.id}", f"/lessons/{made.id}",
                f"/lessons/{made.id}/edit", f"/lessons/{made.id}/check", f"/lessons/{made.id}/delete",
                "/lessons/review", "/lessons/review?week=2026-02-23", "/lessons/review?week=garbage",
                "/lessons/month", "/lessons/month?month=2026-02", "/lessons/month?month=99999",
                "/setback", f"/setback?rep={rep.id}", "/reflections", "/reflections/prompts", "/recovery"]:
        assert client.get(url).status_code == 200, url
    assert "\nFroze</textarea>" in text(client.get(f"/lessons/new?rep={rep.id}"))


def test_creating_a_lesson_without_javascript_redirects_and_with_htmx_redirects_too(client, htmx_client, login,
                                                                                    people):
    learner, _, _ = people
    login(learner)
    response = client.post("/lessons", data=LESSON_FORM)
    assert response.status_code == 303
    made = db.session.scalar(db.select(Lesson))
    assert response.location == f"/lessons/{made.id}"
    assert [(t.kind, t.name) for t in made.tags] == [("root-cause", "rushed"), ("system", "handover"),
                                                     ("system", "pager")]
    assert made.check_on == (NOW + timedelta(days=30)).date() and not made.shared
    again = client.post("/lessons", data=LESSON_FORM)  # a double tap
    assert again.status_code == 303 and db.session.scalar(db.select(db.func.count()).select_from(Lesson)) == 1

    login(learner, htmx_client)
    response = htmx_client.post("/lessons", data={**LESSON_FORM, "idempotency_key": "lesson-key-0002"},
                                headers={"HX-Target": "lesson-form"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/lessons/")


@pytest.mark.parametrize("changes, field_id, message", [
    ({"what_failed": ""}, "what_failed", "Write what failed"),
    ({"what_failed": "x" * 2001}, "what_failed", "2000"),
    ({"what_tried": "bad\x00byte"}, "what_tried", "control characters"),
    ({"happened_on": "yesterday"}, "happened_on", "Enter the date"),
    ({"happened_on": "2099-01-01"}, "happened_on", "not in the future"),
    ({"check_on": "1999-01-01"}, "check_on", "from today"),
    ({"system_tags": ",".join(f"t{i}" for i in range(12))}, "system_tags", "at most 8"),
    ({"metric_tags": "a" * 41}, "metric_tags", "40 characters"),
    ({"root_cause_tags": "two\nlines"}, "root_cause_tags", "one line"),
])
def test_bad_input_gets_a_message_beside_the_field_and_keeps_the_text(client, htmx_client, login, people, changes,
                                                                     field_id, message):
    learner, _, _ = people
    login(learner)
    login(learner, htmx_client)
    data = {**LESSON_FORM, "context": "שלום 👩🏽‍💻 context", **changes}
    page = client.post("/lessons", data=data)
    fragment = htmx_client.post("/lessons", data=data, headers={"HX-Target": "lesson-form"})
    for response in (page, fragment):
        assert response.status_code == 422
        assert message in html.unescape(field_error(response, field_id))
        assert html.escape("שלום 👩🏽‍💻 context", quote=False) in text(response)
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert db.session.scalar(db.select(db.func.count()).select_from(Lesson)) == 0


def test_wrong_types_and_json_never_give_a_500(client, login, people):
    learner, _, _ = people
    made = save(learner, "A lesson")
    login(learner)
    for url in ["/lessons", f"/lessons/{made.id}", f"/lessons/{made.id}/check", f"/lessons/{made.id}/comments",
                "/reflections", "/recovery"]:
        assert client.post(url, json={"what_failed": ["x"], "answer": 3}).status_code < 500, url
        assert client.post(url, data={"happened_on": ["a", "b"], "source": "rep:abc"}).status_code < 500, url


def test_search_page_and_fragment_highlight_safely(client, htmx_client, login, people):
    learner, _, _ = people
    save(learner, "<b>Froze</b> on the pager alert")
    save(learner, "Forgot the handover")
    login(learner)
    login(learner, htmx_client)
    page = client.get("/lessons?q=pager")
    fragment = htmx_client.get("/lessons?q=pager", headers={"HX-Target": "lesson-results"})
    for response in (page, fragment):
        body = text(response)
        assert "<mark>pager</mark>" in body and "&lt;b&gt;Froze&lt;/b&gt;" in body and "<b>Froze" not in body
        assert "handover" not in body.split('id="lesson-results"')[1]
    assert text(fragment).lstrip().startswith('<div id="lesson-results"')
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    assert client.get("/lessons?q=" + "x" * 500).status_code == 200
    assert client.get("/lessons?q=%00%0a&status=nonsense&system=nope").status_code == 200


def test_the_check_is_answered_from_a_fragment_and_did_not_offers_a_follow_up(client, htmx_client, login, people,
                                                                            clock):
    learner, _, _ = people
    made = save(learner, "Froze", try_next="Runbook first")
    clock.set(NOW + timedelta(days=30))
    login(learner, htmx_client)
    prefix = f"check{made.id}"
    empty = htmx_client.post(f"/lessons/{made.id}/check", data={f"{prefix}-note": "It was ✨ busy"},
                             headers={"HX-Target": f"check-{made.id}"})
    assert empty.status_code == 422 and "Pick one answer" in text(empty) and "It was ✨ busy" in text(empty)
    answered = htmx_client.post(f"/lessons/{made.id}/check",
                                data={f"{prefix}-answer": "did-not", f"{prefix}-note": "Still froze",
                                      f"{prefix}-next": "/"}, headers={"HX-Target": f"check-{made.id}"})
    assert answered.status_code == 200 and f"/lessons/new?follow_up={made.id}" in text(answered)
    login(learner)
    assert f"follow_up={made.id}" in text(client.get(f"/lessons/{made.id}"))
    follow_up_form = text(client.get(f"/lessons/new?follow_up={made.id}"))
    assert f'value="follow_up:{made.id}"' in follow_up_form and "Runbook first" in follow_up_form


def test_not_tried_yet_without_javascript_goes_back_where_it_came_from(client, login, people, clock):
    learner, _, _ = people
    made = save(learner, "Froze")
    clock.set(NOW + timedelta(days=31))
    login(learner)
    prefix = f"check{made.id}"
    response = client.post(f"/lessons/{made.id}/check", data={f"{prefix}-answer": "not-yet", f"{prefix}-next": "/"})
    assert response.status_code == 303 and response.location == "/"
    hostile = client.post(f"/lessons/{made.id}/check",
                          data={f"{prefix}-answer": "not-yet", f"{prefix}-next": "//evil.example"})
    assert hostile.location == f"/lessons/{made.id}"
    assert services.due_checks(learner) == []


def test_the_home_include_lists_due_checks(app, client, login, people, clock):
    learner, _, _ = people
    made = save(learner, "Froze on the pager")
    clock.set(NOW + timedelta(days=30))
    login(learner)
    with app.test_request_context("/"):
        from flask import render_template
        from flask_login import login_user

        login_user(learner)
        rendered = render_template("lessons/_home_checks.html", checks=services.due_checks(learner))
    assert "Did what you planned to try work?" in rendered and f'id="check-{made.id}"' in rendered
    assert f'name="check{made.id}-answer"' in rendered


# --- privacy --------------------------------------------------------------------------------------

def test_an_unshared_lesson_is_a_404_to_the_coach_everywhere(client, htmx_client, login, people):
    learner, coach, stranger = people
    private = save(learner, "Private pager secret")
    shared = save(learner, "Shared pager lesson", shared=True)
    login(coach)
    login(coach, htmx_client)
    for url in [f"/lessons/{private.id}", f"/lessons/{private.id}/edit", f"/lessons/{private.id}/check",
                f"/lessons/{private.id}/delete"]:
        assert client.get(url).status_code == 404, url
        assert htmx_client.get(url, headers={"HX-Target": "main"}).status_code == 404, url
    for url in [f"/lessons/{private.id}/comments", f"/lessons/{private.id}/check", f"/lessons/{private.id}",
                f"/lessons/{private.id}/delete"]:
        assert client.post(url, data={"body": "hi"}).status_code == 404, url
    for response in (client.get(f"/learners/{learner.id}/lessons?q=pager"),
                     htmx_client.get(f"/learners/{learner.id}/lessons?q=pager",
                                     headers={"HX-Target": "lesson-results"})):
        assert response.status_code == 200
        assert "Private pager secret" not in text(response) and "Shared pager lesson" in text(response)
    assert client.get(f"/lessons/{shared.id}").status_code == 200
    assert client.get(f"/lessons/{shared.id}/edit").status_code == 404  # read-only for the coach
    assert client.post(f"/lessons/{shared.id}/comments", data={"body": "Try pairing."}).status_code == 303
    assert shared.comments[-1].body == "Try pairing."

    login(stranger)
    assert client.get(f"/lessons/{shared.id}").status_code == 404
    assert client.get(f"/learners/{learner.id}/lessons").status_code == 404
    fragment = {"HX-Request": "true", "HX-Target": "lesson-results"}
    assert client.get(f"/learners/{learner.id}/lessons?q=pager", headers=fragment).status_code == 404


def test_a_private_reflection_is_a_404_to_the_coach_until_shared(client, login, people):
    learner, coach, _ = people
    reflection = reflection_services.start_reflection(
        learner, {"situation": "plateau", "feeling": "numb", "intensity_before": 6,
                  "what_happened": "Private plateau words"}, "reflection-key-1")
    login(coach)
    for url in [f"/reflections/{reflection.id}", f"/reflections/{reflection.id}/reappraise"]:
        assert client.get(url).status_code == 404
    assert client.post(f"/reflections/{reflection.id}/share", data={"shared": "yes"}).status_code == 404
    assert "Private plateau words" not in text(client.get(f"/learners/{learner.id}/lessons"))
    login(learner)
    assert client.post(f"/reflections/{reflection.id}/share", data={"shared": "yes"}).status_code == 303
    login(coach)
    assert client.get(f"/reflections/{reflection.id}").status_code == 200
    assert "Private plateau words" in text(client.get(f"/learners/{learner.id}/lessons"))
    assert client.get(f"/reflections/{reflection.id}/reappraise").status_code == 404


def test_extra_fields_cannot_write_into_someone_elses_lesson(client, login, people):
    learner, _, stranger = people
    rep = log(stranger, make_drill(make_goal(stranger)), 3.0)
    login(learner)
    client.post("/lessons", data={**LESSON_FORM, "learner_id": str(stranger.id), "source": f"rep:{rep.id}",
                                  "status": "worked", "shared": ""})
    made = db.session.scalar(db.select(Lesson))
    assert (made.learner_id, made.rep_id, made.status, made.shared) == (learner.id, None, "open", False)


def test_page_queries_do_not_grow_with_the_number_of_lessons(app, client, login, people, clock):
    from tests.test_query_counts import counting_queries

    learner, _, _ = people

    def add(first: int, last: int) -> None:
        for i in range(first, last):
            made = save(learner, f"Pager lesson {i}", key=f"bulk-{i}", try_next="Runbook first",
                        happened_on=(NOW - timedelta(days=i % 20)).date())
            fields = {"happened_on": made.happened_on, "context": "", "what_failed": made.what_failed,
                      "what_tried": "", "try_next": "Runbook first", "check_on": None, "shared": False}
            services.update_lesson(made, fields, {"system": ["pager"], "root-cause": [f"cause {i % 3}"]})
            if i % 4 == 0:
                services.answer_check(made, "worked", "")

    def measure() -> dict[str, int]:
        counts = {}
        for url in ["/lessons", "/lessons?q=pager", "/lessons?q=pager&system=pager", "/lessons/review",
                    "/lessons/month", "/reflections"]:
            with counting_queries() as statements:
                assert client.get(url).status_code == 200
            counts[url] = len(statements)
        return counts

    login(learner)
    add(0, 5)
    small = measure()
    add(5, 60)
    assert measure() == small
