"""Feedback pages: asking, the coach's queue with inline answers (htmx and plain), the thread, latency, 404s."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.feedback import services
from failforward.feedback.models import FeedbackMessage, FeedbackRequest
from failforward.web import duration
from tests.factories import count, field_error, link, log, make_drill, make_goal, text, without_csrf_token

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(START)


@pytest.fixture
def feedback(learner, drill, the_link):
    return services.ask(learner, log(learner, drill, 4.0, note="Froze on the second page"), "Too slow?")


def browser_for(app, login, user):
    browser = app.test_client()
    login(user, browser)
    return browser


def htmx_browser_for(htmx_client, login, user):
    login(user, htmx_client)
    return htmx_client


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


# --- asking -------------------------------------------------------------------------------------

def test_asking_for_feedback_from_the_ledger(client, login, learner, drill, the_link):
    rep = log(learner, drill, 4.0, at=at(-2))
    login(learner)
    assert f'href="/reps/{rep.id}/feedback/new"' in text(client.get("/ledger"))
    page = client.get(f"/reps/{rep.id}/feedback/new")
    assert page.status_code == 200 and "Send to my coach" in text(page)

    response = client.post(f"/reps/{rep.id}/feedback", data={"question": "Was the order right? 🤔"})
    feedback = db.session.scalars(db.select(FeedbackRequest)).one()
    assert response.status_code == 303 and response.headers["Location"] == f"/feedback/{feedback.id}"
    assert (feedback.question, feedback.due_at) == ("Was the order right? 🤔", at(22))
    shown = text(client.get(f"/feedback/{feedback.id}"))
    assert "Was the order right? 🤔" in shown and "No answer yet." in shown and "Sent to your coach." in shown
    ledger = text(client.get("/ledger"))
    assert "Feedback asked for under a minute ago" in ledger
    assert "Asked under a minute ago, 2 hours after your practice; no answer yet" in shown
    assert f'href="/reps/{rep.id}/feedback/new"' not in ledger


def test_asking_without_a_coach_says_so_beside_the_question(client, login, learner, drill):
    rep = log(learner, drill, 4.0)
    login(learner)
    response = client.post(f"/reps/{rep.id}/feedback", data={"question": "Anyone there? 👋"})
    assert response.status_code == 422
    assert "You have no coach yet" in field_error(response, "question")
    assert "Anyone there? 👋" in text(response)
    assert count(FeedbackRequest) == 0


@pytest.mark.parametrize(("question", "message"), [
    ("q" * 10_000, "Field cannot be longer than 2000 characters."),
    ("bell\x07", "Remove the invisible control characters"),
])
def test_a_bad_question_gets_a_message(client, login, learner, drill, the_link, question, message):
    rep = log(learner, drill, 4.0)
    login(learner)
    response = client.post(f"/reps/{rep.id}/feedback", data={"question": question})
    assert response.status_code == 422
    assert message in field_error(response, "question")
    assert count(FeedbackRequest) == 0


def test_other_reps_of_the_session_are_offered_in_the_learners_time(client, login, make_user, coach):
    learner = make_user(timezone="Europe/Berlin")
    link(coach, learner)
    drill = make_drill(make_goal(learner))
    first = log(learner, drill, 6.0, at=at(-1))  # 09:00 in Berlin
    rep = log(learner, drill, 4.0)
    login(learner)
    page = text(client.get(f"/reps/{rep.id}/feedback/new"))
    assert "6 at 09:00" in page
    response = client.post(f"/reps/{rep.id}/feedback", data={"question": "", "extra_reps": [str(first.id)]})
    assert response.status_code == 303
    assert db.session.scalars(db.select(FeedbackRequest)).one().reps == [first, rep]


# --- the coach's queue --------------------------------------------------------------------------

def test_the_queue_lists_requests_from_all_learners_nearest_due_first(app, login, clock, make_user, coach, learner,
                                                                      drill, the_link):
    second = make_user(name="Ana Second")
    link(coach, second, feedback_due_hours=4)
    overdue = services.ask(learner, log(learner, drill, 9.0, at=at(-30)), "Old one")
    soon = services.ask(second, log(second, make_drill(make_goal(second), name="Her drill"), 4.0), "Quick")
    later = services.ask(learner, log(learner, drill, 4.0), "Newer one")
    browser = browser_for(app, login, coach)
    page = browser.get("/queue")
    assert page.status_code == 200
    body = text(page)
    order = [int(n) for n in re.findall(r'<li id="request-(\d+)"', body)]
    assert order == [overdue.id, soon.id, later.id]
    assert "3 waiting, 1 overdue, nearest due first." in body
    first_item = body[body.index(f'id="request-{overdue.id}"'):body.index(f'id="request-{soon.id}"')]
    assert "overdue" in first_item and "Lee Learner" in first_item and "Old one" in first_item
    assert "overdue" not in body[body.index(f'id="request-{soon.id}"'):body.index(f'id="request-{later.id}"')]
    assert "Ana Second · Her drill" in body
    assert "last 2: 9, 4" in body  # the learner's recent trend on the drill
    assert f'hx-post="/feedback/{later.id}/answer"' in body


def test_a_long_queue_comes_twenty_at_a_time_nearest_due_first(app, login, coach, learner, drill, the_link):
    asked = [services.ask(learner, log(learner, drill, 4.0, at=at(-hours / 2)), "") for hours in range(23)]
    nearest_first = [r.id for r in reversed(asked)]
    browser = browser_for(app, login, coach)
    first = text(browser.get("/queue"))
    assert [int(n) for n in re.findall(r'<li id="request-(\d+)"', first)] == nearest_first[:20]
    assert "23 waiting, nearest due first. Showing 1–20." in first
    assert 'href="/queue?page=2">Due later</a>' in first and "Due sooner" not in first
    second = text(browser.get("/queue?page=2"))
    assert [int(n) for n in re.findall(r'<li id="request-(\d+)"', second)] == nearest_first[20:]
    assert "Showing 21–23." in second and 'href="/queue?page=1">Due sooner</a>' in second
    assert "Due later" not in second
    # Past the end: the last page.
    assert without_csrf_token(text(browser.get("/queue?page=99"))) == without_csrf_token(second)


def test_the_queue_filters_by_learner_with_a_plain_get_form(app, login, make_user, coach, learner, drill, the_link):
    second = make_user(name="Ana Second")
    link(coach, second)
    hers = services.ask(second, log(second, make_drill(make_goal(second), name="Her drill"), 4.0), "Hers")
    mine = services.ask(learner, log(learner, drill, 4.0), "Mine")
    browser = browser_for(app, login, coach)
    everyone = text(browser.get("/queue"))
    assert '<form method="get" action="/queue"' in everyone and '<option value="">Everyone</option>' in everyone
    assert f'<option value="{second.id}">Ana Second</option>' in everyone
    assert f'id="request-{hers.id}"' in everyone and f'id="request-{mine.id}"' in everyone

    page = text(browser.get(f"/queue?learner={second.id}"))
    assert f'id="request-{hers.id}"' in page and f'id="request-{mine.id}"' not in page
    assert "1 waiting from Ana Second, nearest due first." in page
    assert f'<option value="{second.id}" selected>Ana Second</option>' in page
    assert f'hx-post="/feedback/{hers.id}/answer?learner={second.id}"' in page  # answering keeps the filter
    assert 'href="/queue">Everyone</a>' in page  # back to every learner's requests


def test_answering_from_a_filtered_queue_returns_to_it(client, login, coach, learner, feedback):
    login(coach)
    response = client.post(f"/feedback/{feedback.id}/answer?learner={learner.id}", data={"body": "Good."})
    assert response.status_code == 303 and response.headers["Location"] == f"/queue?learner={learner.id}"
    page = text(client.get(response.headers["Location"]))
    assert "Nothing waiting from Lee Learner." in page and 'href="/queue">Show everyone' in page


def test_a_filtered_queue_pages_within_the_learner(app, login, coach, learner, drill, the_link):
    for hours in range(21):
        services.ask(learner, log(learner, drill, 4.0, at=at(-hours / 2)), "")
    page = text(browser_for(app, login, coach).get(f"/queue?learner={learner.id}"))
    assert "21 waiting from Lee Learner, nearest due first. Showing 1–20." in page
    assert f'href="/queue?learner={learner.id}&amp;page=2">Due later</a>' in page


def test_filtering_by_someone_the_coach_does_not_coach_is_404(app, login, make_user, coach, learner, the_link):
    stranger = make_user(name="Sam Stranger")
    browser = browser_for(app, login, coach)
    assert browser.get(f"/queue?learner={stranger.id}").status_code == 404
    assert browser.get("/queue?learner=99999999999999999999").status_code == 404
    assert browser.get("/queue?learner=abc").status_code == 200  # not an id: no filter


def test_the_queue_offers_the_newest_open_invite_link_to_copy(app, login, coach, learner, the_link):
    browser = browser_for(app, login, coach)
    page = text(browser.get("/queue"))
    assert 'href="/coaching#invites">Create an invite link</a>' in page and "data-copy" not in page
    coaching.create_invite(coach, "named@example.com")  # meant for one person: not offered to copy here
    assert "data-copy" not in text(browser.get("/queue"))
    invite = coaching.create_invite(coach, None)
    page = text(browser.get("/queue"))
    field = re.search(r'<input id="queue-invite-link" class="copy-field" type="text" readonly '
                      r'value="([^"]+)" data-copy>', page)
    # The same invite (its signature carries the second it was drawn in).
    assert field and field.group(1).rsplit(".", 2)[0] == coaching.invite_url(invite).rsplit(".", 2)[0]
    assert page.index("queue-invite-link") < page.index("latency-heading")  # near the top, before the figures


def test_answering_inline_with_htmx_replaces_the_item_and_empties_the_queue(htmx_client, login, clock, coach,
                                                                            feedback):
    browser = htmx_browser_for(htmx_client, login, coach)
    clock.set(at(3))
    response = browser.post(f"/feedback/{feedback.id}/answer", data={"body": "Page the owner first."},
                            headers={"HX-Target": f"request-{feedback.id}"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith(f'<li id="request-{feedback.id}" class="card request request--done"')
    assert "Feedback sent to Lee Learner (3 hours after the practice)." in body
    assert "<html" not in body
    queue = text(browser.get("/queue", headers={"HX-Request": "", "HX-Target": ""}))
    assert f'id="request-{feedback.id}"' not in queue and "Nothing waiting." in queue
    assert "Feedback sent to" not in queue  # the item said so in place; no stale message later


def test_answering_with_a_plain_post_answers_303(client, login, coach, feedback):
    login(coach)
    response = client.post(f"/feedback/{feedback.id}/answer", data={"body": "Page the owner first."})
    assert response.status_code == 303 and response.headers["Location"] == "/queue"
    queue = text(client.get("/queue"))
    assert "Feedback sent to Lee Learner." in queue and f'id="request-{feedback.id}"' not in queue


def test_an_empty_answer_keeps_the_item_with_a_message(client, htmx_client, login, coach, feedback):
    browser = htmx_browser_for(htmx_client, login, coach)
    response = browser.post(f"/feedback/{feedback.id}/answer", data={"body": "  "},
                            headers={"HX-Target": f"request-{feedback.id}"})
    assert response.status_code == 422
    assert text(response).lstrip().startswith(f'<li id="request-{feedback.id}"')
    assert "Write your feedback." in text(response)
    login(coach)
    response = client.post(f"/feedback/{feedback.id}/answer", data={"body": ""})
    assert response.status_code == 422 and "Write your feedback." in field_error(response, "body")
    long = client.post(f"/feedback/{feedback.id}/answer", data={"body": "b" * 10_000})
    assert long.status_code == 422 and "cannot be longer than 5000" in field_error(long, "body")
    assert count(FeedbackMessage) == 0


def test_the_learner_sees_the_answer_on_the_request_and_under_the_rep(app, login, clock, coach, learner, feedback):
    clock.set(at(5))
    services.answer(coach, feedback, "Acknowledge within a minute, then triage.")
    browser = browser_for(app, login, learner)
    page = text(browser.get(f"/feedback/{feedback.id}"))
    assert "Acknowledge within a minute, then triage." in page and "Casey Coach" in page
    assert "Answered 5 hours after your practice, 5 hours after you asked" in page
    ledger = text(browser.get("/ledger"))
    row = ledger[ledger.index(f'id="rep-{feedback.rep_id}"'):]
    row = row[:row.index("</li>")]
    assert "Feedback 5 hours after the practice" in row
    assert "Acknowledge within a minute, then triage." in row
    assert "Acknowledge within a minute, then triage." in text(browser.get("/feedback"))


def test_helpful_and_follow_up(app, login, clock, coach, learner, feedback):
    clock.set(at(2))
    services.answer(coach, feedback, "Use the checklist.")
    browser = browser_for(app, login, learner)
    response = browser.post(f"/feedback/{feedback.id}/helpful", data={"helpful": "yes"})
    assert response.status_code == 303 and response.headers["Location"] == f"/feedback/{feedback.id}"
    assert "You said: helpful." in text(browser.get(f"/feedback/{feedback.id}"))
    assert browser.post(f"/feedback/{feedback.id}/helpful", data={"helpful": "maybe"}).status_code == 422

    clock.set(at(30))
    empty = browser.post(f"/feedback/{feedback.id}/follow-up", data={"body": ""})
    assert empty.status_code == 422 and "Write your follow-up question." in field_error(empty, "body")
    assert browser.post(f"/feedback/{feedback.id}/follow-up", data={"body": "Which checklist?"}).status_code == 303

    coach_browser = browser_for(app, login, coach)
    queue = text(coach_browser.get("/queue"))
    assert f'id="request-{feedback.id}"' in queue and "follow-up" in queue and "Which checklist?" in queue
    page = text(browser.get(f"/feedback/{feedback.id}"))
    assert "Answered 2 hours after your practice, 2 hours after you asked" in page
    assert "Answered 2 hours after your practice" in text(browser.get("/feedback"))


def test_latency_figures_for_the_learner_and_per_learner_for_the_coach(app, login, clock, make_user, coach, learner,
                                                                      drill, the_link):
    for day, hours in enumerate((2, 4, 30)):
        clock.set(at(day * 24))
        request = services.ask(learner, log(learner, drill, 4.0), "")
        clock.set(at(day * 24 + hours))
        services.answer(coach, request, "ok")
    clock.set(at(72))
    services.ask(learner, log(learner, drill, 4.0), "")  # unanswered
    quiet = make_user(name="Quinn Quiet")
    link(coach, quiet)

    clock.set(at(73))
    mine = text(browser_for(app, login, learner).get("/feedback"))
    assert "<dt>Median</dt><dd>3 hours</dd>" in mine  # 1, 2, 4, 30 hours
    assert "<dt>Answered late</dt><dd>1 of 4</dd>" in mine
    assert "Asked 1 hour ago, 1 hour after your practice; no answer yet" in mine

    clock.set(at(72 + 50))  # the open request has waited 50 hours: it now counts as late, and slow
    mine = text(browser_for(app, login, learner).get("/feedback"))
    assert "<dt>Median</dt><dd>17 hours</dd>" in mine and "<dt>Answered late</dt><dd>2 of 4</dd>" in mine
    assert '<span class="badge badge--miss">overdue</span>' in mine

    queue = text(browser_for(app, login, coach).get("/queue"))
    row = queue[queue.index("Lee Learner</a></td>"):]
    assert re.match(r"Lee Learner</a></td>\s*<td>17 hours</td><td>[^<]+</td>\s*<td>2 of 4</td>", row)
    assert "no requests" in queue[queue.index("Quinn Quiet"):]


def test_the_queue_shows_the_coachs_own_latency_not_another_coachs(app, login, clock, make_user, coach, learner,
                                                                    drill, the_link):
    other_coach = make_user(name="Olu Other")
    link(other_coach, learner)
    for day, (who, hours) in enumerate(((other_coach, 1), (coach, 20), (other_coach, 2))):
        clock.set(at(day * 24))
        request = services.ask(learner, log(learner, drill, 4.0), "")
        clock.set(at(day * 24 + hours))
        services.answer(who, request, "ok")
    clock.set(at(80))
    queue = text(browser_for(app, login, coach).get("/queue"))
    row = queue[queue.index("Lee Learner</a></td>"):]
    assert re.match(r"Lee Learner</a></td>\s*<td>20 hours</td><td>20 hours</td>\s*<td>0 of 1</td>", row)


# --- who may see what ---------------------------------------------------------------------------

def test_a_coach_whose_link_ended_gets_404_at_once(app, login, coach, learner, the_link, feedback):
    browser = browser_for(app, login, coach)
    assert browser.get(f"/feedback/{feedback.id}").status_code == 200
    coaching.end_link(learner, the_link)
    assert browser.get(f"/feedback/{feedback.id}").status_code == 404
    assert browser.post(f"/feedback/{feedback.id}/answer", data={"body": "Too late"}).status_code == 404
    assert f"request-{feedback.id}" not in text(browser.get("/queue"))
    assert count(FeedbackMessage) == 0


@pytest.mark.parametrize("who", ["another learner", "an unlinked coach"])
def test_strangers_get_404_on_a_request_and_its_posts(app, login, make_user, learner, feedback, who):
    stranger = make_user()
    if who == "an unlinked coach":
        link(stranger, make_user())
    browser = browser_for(app, login, stranger)
    for method, url, data in (
        ("get", f"/feedback/{feedback.id}", {}),
        ("post", f"/feedback/{feedback.id}/answer", {"body": "Hi"}),
        ("post", f"/feedback/{feedback.id}/follow-up", {"body": "Hi"}),
        ("post", f"/feedback/{feedback.id}/helpful", {"helpful": "no"}),
        ("get", f"/reps/{feedback.rep_id}/feedback/new", {}),
        ("post", f"/reps/{feedback.rep_id}/feedback", {"question": "Hi"}),
    ):
        response = getattr(browser, method)(url, data=data)
        assert response.status_code == 404, (method, url)
        assert "Too slow?" not in text(response)
    assert f"request-{feedback.id}" not in text(browser.get("/queue"))
    assert count(FeedbackMessage) == 0 and feedback.helpful is None


def test_the_coach_cannot_follow_up_rate_or_ask_for_the_learner(app, login, coach, feedback):
    browser = browser_for(app, login, coach)
    assert browser.post(f"/feedback/{feedback.id}/follow-up", data={"body": "Hi"}).status_code == 404
    assert browser.post(f"/feedback/{feedback.id}/helpful", data={"helpful": "yes"}).status_code == 404
    assert browser.get(f"/reps/{feedback.rep_id}/feedback/new").status_code == 404
    assert count(FeedbackMessage) == 0


def test_the_learner_cannot_answer_their_own_request(app, login, learner, feedback):
    browser = browser_for(app, login, learner)
    assert browser.post(f"/feedback/{feedback.id}/answer", data={"body": "Great job, me"}).status_code == 404
    assert count(FeedbackMessage) == 0


@pytest.mark.parametrize(("hours", "said"), [
    (0.001, "under a minute"), (1 / 60, "1 minute"), (0.5, "30 minutes"), (1, "1 hour"), (2.5, "2 hours 30 minutes"),
    (2 + 1 / 60, "2 hours 1 minute"), (3, "3 hours"), (17.4, "17 hours"), (47, "47 hours"), (100, "4 days"),
])
def test_durations_read_as_people_say_them(hours, said):
    assert duration(hours) == said


def test_an_answer_after_the_due_time_is_marked_late_on_the_learners_side(app, login, clock, coach, learner,
                                                                        feedback):
    """Issue 11: "Asked today, answered after 100.0 h" read as a contradiction, and a late answer looked on time."""
    clock.set(at(100))
    services.answer(coach, feedback, "Sorry for the wait.")
    page = text(browser_for(app, login, learner).get(f"/feedback/{feedback.id}"))
    assert "Answered 4 days after your practice, 4 days after you asked" in page
    assert '<span class="badge badge--miss">late</span>' in page
