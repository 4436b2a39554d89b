"""Review pages: full pages and htmx, 303 without JavaScript, "add a row" keeps the text, 422 with the text kept,
the blameless notes beside the fields (advice, never a refusal), actions and their check, privacy (an unshared
review is a 404 to the coach, a stranger never sees one), and a review becoming a lesson."""

from datetime import UTC, date, datetime, timedelta

import pytest

from failforward.extensions import db
from failforward.lessons.models import Lesson
from failforward.reviews import services
from failforward.reviews.models import Review, ReviewAction
from tests.factories import count, field_error, input_value, link, log, make_drill, make_goal, text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
FORM = {"trigger": "Missed three pages on Tuesday", "scope": "Night on-call",
        "events-0-at": "2026-03-03T22:05", "events-0-what": "First page, no sound",
        "events-1-at": "2026-03-03T21:50", "events-1-what": "Phone on silent for the film",
        "factors-0-kind": "tools", "factors-0-what": "Pager app follows the silent switch",
        "factors-1-kind": "process", "factors-1-what": "No handover check before evenings",
        "counterfactual": "A test page at handover", "what_worked": "Backup called after 15 minutes",
        "assumptions": "A test page at handover catches silent phones\nA second device helps",
        "idempotency_key": "review-key-0001"}


@pytest.fixture
def people(app, clock, make_user):
    clock.set(NOW)
    learner, coach, stranger = make_user(name="Lee Learner"), make_user(name="Casey Coach"), make_user(name="Sam")
    link(coach, learner)
    return learner, coach, stranger


def saved(learner, shared=False, goal=None) -> Review:
    review, _ = services.create_review(learner, {"trigger": "Missed pages", "scope": "", "counterfactual": "",
                                                 "what_worked": "", "assumptions": "Test pages help",
                                                 "shared": shared},
                                       [(NOW - timedelta(hours=3), "Silent phone")],
                                       [("tools", "Silent switch"), ("process", "No handover")],
                                       ("goal-week", goal.id, date(2026, 2, 23)) if goal else None,
                                       f"saved-{shared}-{goal.id if goal else 0}")
    return review


def test_the_pages_answer_for_the_learner_and_start_filled_in(client, login, people):
    learner, _, _ = people
    rep = log(learner, make_drill(make_goal(learner)), 12.0, note="Froze on the second alert")
    review = saved(learner)
    action, _ = services.add_action(review, {"what": "Louder", "owner_id": learner.id, "due_on": None,
                                             "done_condition": "Seen", "verify_plan": "", "check_on": None}, "a-1")
    login(learner)
    for url in ["/reviews", "/reviews/new", f"/reviews/new?from=rep:{rep.id}", "/reviews/new?from=garbage",
                f"/reviews/new?from=goal-week:{rep.goal_id}:2026-02-23", "/reviews/new?from=goal-week:1:2026-02-31",
                "/reviews/new?from=followup:99999999999999", f"/reviews/{review.id}",
                f"/reviews/{review.id}/edit", f"/actions/{action.id}/check"]:
        assert client.get(url).status_code == 200, url
    page = text(client.get(f"/reviews/new?from=rep:{rep.id}"))
    assert input_value(client.get(f"/reviews/new?from=rep:{rep.id}"), "events-0-what") == "Froze on the second alert"
    assert f'value="rep:{rep.id}"' in page
    assert "the weekly target" in text(client.get(f"/reviews/new?from=goal-week:{rep.goal_id}:2026-02-23"))


def test_a_missed_rep_and_a_missed_week_offer_a_review_to_the_learner_only(client, login, people):
    """Issue 13: a review starts from a rep or a missed week; the learner finds the way in on the home page, the
    ledger and the goal's weekly figures, and the coach (who reads the goal) does not."""
    learner, coach, _ = people
    drill = make_drill(make_goal(learner))
    missed = log(learner, drill, 12.0, at=datetime(2026, 2, 24, 9, tzinfo=UTC))  # the week of 23 Feb: missed
    today = log(learner, drill, 12.0)
    hit = log(learner, drill, 4.0)
    login(learner)
    rep_links = {rep.id: f"/reviews/new?from=rep:{rep.id}\"" for rep in (missed, today, hit)}
    for url, offered in (("/", {today.id}), ("/ledger", {missed.id, today.id}),
                         (f"/goals/{drill.goal_id}", {missed.id, today.id})):
        page = text(client.get(url))
        assert {rep_id for rep_id, link in rep_links.items() if link in page} == offered, url
    goal_page = text(client.get(f"/goals/{drill.goal_id}"))
    week = f"/reviews/new?from=goal-week:{drill.goal_id}:2026-02-23"
    assert week in goal_page and goal_page.count("from=goal-week") == 1  # the week in progress is not judged yet
    assert "the weekly target" in text(client.get(week))
    login(coach)
    coach_page = text(client.get(f"/goals/{drill.goal_id}"))
    assert "/reviews/new" not in coach_page


def test_saving_without_javascript_redirects_and_the_timeline_is_in_time_order(client, htmx_client, login, people):
    learner, _, _ = people
    login(learner)
    response = client.post("/reviews", data=FORM)
    assert response.status_code == 303 and response.location.startswith("/reviews/")
    review = db.session.scalar(db.select(Review))
    assert [e.what for e in review.events] == ["Phone on silent for the film", "First page, no sound"]
    assert [(f.kind, f.what[:9]) for f in review.factors] == [("tools", "Pager app"), ("process", "No handov")]
    assert review.events[0].at == datetime(2026, 3, 3, 21, 50, tzinfo=UTC)
    page = text(client.get(response.location))
    assert page.index("21:50") < page.index("22:05")
    assert client.post("/reviews", data=FORM).status_code == 303 and count(Review) == 1  # a double tap

    login(learner, htmx_client)
    again = htmx_client.post("/reviews", data={**FORM, "idempotency_key": "review-key-0002"},
                             headers={"HX-Target": "review-form"})
    assert again.status_code == 204 and again.headers["HX-Redirect"].startswith("/reviews/")


def test_times_are_read_in_the_learners_zone(client, login, make_user, clock):
    clock.set(NOW)
    tokyo = make_user(timezone="Asia/Tokyo")
    login(tokyo)
    client.post("/reviews", data=FORM)
    review = db.session.scalar(db.select(Review))
    assert review.events[0].at == datetime(2026, 3, 3, 12, 50, tzinfo=UTC)  # 21:50 in Tokyo
    assert "Tue 3 Mar, 21:50" in text(client.get(f"/reviews/{review.id}"))
    assert input_value(client.get(f"/reviews/{review.id}/edit"), "events-0-at") == "2026-03-03T21:50"


def test_add_a_row_keeps_the_text_and_offers_more_rows_without_saving(client, login, people):
    learner, _, _ = people
    login(learner)
    response = client.post("/reviews", data={**FORM, "more_rows": "1"})
    assert response.status_code == 200 and count(Review) == 0
    assert input_value(response, "events-1-what") == "Phone on silent for the film"
    assert input_value(response, "events-4-what") in ("", None)  # two filled, three empty
    assert "Missed three pages on Tuesday" in text(response)
    assert "<html" in text(response)  # without JavaScript: the whole page


def test_with_htmx_add_a_row_and_errors_swap_the_form_alone(htmx_client, login, people):
    learner, _, _ = people
    login(learner, htmx_client)
    for data, status in (({**FORM, "more_rows": "1"}, 200), ({**FORM, "trigger": ""}, 422)):
        response = htmx_client.post("/reviews", data=data, headers={"HX-Target": "review-form"})
        assert response.status_code == status and text(response).lstrip().startswith("<form id=\"review-form\"")
        assert input_value(response, "events-1-what") == "Phone on silent for the film"


@pytest.mark.parametrize(("changes", "field_id", "message"), [
    ({"trigger": ""}, "trigger", "Write why you are writing"),
    ({"trigger": "x" * 2001}, "trigger", "2000"),
    ({"events-0-at": "yesterday"}, "events-0-at", "Enter the date and time"),
    ({"events-0-at": "2036-03-03T22:05"}, "events-0-at", "not in the future"),
    ({"events-0-at": ""}, "events-0-what", "Add the time"),
    ({"factors-0-kind": ""}, "factors-0-what", "Pick the kind"),
    ({"factors-0-kind": "blame"}, "factors-0-kind", "Not a valid choice"),
    ({"counterfactual": "a\x00b"}, "counterfactual", "control characters"),
])
def test_bad_input_gets_a_message_beside_the_field_and_keeps_the_text(client, login, people, changes, field_id,
                                                                     message):
    learner, _, _ = people
    login(learner)
    response = client.post("/reviews", data={**FORM, **changes})
    assert response.status_code == 422 and count(Review) == 0
    assert message in field_error(response, field_id)
    assert input_value(response, "events-1-what") == "Phone on silent for the film"


def test_blaming_words_are_saved_with_a_note_beside_the_field(client, login, people):
    learner, _, _ = people
    login(learner)
    response = client.post("/reviews", data={**FORM, "trigger": "Who muted the phone? I should have checked",
                                             "factors-1-kind": "", "factors-1-what": ""})
    review = db.session.scalar(db.select(Review))
    assert response.status_code == 303 and response.location == f"/reviews/{review.id}/edit"
    page = text(client.get(response.location))
    assert "“Who” looks for a person" in page and "“Should have” is hindsight" in page
    assert services.ONE_FACTOR in page
    assert "See the notes beside the fields" in text(client.get(f"/reviews/{review.id}"))


def test_while_writing_the_notes_come_beside_each_field_and_nothing_is_saved(client, htmx_client, login, people):
    """Issue 13: the gentle check runs while the person writes (htmx, a second after they stop typing), not only on
    save: each field's notes are swapped in beside it, a single factor is questioned, and nothing is saved."""
    login(people[0])
    login(people[0], htmx_client)
    headers = {"HX-Target": "wording-check"}
    typed = {"trigger": "I should have checked the volume", "factors-0-kind": "tools",
             "factors-0-what": "Silent switch", "factors-1-what": "half a thought"}
    response = htmx_client.post("/reviews/wording", data=typed, headers=headers)
    page = text(response)
    assert response.status_code == 200 and "<form" not in page
    assert 'id="notes-trigger" class="field-notes" hx-swap-oob="true"' in page and "is hindsight" in page
    assert services.ONE_FACTOR in page and page.count("hx-swap-oob") == len(services.TEXT_FIELDS)
    calm = text(htmx_client.post("/reviews/wording", data={**typed, "trigger": "The pager was quiet",
                                                           "factors-1-kind": "process"}, headers=headers))
    assert 'role="note"' not in calm  # the notes go away once the wording changes
    assert count(Review) == 0
    assert 'hx-post="/reviews/wording"' in text(client.get("/reviews/new"))


def test_an_unshared_review_is_a_404_to_the_coach_and_a_shared_one_takes_comments(client, login, people):
    learner, coach, stranger = people
    review = saved(learner)
    login(coach)
    for url in [f"/reviews/{review.id}", f"/reviews/{review.id}/edit"]:
        assert client.get(url).status_code == 404
    assert f"/reviews/{review.id}" not in text(client.get(f"/learners/{learner.id}/lessons"))
    assert client.post(f"/reviews/{review.id}/comments", data={"body": "Hi"}).status_code == 404
    services.set_shared(review, True)
    page = text(client.get(f"/reviews/{review.id}"))
    assert "Missed pages" in page and "Lee Learner" in page and "Add a fix" not in page
    assert client.get(f"/reviews/{review.id}/edit").status_code == 404
    assert f"/reviews/{review.id}" in text(client.get(f"/learners/{learner.id}/lessons"))
    assert client.post(f"/reviews/{review.id}/comments", data={"body": "Good timeline"}).status_code == 303
    assert client.post(f"/reviews/{review.id}/comments", data={"body": ""}).status_code == 422
    login(stranger)
    assert client.get(f"/reviews/{review.id}").status_code == 404
    login(learner)
    assert "Good timeline" in text(client.get(f"/reviews/{review.id}"))


def test_actions_are_added_owned_marked_done_and_verified(client, login, people, clock):
    learner, coach, stranger = people
    review = saved(learner)
    login(learner)
    action_form = {"what": "Test page at handover", "owner_id": str(coach.id), "done_condition": "On the checklist",
                   "verify_plan": "No missed page in two weeks", "idempotency_key": "action-key-0001"}
    bad = client.post(f"/reviews/{review.id}/actions", data={**action_form, "done_condition": "",
                                                             "due_on": "2020-01-01"})
    assert bad.status_code == 422 and "Write what you will see" in field_error(bad, "done_condition")
    assert "today to a year ahead" in field_error(bad, "due_on") and "Test page at handover" in text(bad)
    far = client.post(f"/reviews/{review.id}/actions", data={**action_form, "due_on": "9999-12-31",
                                                             "check_on": "9999-12-31"})
    assert far.status_code == 422 and "today to a year ahead" in field_error(far, "due_on")
    assert client.post(f"/reviews/{review.id}/actions", data={**action_form, "owner_id": str(stranger.id)}
                       ).status_code == 422
    assert client.post(f"/reviews/{review.id}/actions", data=action_form).status_code == 303
    action = db.session.scalar(db.select(ReviewAction))
    assert (action.owner_id, action.due_on, action.check_on) == (coach.id, date(2026, 4, 3), date(2026, 4, 17))

    refused = client.post(f"/actions/{action.id}/status", data={f"a{action.id}-status": "verified"})
    assert refused.status_code == 422 and "Write the evidence" in text(refused)
    assert client.post(f"/actions/{action.id}/status", data={f"a{action.id}-status": "done"}).status_code == 303
    clock.set(datetime(2026, 4, 17, 9, 0, tzinfo=UTC))
    login(learner)  # six weeks on: signed in again
    assert "Did the fix work? Test page at handover" in text(client.get("/"))
    response = client.post(f"/actions/{action.id}/check", data={"answer": "worked", "note": "No missed page"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (action.status, action.evidence) == ("verified", "No missed page")
    login(coach)  # the coach owns it, but the review is private
    assert client.post(f"/actions/{action.id}/status", data={f"a{action.id}-status": "open"}).status_code == 404
    services.set_shared(review, True)
    assert client.post(f"/actions/{action.id}/status", data={f"a{action.id}-status": "open"}).status_code == 303
    assert client.get(f"/actions/{action.id}/check").status_code == 404  # the check is the learner's
    login(stranger)
    assert client.post(f"/actions/{action.id}/status", data={f"a{action.id}-status": "done"}).status_code == 404
    db.session.expire_all()
    assert action.status == "open"


def test_the_home_page_lists_due_fixes_for_the_owner(client, login, people, clock):
    learner, coach, _ = people
    review = saved(learner)
    services.add_action(review, {"what": "Coach checks the runbook", "owner_id": coach.id, "due_on": date(2026, 3, 6),
                                 "done_condition": "Seen", "verify_plan": "", "check_on": None}, "a-coach")
    login(coach)
    assert "Coach checks the runbook" in text(client.get("/")) and "for Lee Learner" in text(client.get("/"))
    login(learner)
    assert "Coach checks the runbook" not in text(client.get("/"))


def test_a_review_becomes_a_lesson_that_links_back(client, login, people):
    learner, _, _ = people
    review = saved(learner, goal=make_goal(learner))
    login(learner)
    page = text(client.get(f"/reviews/{review.id}"))
    assert f"/lessons/new?review={review.id}" in page and f"/goals/{review.goal_id}/cycles/new?change=" in page
    form = client.get(f"/lessons/new?review={review.id}")
    assert "Missed pages</textarea>" in text(form) and input_value(form, "source") == f"review:{review.id}"
    response = client.post("/lessons", data={"happened_on": "2026-03-04", "what_failed": "Missed pages",
                                             "source": f"review:{review.id}", "idempotency_key": "lesson-from-rv1"})
    lesson = db.session.scalar(db.select(Lesson))
    assert response.status_code == 303 and lesson.review_id == review.id
    assert f"/reviews/{review.id}" in text(client.get(f"/lessons/{lesson.id}"))


def test_a_review_without_a_goal_offers_each_active_goal_for_its_cycle(client, login, people):
    learner, _, _ = people
    first, second = make_goal(learner, title="Answer pages"), make_goal(learner, title="Sleep")
    review = saved(learner)
    login(learner)
    page = text(client.get(f"/reviews/{review.id}"))
    assert f"/goals/{first.id}/cycles/new?change=Test" in page and f"/goals/{second.id}/cycles/new" in page


def test_the_coachs_queue_lists_the_fixes_they_own_linked_once_the_review_is_shared(client, login, people):
    learner, coach, stranger = people
    review = saved(learner)
    services.add_action(review, {"what": "Coach sends the guide", "owner_id": coach.id, "due_on": date(2026, 3, 20),
                                 "done_condition": "Sent", "verify_plan": "", "check_on": None}, "a-queue")
    login(coach)
    page = text(client.get("/queue"))
    assert "Fixes you own" in page and "Coach sends the guide" in page and "(the review is private)" in page
    services.set_shared(review, True)
    assert f'href="/reviews/{review.id}#action-' in text(client.get("/queue"))
    login(stranger)
    assert "Coach sends the guide" not in text(client.get("/queue"))
