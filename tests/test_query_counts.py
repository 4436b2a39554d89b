"""The pages people open most issue the same number of SQL queries with 10 reps as with 1,000."""

import contextlib
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from failforward import database
from failforward.extensions import db
from failforward.feedback.models import FeedbackMessage, FeedbackRequest
from failforward.ledger.models import Rep
from failforward.premortems import services as premortems
from tests.factories import link, make_drill, make_goal
from tests.premortem_world import converted

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
EVERY = timedelta(hours=8)


@contextlib.contextmanager
def counting_queries():
    """Collect every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def add_practice(learner, drills, coach, first: int, last: int) -> None:
    """Reps `first`..`last - 1` (rep i is i * 8 hours before NOW, round-robin over the drills), with a
    feedback request on every third rep; one request in four is still open, the others answered."""
    reps = [Rep(learner_id=learner.id, goal_id=drills[i % len(drills)].goal_id, drill_id=drills[i % len(drills)].id,
                performed_at=NOW - (i + 1) * EVERY, value=float(3 + i % 9), duration_minutes=10 + i % 5,
                outcome=("hit", "partial", "miss")[i % 3], note=f"rep {i}", adjustment="slower",
                idempotency_key=f"bulk-{learner.id}-{i}", logged_at=NOW - (i + 1) * EVERY)
            for i in range(first, last)]
    db.session.add_all(reps)
    with db.session.no_autoflush:
        for rep in reps[::3]:
            i = int(rep.note.split()[1])
            answered = None if i % 12 == 0 else rep.performed_at + timedelta(hours=5)
            answers = [FeedbackMessage(author_id=coach.id, body=f"Answer {i}", created_at=answered)] if answered else []
            db.session.add(FeedbackRequest(
                learner_id=learner.id, rep=rep, reps=[rep], question="How was it?", practised_at=rep.performed_at,
                created_at=rep.performed_at, due_at=rep.performed_at + timedelta(hours=24), answered_at=answered,
                messages=answers))
    db.session.commit()


@pytest.fixture
def people(clock, make_user):
    """A coach with three learners, each with two goals (set a year ago) and three drills."""
    clock.set(NOW - timedelta(days=365))
    coach = make_user(name="Casey Coach")
    learners = [make_user(name=name) for name in ("Lee Learner", "Ana Second", "Bo Third")]
    drills = {}
    for learner in learners:
        link(coach, learner)
        first, second = make_goal(learner, title="Answer pages faster"), make_goal(learner, title="Shorter notes")
        drills[learner.id] = [make_drill(first, name="Pager drill"), make_drill(first, name="Triage drill"),
                              make_drill(second, name="Note drill")]
    clock.set(NOW)
    add_premortem(learners[0], drills[learners[0].id][0])
    return coach, learners, drills


def add_premortem(learner, drill) -> None:
    """A pre-mortem on the drill's goal run to the end: two top risks, one with a tripwire that fired (it shows on
    the goal page and on home)."""
    fired, watched = converted(learner, drill.goal, ["Night shifts", "No feedback"])
    for risk, tripwire in ((fired, "manual"), (watched, "no-rep")):
        premortems.convert(risk, {"prevention": "Practise first", "contingency": "Short reps", "owner": "learner",
                                  "due_on": NOW.date(), "tripwire": tripwire, "drill_id": drill.id, "threshold": 3})
    premortems.trigger(fired)


def measure(app, login, coach, learner) -> dict[str, int]:
    """Queries per page: the learner's home, rep form, ledger, goal and feedback pages, the coach's queue, and
    logging a rep from the home page's card."""
    goal_id = db.session.scalar(db.select(Rep.goal_id).where(Rep.learner_id == learner.id).limit(1))
    counts = {}
    for user, urls in ((learner, ["/", "/log", "/ledger", f"/goals/{goal_id}", "/feedback"]), (coach, ["/queue"])):
        browser = app.test_client()
        login(user, browser)
        for url in urls:
            with counting_queries() as statements:
                response = browser.get(url)
            assert response.status_code == 200, url
            counts[url.split("/")[1] or "home"] = len(statements)
    browser = app.test_client()
    login(learner, browser)
    drill_id = db.session.scalar(db.select(Rep.drill_id).where(Rep.learner_id == learner.id).limit(1))
    with counting_queries() as statements:
        response = browser.post("/reps", data={"drill_id": str(drill_id), "value": "4",
                                               "idempotency_key": f"count-{secrets.token_hex(8)}"},
                                headers={"HX-Request": "true", "HX-Target": "quick-log"})
    assert response.status_code == 200 and "Saved: 4" in response.get_data(as_text=True)
    counts["log a rep"] = len(statements)
    return counts


def test_page_queries_do_not_grow_with_the_number_of_reps(app, login, people, capsys):
    coach, learners, drills = people
    for learner in learners:
        add_practice(learner, drills[learner.id], coach, 0, 10)
    small = measure(app, login, coach, learners[0])

    for learner in learners:
        add_practice(learner, drills[learner.id], coach, 10, 1000)
    assert db.session.scalar(db.select(db.func.count()).select_from(Rep)) == 3001  # with the one measure() logged
    large = measure(app, login, coach, learners[0])

    with capsys.disabled():
        print(f"\nSQL queries per page, 10 reps: {small}; 1,000 reps: {large}")
    assert large == small


def test_the_progress_page_issues_as_many_queries_with_10_reps_as_with_1000(app, login, people):
    """Each figure reads its window in one query (grouped or bucketed in Python), never one per week or per rep."""
    coach, learners, drills = people
    learner = learners[0]
    browser = app.test_client()
    login(learner, browser)

    def count() -> int:
        with counting_queries() as statements:
            response = browser.get("/progress?weeks=52")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="kpi-reps"' in page and 'id="kpi-feedback"' in page
        return len(statements)

    add_practice(learner, drills[learner.id], coach, 0, 10)
    small = count()
    add_practice(learner, drills[learner.id], coach, 10, 1000)  # 333 days of reps: every week of the window
    assert count() == small
    assert small <= 3 + 9  # the session, the person and the menu's coach check; the nine figures' queries


def test_the_pages_show_the_reps_they_counted(app, login, people):
    """The counts above are only worth something if the pages really draw reps, feedback and the queue."""
    coach, learners, drills = people
    for learner in learners:
        add_practice(learner, drills[learner.id], coach, 0, 100)  # 33 days: more than one page
    browser = app.test_client()
    login(learners[0], browser)
    ledger = browser.get("/ledger").get_data(as_text=True)
    assert "rep 0" in ledger and "Answer 3" in ledger and "Older weeks" in ledger
    assert "rep 0" in browser.get("/").get_data(as_text=True)  # 8 hours ago: today
    login(coach, browser)
    queue = browser.get("/queue").get_data(as_text=True)
    assert queue.count('class="card request') == 20  # the first page of 27: requests on reps 0, 12, ... 96 of each
    assert "27 waiting" in queue
    assert "Ana Second" in queue and "Bo Third" in queue


def test_a_saved_rep_is_drawn_without_holding_the_write_lock(app, htmx_client, login, people):
    """The POST's change is written in a BEGIN IMMEDIATE transaction; the card drawn after it (for a new
    rep, and for a double tap that saved nothing) reads in a deferred one, so other writers do not wait
    while it renders."""
    _coach, learners, drills = people
    login(learners[0], htmx_client)
    form = {"drill_id": str(drills[learners[0].id][0].id), "value": "4", "idempotency_key": "lock-test-0001"}
    began: list[str] = []

    def record(_connection):
        began.append("IMMEDIATE" if database.writes_now() else "deferred")

    event.listen(db.engine, "begin", record)
    try:
        for tap in ("first", "second"):
            began.clear()
            response = htmx_client.post("/reps", data=form, headers={"HX-Target": "quick-log"})
            assert response.status_code == 200 and "Saved: 4" in response.get_data(as_text=True), tap
            assert began == ["IMMEDIATE", "deferred"], tap
    finally:
        event.remove(db.engine, "begin", record)
    assert db.session.scalar(db.select(db.func.count()).select_from(Rep).where(Rep.value == 4.0)) == 1


def test_a_saved_rep_is_drawn_from_the_rows_just_written(app, htmx_client, login, people):
    """After the write, the card reads today's reps (and their feedback) and nothing it already held: not the
    learner, their drills or goals again (two commits, the service's and web.done's, used to expire them all,
    and drawing the card read the learner back)."""
    _coach, learners, drills = people
    login(learners[0], htmx_client)
    form = {"drill_id": str(drills[learners[0].id][0].id), "value": "4", "idempotency_key": "drawn-test-0001"}
    with counting_queries() as statements:
        response = htmx_client.post("/reps", data=form, headers={"HX-Target": "quick-log"})
    assert response.status_code == 200 and "Saved: 4" in response.get_data(as_text=True)
    # After the write's last statement (the rep, then its goal's weekly roll-up and status).
    last_write = max(i for i, s in enumerate(statements) if s.startswith(("INSERT", "UPDATE", "DELETE")))
    assert any(s.startswith("INSERT INTO rep") for s in statements[:last_write + 1])
    after_write = statements[last_write + 1:]
    read_back = [s for s in after_write if s.startswith(("SELECT users.", "SELECT drill.", "SELECT goal."))]
    assert read_back == [], read_back


def test_a_review_page_issues_as_many_queries_with_3_rows_as_with_30(app, login, people):
    """A blameless review's page: its timeline, factors, fixes (the learner's and the coach's), comments."""
    from failforward.reviews import services as reviews

    coach, learners, _ = people
    learner = learners[0]
    review, _ = reviews.create_review(learner, {"trigger": "Missed pages", "scope": "", "counterfactual": "",
                                                "what_worked": "", "assumptions": "Test pages help", "shared": True},
                                      [], [], None, "count-review")

    def grow(first: int, last: int) -> None:
        rows = range(first, last)
        reviews.update_review(review, {"trigger": "Missed pages", "scope": "", "counterfactual": "", "what_worked": "",
                                       "assumptions": "Test pages help", "shared": True},
                              [(NOW - timedelta(minutes=i), f"event {i}") for i in range(last)],
                              [("tools", f"factor {i}") for i in range(last)])
        for i in rows:
            owner = coach if i % 2 else learner
            reviews.add_action(review, {"what": f"fix {i}", "owner_id": owner.id, "due_on": None,
                                        "done_condition": "Seen", "verify_plan": "", "check_on": None}, f"count-{i}")
            reviews.add_comment(coach if i % 2 else learner, review, f"comment {i}")

    def count(user) -> int:
        browser = app.test_client()
        login(user, browser)
        with counting_queries() as statements:
            response = browser.get(f"/reviews/{review.id}")
        assert response.status_code == 200 and "fix 0" in response.get_data(as_text=True)
        return len(statements)

    grow(0, 3)
    small = (count(learner), count(coach))
    grow(3, 30)
    assert (count(learner), count(coach)) == small


def test_the_coachs_overview_issues_as_many_queries_for_20_learners_as_for_2_and_for_1000_reps_as_for_10(
        app, login, clock, make_user):
    """One grouped query per figure across all the learners, never one per learner or per rep."""
    clock.set(NOW - timedelta(days=365))
    coach = make_user(name="Casey Coach")
    learners = []

    def add_learners(how_many: int) -> None:
        for n in range(how_many):
            learner = make_user(name=f"Learner {len(learners):02d}", timezone=("UTC", "Asia/Tokyo")[n % 2])
            link(coach, learner)
            goal = make_goal(learner)
            drills = [make_drill(goal, name="Pager drill"), make_drill(make_goal(learner, title="Notes"), name="Notes")]
            learners.append((learner, drills))

    def count() -> int:
        clock.set(NOW)
        browser = app.test_client()
        login(coach, browser)
        with counting_queries() as statements:
            response = browser.get("/learners?sort=goals")
        assert response.status_code == 200 and f"Learner {len(learners) - 1:02d}" in response.get_data(as_text=True)
        return len(statements)

    add_learners(2)
    for learner, drills in learners:
        add_practice(learner, drills, coach, 0, 10)
    two = count()
    clock.set(NOW - timedelta(days=365))
    add_learners(18)
    for learner, drills in learners[2:]:
        add_practice(learner, drills, coach, 0, 10)
    twenty = count()
    for learner, drills in learners[:2]:
        add_practice(learner, drills, coach, 10, 1000)
    many_reps = count()
    assert two == twenty == many_reps
