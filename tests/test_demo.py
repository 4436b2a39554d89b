"""`flask demo` (what `make run` shows a newcomer): every demo person's pages answer, and the learner's goal
shows each step of the method with data: reps, feedback, a pre-mortem with its tripwire, a PDSA cycle."""

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

    for email in ("coach@example.com", "lee@example.com", "sam@example.com"):
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
