"""`flask demo` (what `make run` shows a newcomer): every demo person's pages answer, and the learner's goal
shows each step of the method with data: reps, feedback, a pre-mortem with its tripwire, a PDSA cycle; the coach's
safety pulse has enough answers to show, and the learner's pulse of this period waits on their home page."""

from failforward.accounts.models import User
from failforward.demo import DEMO_PASSWORD
from failforward.extensions import db
from failforward.goals.models import Goal
from tests.factories import text


def test_the_demo_runs_twice_and_shows_every_step_on_the_goal_page(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "lee@example.com" in second.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Goal)) == 1  # the second run added nothing

    for email in ("coach@example.com", "lee@example.com", "sam@example.com", "ana@example.com", "bo@example.com"):
        browser = app.test_client()
        assert browser.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 303
        for path in ("/", "/goals", "/ledger", "/feedback", "/coaching", "/settings"):
            assert browser.get(path).status_code == 200, (email, path)

    lee = db.session.scalar(db.select(User).filter_by(email="lee@example.com"))
    goal = db.session.scalar(db.select(Goal).filter_by(learner_id=lee.id))
    assert client.post("/login", data={"email": lee.email, "password": DEMO_PASSWORD}).status_code == 303
    page = text(client.get(f"/goals/{goal.id}"))
    for shown in ("Practice squeezed out by on-call", "Book two 15-minute drill slots", "Faster first updates",
                  "after the practice", "weeks held"):
        assert shown in page, shown


def test_the_demo_learner_sees_most_figures_on_the_progress_page(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert client.post("/login", data={"email": "lee@example.com", "password": DEMO_PASSWORD}).status_code == 303
    page = text(client.get("/progress"))
    for figure in ("practice", "reps", "feedback", "retros", "lessons", "reappraisal", "closure", "rules"):
        assert f'<section class="card kpi" id="kpi-{figure}"' in page, figure


def test_the_demo_coach_sees_the_safety_pulse_and_the_learner_is_asked(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    coach, lee = app.test_client(), app.test_client()
    coach.post("/login", data={"email": "coach@example.com", "password": DEMO_PASSWORD})
    page = text(coach.get("/pulse/coach"))
    assert "4 learners answered" in page and "Not enough answers" not in page
    assert "a few minutes at the end of a session" in page
    lee.post("/login", data={"email": "lee@example.com", "password": DEMO_PASSWORD})
    assert "A one-minute pulse" in text(lee.get("/"))
    assert "Lessons from your coach" in text(lee.get("/lessons"))
