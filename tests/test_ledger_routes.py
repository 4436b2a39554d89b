"""Ledger pages: quick logging (htmx and plain), bad input, editing within 24 hours, the weekly ledger, 404s."""

import html
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.goals import services as goals
from failforward.ledger import services
from failforward.ledger.models import Rep
from tests.factories import count, field_error, input_value, link, log, make_drill, make_goal, text

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(MONDAY)


@pytest.fixture
def goal(learner):
    return make_goal(learner)  # lower is better: baseline 10 min, target 5 min, median over 2 weeks


@pytest.fixture
def drill(goal):
    return make_drill(goal)


def rep_form(drill, **fields) -> dict:
    return {"drill_id": str(drill.id), "value": "4", "idempotency_key": f"key-{next(_keys):08d}", **fields}


def the_rep() -> Rep:
    return db.session.scalars(db.select(Rep)).one()


# --- quick logging ------------------------------------------------------------------------------

def test_the_home_page_offers_the_last_used_drill_with_a_numeric_keyboard(client, login, learner, goal, drill):
    second = make_drill(goal, name="Another drill")
    log(learner, drill, 4.0)
    login(learner)
    home = client.get("/")
    body = text(home)
    assert "Log a rep" in body
    assert checked_drill(home) == drill.id
    assert 'inputmode="decimal"' in body
    assert f'value="{second.id}"' in body


def checked_drill(response) -> int | None:
    """The drill whose radio button is preselected on the quick-log card."""
    for tag in re.findall(r"<input\b[^>]*>", text(response)):
        if 'name="drill_id"' in tag and "checked" in tag:
            return int(re.search(r'value="(\d+)"', tag).group(1))
    return None


def test_a_drill_that_cannot_be_logged_any_more_is_not_preselected(client, login, learner, goal, drill):
    second = make_drill(goal, name="A second drill")
    log(learner, drill, 4.0)
    goals.set_archived(drill, True)
    login(learner)
    assert checked_drill(client.get("/")) == second.id
    assert checked_drill(client.get(f"/log?drill={drill.id}")) == second.id
    assert checked_drill(client.get(f"/log?drill={second.id}")) == second.id


def test_a_plain_post_saves_the_rep_and_answers_303(client, login, learner, drill):
    login(learner)
    response = client.post("/reps", data=rep_form(drill, value="4", duration_minutes="12", note="Calm"))
    assert response.status_code == 303 and response.headers["Location"] == "/"
    rep = the_rep()
    assert (rep.value, rep.duration_minutes, rep.note, rep.outcome, rep.performed_at) == (4.0, 12, "Calm", "hit",
                                                                                      MONDAY)
    home = text(client.get("/"))
    assert "Saved: 4 min on Pager drill (hit; on target)." in home
    assert f'id="rep-{rep.id}"' in home


def test_an_htmx_post_returns_the_card_with_the_new_row_in_place(htmx_client, login, learner, drill):
    login(learner, htmx_client)
    response = htmx_client.post("/reps", data=rep_form(drill, value="7"), headers={"HX-Target": "quick-log"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = text(response)
    assert "<html" not in body and body.lstrip().startswith('<section id="quick-log"')
    rep = the_rep()
    assert f'<li id="rep-{rep.id}" class="rep rep--partial">' in body
    assert "Saved: 7 min on Pager drill (partial; 2 min to go)." in body
    assert input_value(response, "idempotency_key") != rep.idempotency_key  # a fresh form for the next rep
    # The message was shown in place; it must not pop up again on the next page.
    assert "Saved:" not in text(htmx_client.get("/ledger", headers={"HX-Request": "", "HX-Target": ""}))


def test_the_card_lists_the_latest_five_reps_of_today_and_points_to_the_ledger(client, htmx_client, login, clock,
                                                                                 learner, drill):
    reps = [log(learner, drill, float(n), at=MONDAY - timedelta(minutes=10 * n)) for n in range(6)]
    login(learner)
    home = text(client.get("/"))
    assert re.findall(r'<li id="rep-(\d+)"', home) == [str(r.id) for r in reps[:5]]  # newest first
    assert "All of today's reps are in the ledger" in home
    login(learner, htmx_client)
    card = text(htmx_client.post("/reps", data=rep_form(drill, value="7"), headers={"HX-Target": "quick-log"}))
    shown = re.findall(r'<li id="rep-(\d+)"', card)
    assert len(shown) == 5 and str(reps[4].id) not in shown
    for rep in reps[2:]:
        services.delete_rep(rep)
    assert "All of today's reps are in the ledger" not in text(client.get("/"))


def test_todays_rows_say_the_day_and_drill_once(client, login, learner, goal, drill):
    other = make_drill(goal, name="Second drill")
    log(learner, drill, 4.0, at=MONDAY - timedelta(minutes=30))
    log(learner, drill, 5.0, at=MONDAY - timedelta(minutes=20))
    log(learner, other, 6.0, at=MONDAY - timedelta(minutes=10))
    login(learner)
    today = text(client.get("/")).split('id="todays-reps"')[1].split("</ul>")[0]
    rows = re.findall(r'<li id="rep-\d+".*?</li>', today, re.S)
    assert len(rows) == 3  # newest first: the second drill, then the first drill twice
    assert "Second drill" in rows[0] and drill.name in rows[1] and drill.name not in rows[2]
    assert "Mon 2 Mar" not in today and "08:40" in today and "08:30" in rows[2]
    ledger = text(client.get("/ledger"))
    assert ledger.count("Mon 2 Mar, ") == 1  # the first row of the day says the day, the others the time


def test_a_double_tap_saves_once(client, htmx_client, login, learner, drill):
    login(learner)
    data = rep_form(drill)
    assert client.post("/reps", data=data).status_code == 303
    assert client.post("/reps", data=data).status_code == 303
    assert count(Rep) == 1
    assert "Already saved (you tapped twice): nothing was added." in text(client.get("/"))
    login(learner, htmx_client)
    assert htmx_client.post("/reps", data=data).status_code == 200
    assert count(Rep) == 1


def test_a_miss_gets_a_word_of_encouragement(htmx_client, login, learner, drill):
    login(learner, htmx_client)
    response = htmx_client.post("/reps", data=rep_form(drill, value="12"))
    assert "A miss is information, not a verdict." in text(response)


@pytest.mark.parametrize(("value", "expected"), [
    ("2,5", 2.5), (" 3.25 ", 3.25), ("-0", 0.0), ("1e3", 1000.0), ("0,25", 0.25), ("1,000,000", 1_000_000.0),
    ("12,345.5", 12345.5), ("12.345,5", 12345.5), ("1 250", 1250.0), ("0,925", 0.925), ("-0,500", -0.5),
    ("1.000", 1.0)])  # a dot is always the decimal mark, as the app writes numbers
def test_numbers_are_read_the_way_people_type_them(client, login, learner, drill, value, expected):
    login(learner)
    assert client.post("/reps", data=rep_form(drill, value=value)).status_code == 303
    assert the_rep().value == expected


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"value": ""}, "value", "Enter the value you measured"),
    ({"value": "fast"}, "value", "Enter a number, like 4 or 2.5."),
    ({"value": "1,000"}, "value", "Write 1000 or 1.0: a comma before three digits could mean either."),
    ({"value": "1,5.3"}, "value", "Enter a number, like 4 or 2.5."),
    ({"value": "nan"}, "value", "Enter a number between"),
    ({"value": "inf"}, "value", "Enter a number between"),
    ({"value": "-Infinity"}, "value", "Enter a number between"),
    ({"value": "1e400"}, "value", "Enter a number between"),
    ({"performed_at": "1900-01-01T10:00"}, "performed_at", "Pick a time within the last ten years."),
    ({"performed_at": "9999-12-31T23:59"}, "performed_at", "This is in the future."),
    ({"performed_at": "0001-01-01T00:00"}, "performed_at", "Pick a time within the last ten years."),
    ({"performed_at": "yesterday"}, "performed_at", "Not a valid datetime value."),
    ({"duration_minutes": "1441"}, "duration_minutes", "Enter between 0 and 1440 minutes."),
    ({"duration_minutes": "ten"}, "duration_minutes", "Enter a whole number, like 4."),
    ({"note": "n" * 10_000}, "note", "Field cannot be longer than 2000 characters."),
    ({"adjustment": "a\x00b"}, "adjustment", "Remove the invisible control characters"),
    ({"outcome": "great"}, "outcome", "Not a valid choice."),
    ({"drill_id": ""}, "drill_id", "Pick the drill you practised."),
    ({"drill_id": "abc"}, "drill_id", "Invalid Choice"),
])
def test_bad_input_gets_a_message_beside_the_field_and_keeps_the_text(client, htmx_client, login, make_user,
                                                                      changes, field, message):
    learner = make_user(timezone="America/New_York")
    drill = make_drill(make_goal(learner))
    data = {**rep_form(drill, note="Nervous 😬 · מתח"), **changes}
    login(learner)
    response = client.post("/reps", data=data)
    assert response.status_code == 422
    assert message in html.unescape(field_error(response, field))
    if field != "note":
        assert "Nervous 😬 · מתח" in text(response)
    if field == "value":
        assert input_value(response, "value") == changes["value"]
    login(learner, htmx_client)
    fragment = htmx_client.post("/reps", data=data, headers={"HX-Target": "quick-log"})
    assert fragment.status_code == 422
    assert "<html" not in text(fragment) and message in html.unescape(field_error(fragment, field))
    assert count(Rep) == 0


@pytest.mark.parametrize(("typed", "message"), [
    ("9999-12-31T23:59", "This is in the future."),
    ("0001-01-01T00:00", "Pick a time within the last ten years."),
    ("1900-01-01T10:00", "Pick a time within the last ten years."),
])
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Honolulu", "Pacific/Kiritimati"])
def test_dates_at_the_ends_of_the_calendar_are_refused_in_every_zone(client, login, make_user, zone, typed, message):
    learner = make_user(timezone=zone)
    drill = make_drill(make_goal(learner))
    login(learner)
    response = client.post("/reps", data=rep_form(drill, performed_at=typed))
    assert response.status_code == 422
    assert message in field_error(response, "performed_at")
    assert input_value(response, "performed_at") == typed
    assert count(Rep) == 0


def test_emoji_and_right_to_left_text_are_kept(client, login, learner, drill):
    login(learner)
    note = "Froze at the first question 🥶🙈"
    adjustment = "\u05dc\u05e0\u05e9\u05d5\u05dd \u05e2\u05de\u05d5\u05e7 \u2067!\u2069"  # Hebrew, with an isolate
    assert client.post("/reps", data=rep_form(drill, note=note, adjustment=adjustment)).status_code == 303
    rep = the_rep()
    assert (rep.note, rep.adjustment) == (note, adjustment)
    body = text(client.get("/ledger"))
    assert note in body and adjustment in body


def test_someone_elses_drill_cannot_be_logged(client, login, make_user, learner, drill):
    theirs = make_drill(make_goal(make_user()), name="Their drill")
    login(learner)
    response = client.post("/reps", data=rep_form(theirs))
    assert response.status_code == 422
    assert "Not a valid choice." in field_error(response, "drill_id")
    assert count(Rep) == 0


def test_a_time_typed_is_the_learners_local_time(client, login, make_user):
    learner = make_user(timezone="Europe/Berlin")
    drill = make_drill(make_goal(learner))
    login(learner)
    assert client.post("/reps", data=rep_form(drill, performed_at="2026-03-01T23:30")).status_code == 303
    assert the_rep().performed_at == datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert "Sun 1 Mar, 23:30" in text(client.get("/ledger"))


def test_logging_needs_a_signed_in_person(client, drill):
    assert client.post("/reps", data=rep_form(drill)).status_code == 302
    assert client.get("/log").status_code == 302
    assert client.get("/ledger").status_code == 302
    assert count(Rep) == 0


# --- editing and deleting -----------------------------------------------------------------------

def test_editing_a_rep_within_24_hours(client, login, clock, learner, drill):
    rep = log(learner, drill, 9.0, note="first try")
    login(learner)
    clock.set(MONDAY + timedelta(hours=23))
    page = client.get(f"/reps/{rep.id}/edit")
    assert page.status_code == 200
    assert input_value(page, "value") == "9.0" and input_value(page, "performed_at") == "2026-03-02T09:00"
    response = client.post(f"/reps/{rep.id}", data=rep_form(drill, value="4", note="second look",
                                                             performed_at="2026-03-02T08:00"))
    assert response.status_code == 303 and response.headers["Location"] == "/ledger"
    db.session.refresh(rep)
    assert (rep.value, rep.note, rep.performed_at) == (4.0, "second look", MONDAY - timedelta(hours=1))
    assert "Rep saved." in text(client.get("/ledger"))


def test_an_edit_with_bad_input_keeps_the_text(client, login, learner, drill):
    rep = log(learner, drill, 9.0)
    login(learner)
    response = client.post(f"/reps/{rep.id}", data=rep_form(drill, value="abc", note="keep me ✍️"))
    assert response.status_code == 422
    assert "Enter a number" in field_error(response, "value")
    assert "keep me ✍️" in text(response)
    db.session.refresh(rep)
    assert rep.value == 9.0


def test_after_24_hours_a_rep_is_the_record(client, login, clock, learner, drill):
    rep = log(learner, drill, 9.0)
    login(learner)
    clock.set(MONDAY + timedelta(hours=24, minutes=1))
    ledger = text(client.get("/ledger"))
    assert f"/reps/{rep.id}/edit" not in ledger and f"/reps/{rep.id}/delete" not in ledger
    refused = client.get(f"/reps/{rep.id}/edit")
    assert refused.status_code == 403 and "more than 24 hours ago" in text(refused)
    refused = client.post(f"/reps/{rep.id}", data=rep_form(drill, value="1"))
    assert refused.status_code == 403 and "part of the record" in text(refused)
    confirm = client.get(f"/reps/{rep.id}/delete")
    assert confirm.status_code == 200 and "now part of the record" in text(confirm)
    assert "Delete the rep" not in text(confirm)
    assert client.post(f"/reps/{rep.id}/delete").status_code == 403
    db.session.refresh(rep)
    assert rep.value == 9.0 and count(Rep) == 1


def test_deleting_asks_first_from_the_edit_page_away_from_edit(client, login, learner, drill):
    rep = log(learner, drill, 9.0, note="a rep to delete")
    login(learner)
    for page in ("/", "/ledger"):  # a row offers Edit; Delete is not its neighbour
        row = re.search(rf'<li id="rep-{rep.id}".*?</li>', text(client.get(page)), re.S).group(0)
        assert f'href="/reps/{rep.id}/edit"' in row and "/delete" not in row
    assert f'href="/reps/{rep.id}/delete"' in text(client.get(f"/reps/{rep.id}/edit"))
    confirm = client.get(f"/reps/{rep.id}/delete")
    assert confirm.status_code == 200
    assert "Delete this rep?" in text(confirm) and "a rep to delete" in text(confirm)
    assert f'action="/reps/{rep.id}/delete"' in text(confirm) and count(Rep) == 1

    response = client.post(f"/reps/{rep.id}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/ledger"
    assert count(Rep) == 0
    assert "Rep deleted." in text(client.get("/ledger"))


def test_deleting_a_rep_with_a_feedback_request_takes_the_request_with_it(app, client, login, make_user, learner,
                                                                         drill):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    rep = log(learner, drill, 9.0)
    request_id = feedback.ask(learner, rep, "Was this right?").id
    login(learner)
    assert client.post(f"/reps/{rep.id}/delete").status_code == 303
    assert count(Rep) == 0
    coach_browser = app.test_client()
    login(coach, coach_browser)
    assert f"request-{request_id}" not in text(coach_browser.get("/queue"))
    assert coach_browser.get(f"/feedback/{request_id}").status_code == 404


@pytest.mark.parametrize("who", ["another learner", "their coach", "an unlinked coach"])
def test_strangers_get_404_on_a_reps_pages_and_posts(app, login, make_user, learner, drill, who):
    rep = log(learner, drill, 9.0)
    stranger = make_user()
    if who == "their coach":
        link(stranger, learner)
    elif who == "an unlinked coach":
        link(stranger, make_user())
    browser = app.test_client()
    login(stranger, browser)
    for method, url in (("get", f"/reps/{rep.id}/edit"), ("get", f"/reps/{rep.id}/delete"),
                        ("post", f"/reps/{rep.id}"), ("post", f"/reps/{rep.id}/delete")):
        response = getattr(browser, method)(url, data=rep_form(drill, value="1"))
        assert response.status_code == 404, (method, url)
    db.session.refresh(rep)
    assert rep.value == 9.0 and count(Rep) == 1


# --- the ledger page ----------------------------------------------------------------------------

def test_the_ledger_lists_weeks_with_rep_count_and_minutes(client, login, clock, learner, drill):
    log(learner, drill, 4.0, duration_minutes=10, note="monday rep")
    log(learner, drill, 6.0, at=MONDAY + timedelta(days=2), duration_minutes=15)
    log(learner, drill, 5.0, at=MONDAY + timedelta(days=7), duration_minutes=None)
    clock.set(MONDAY + timedelta(days=8))
    login(learner)
    page = client.get("/ledger")
    assert page.status_code == 200
    body = text(page)
    weeks = re.findall(r"Week of ([^<]+)</h2>\s*<p class=\"muted\">([^<]+)</p>", body)
    assert weeks == [("9 Mar 2026", "1 rep · 0 min practised"), ("2 Mar 2026", "2 reps · 25 min practised"),
                     ("23 Feb 2026", "0 reps · 0 min practised"), ("16 Feb 2026", "0 reps · 0 min practised")]
    assert "monday rep" in body
    assert "Older weeks" not in body and "Newer weeks" not in body


def test_the_ledger_filters_by_goal_and_drill(client, login, learner, goal, drill):
    second = make_drill(goal, name="Second drill")
    other = make_drill(make_goal(learner, title="Other goal"), name="Other drill")
    for d in (drill, second, other):
        log(learner, d, 4.0, note=f"note for {d.name}")
    login(learner)
    body = text(client.get("/ledger"))
    assert all(f"note for {name}" in body for name in ("Pager drill", "Second drill", "Other drill"))
    by_goal = text(client.get(f"/ledger?goal={goal.id}"))
    assert "note for Pager drill" in by_goal and "note for Second drill" in by_goal
    assert "note for Other drill" not in by_goal
    assert f'<option value="{goal.id}" selected>' in by_goal
    by_drill = text(client.get(f"/ledger?drill={second.id}"))
    assert "note for Second drill" in by_drill and "note for Pager drill" not in by_drill


def test_the_ledger_pages_back_only_while_older_reps_exist(client, login, clock, learner, goal, drill):
    log(learner, drill, 4.0, at=MONDAY - timedelta(weeks=5), note="five weeks ago")
    log(learner, drill, 4.0, note="this week")
    login(learner)
    first = text(client.get("/ledger"))
    assert "this week" in first and "five weeks ago" not in first
    assert 'href="/ledger?page=2"' in first and "Older weeks" in first

    second = text(client.get("/ledger?page=2"))
    assert "five weeks ago" in second and "this week" not in second
    assert "Older weeks" not in second and 'href="/ledger?page=1"' in second

    other_drill = make_drill(goal, name="New drill")
    log(learner, other_drill, 4.0)
    assert "Older weeks" not in text(client.get(f"/ledger?drill={other_drill.id}"))
    assert "Older weeks" in text(client.get(f"/ledger?drill={drill.id}"))


@pytest.mark.parametrize("query", ["page=0", "page=-3", "page=abc", "page=99999999999", "goal=abc", "drill=-1"])
def test_odd_ledger_queries_still_show_a_page(client, login, learner, drill, query):
    log(learner, drill, 4.0)
    login(learner)
    assert client.get(f"/ledger?{query}").status_code == 200


def test_the_ledger_as_an_htmx_fragment(htmx_client, login, learner, drill):
    log(learner, drill, 4.0)
    login(learner, htmx_client)
    response = htmx_client.get("/ledger", headers={"HX-Target": "ledger-weeks"})
    assert response.status_code == 200
    assert text(response).lstrip().startswith('<div id="ledger-weeks">')


# --- goal pages with progress -------------------------------------------------------------------

def test_the_goal_page_shows_weeks_held_and_marks_the_goal_reached(client, login, clock, learner, goal, drill):
    login(learner)
    log(learner, drill, 4.0)
    clock.set(MONDAY + timedelta(days=7))
    log(learner, drill, 3.0)
    page = text(client.get(f"/goals/{goal.id}"))
    assert "1 of 2 weeks held" in page and "this week so far: 3 min, on target" in page
    assert "<svg" in page and "Weekly response time against the target of 5 min" in page
    assert "in progress" in page

    clock.set(MONDAY + timedelta(days=14))
    assert client.post("/reps", data=rep_form(drill, value="8")).status_code == 303
    page = text(client.get(f"/goals/{goal.id}"))
    assert "Reached on 15 Mar 2026" in page
    assert "Reached on 15 Mar 2026" in text(client.get("/goals"))
