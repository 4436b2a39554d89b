"""Small factories for goals, drills, reps and coaching links (built through the services), and page helpers."""

import html
import itertools
import re
from datetime import datetime

from failforward import tasks
from failforward.accounts.models import User
from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.goals import services as goals
from failforward.goals.models import Drill, Goal
from failforward.ledger import services as ledger
from failforward.ledger.models import Rep


def sweep() -> None:
    """Run the minute sweep in-process, as the worker would (the test's own reads end first)."""
    db.session.commit()
    tasks.sweep.call_local()
    db.session.expire_all()


_keys = itertools.count(1)

GOAL = {
    "partial_from_pct": 50,
    "title": "Answer pages faster",
    "bottleneck": "First response to a page takes over ten minutes",
    "metric_name": "response time",
    "unit": "min",
    "direction": "lower",
    "baseline": 10.0,
    "target": 5.0,
    "weeks_required": 2,
    "aggregation": "median",
    "deadline": None,
    "why": "",
}
DRILL = {
    "name": "Pager drill",
    "practises": "Acknowledging and triaging a page",
    "environment": "",
    "tools": "",
    "time_box_minutes": None,
    "feedback_source": "coach",
    "planned_reps_per_week": 5,
    "difficulty_note": "",
}


def make_goal(learner: User, **fields) -> Goal:
    """A goal for `learner` (lower is better, baseline 10, target 5, median over 2 weeks by default)."""
    return goals.create_goal(learner, {**GOAL, **fields})


def make_drill(goal: Goal, **fields) -> Drill:
    """A drill on `goal`."""
    return goals.create_drill(goal, {**DRILL, **fields})


def log(learner: User, drill: Drill, value: float, at: datetime | None = None, **fields) -> Rep:
    """Log a rep through the service, each with its own idempotency key."""
    rep, _created = ledger.log_rep(learner, drill, {"value": value, "performed_at": at, **fields},
                                   f"test-key-{next(_keys):06d}")
    return rep


def link(coach: User, learner: User, feedback_due_hours: int | None = None):
    """An active coaching link; with `feedback_due_hours`, a contract with those hours, accepted."""
    the_link = coaching.accept_invite(coaching.invite_token(coaching.create_invite(coach, None)), learner)
    if feedback_due_hours is not None:
        contract = coaching.propose_contract(
            coach, the_link, {**coaching.DEFAULT_CONTRACT, "feedback_due_hours": feedback_due_hours})
        coaching.accept_contract(learner, the_link, contract.version)
    return the_link


def count(model, *where) -> int:
    """How many rows of `model` match."""
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def count_now(model, *where) -> int:
    """How many rows of `model` match in the database now (what this session holds is forgotten first)."""
    db.session.expire_all()
    return count(model, *where)


def fresh(model, row_id: int):
    """The row as the database has it now (None once deleted)."""
    db.session.expire_all()
    return db.session.get(model, row_id)


def text(response) -> str:
    return response.get_data(as_text=True)


def without_csrf_token(page: str) -> str:
    """The page without its CSRF token (in the htmx headers and in every form), which carries the second
    it was made in: two pages drawn a second apart differ there and only there."""
    token = re.search(r'"X-CSRFToken": "([^"]*)"', page)
    return page.replace(token.group(1), "") if token else page


def field_error(response, field_id: str) -> str:
    """The error shown beside one field (the macro's `<p class="error" id="<field>-error">`)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', text(response), re.S)
    assert match, f"no error beside {field_id}"
    return match.group(1)


def input_value(response, name: str) -> str | None:
    """The value an `<input name=...>` is drawn with (what the person sees in the box)."""
    for tag in re.findall(r"<input\b[^>]*>", text(response)):
        if f'name="{name}"' in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return html.unescape(found.group(1)) if found else None
    raise AssertionError(f"no input named {name}")
