"""axe-core finds nothing on the pages a learner and a coach use most, on a phone and on a laptop (issue 11)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from failforward.accounts.models import User
from failforward.demo import DEMO_PASSWORD, create_demo_data
from failforward.extensions import db
from failforward.goals.models import Goal
from tests.e2e.conftest import LiveServer, sign_in

SIZES = {"phone": {"viewport": {"width": 390, "height": 844}},
         "laptop": {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}}
SIGNED_OUT = ["/", "/login", "/signup"]
LEARNER = ["/", "{goal}", "/ledger", "/progress", "/lessons", "/study", "/setback", "/checkins", "/settings", "/more"]
COACH = ["/", "/queue", "/learners", "/pulse/coach"]
AXE = Axe()


def violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it stands, one line per element: rule, impact, where, how to fix."""
    found = AXE.run(page).response["violations"]
    return [f"{rule['id']} ({rule['impact']}) at {node['target']}: {rule['help']} - {node['failureSummary']}"
            for rule in found for node in rule["nodes"]]


@pytest.fixture
def goal_path(live_server: LiveServer) -> str:
    """The demo's people and practice; the path of the demo learner's goal."""
    with live_server.app.app_context():
        create_demo_data()
        lee = db.session.scalar(db.select(User).filter_by(email="lee@example.com"))
        return f"/goals/{db.session.scalar(db.select(Goal.id).filter_by(learner_id=lee.id))}"


@pytest.mark.parametrize("size", SIZES)
def test_axe_core_finds_nothing_on_the_most_used_pages(live_server, open_page, goal_path, size):
    visits = {None: SIGNED_OUT, "lee@example.com": LEARNER, "coach@example.com": COACH}
    trouble = {}
    for email, paths in visits.items():
        page = open_page(**SIZES[size])
        if email:
            sign_in(page, live_server.url, email, DEMO_PASSWORD)
        for path in paths:
            path = path.format(goal=goal_path)
            assert page.goto(live_server.url + path).ok, f"{path} did not open for {email or 'a stranger'}"
            if found := violations(page):
                trouble[f"{email or 'signed out'} {path}"] = found
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in trouble.items())
    assert not trouble, f"axe-core found problems at {size} size:\n{report}"


def test_the_check_reports_what_axe_core_finds(page: Page):
    page.set_content('<html lang="en"><title>t</title><main><h1>t</h1><button></button></main></html>')
    assert [line.split(" ")[0] for line in violations(page)] == ["button-name"]
