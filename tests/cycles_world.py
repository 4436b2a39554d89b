"""The PDSA cycles part of test_security's route inventory: who may call each endpoint, a running cycle
and a studied one of the learner's to call them on, and one working POST each."""

from datetime import timedelta
from types import SimpleNamespace

from failforward.accounts.models import User
from failforward.calendar import today_for
from failforward.cycles import services as cycles
from failforward.cycles.models import Cycle, CycleNote
from failforward.extensions import db
from failforward.goals.models import Goal
from tests.factories import fresh

WHO_MAY_CALL = {
    "cycles.new": "learner-only",
    "cycles.create": "learner-only",
    "cycles.show": "learner-or-coach",
    "cycles.study": "learner-only",
    "cycles.decide": "learner-only",
    "cycles.observe": "learner-only",
    "cycles.comment": "learner-or-coach",
    "cycles.edit_rule": "learner-only",
    "cycles.update_rule": "learner-only",
}
IDS = {"cycle_id": "cycle"}
RULE_FORM = {"harm": "miss-rate", "adopt_if_pct": "3", "harm_tolerance_pct": "0", "min_reps": "5"}


def plan_form(w: SimpleNamespace) -> dict:
    """A valid plan on the world's goal and drill, starting today."""
    learner = db.session.get(User, w.learner)
    return {"drill_id": str(w.drill), "objective": "A cycle from this test", "change": "Runbook first",
            "prediction": "Faster", **RULE_FORM, "scope_pct": "10", "timebox_days": "14",
            "starts_on": today_for(learner).isoformat(), "undo_plan": "Skip it", "undo_speed": "at once",
            "idempotency_key": "cycle-from-test-1"}


def add_to_world(w: SimpleNamespace) -> None:
    """A cycle running since today, and one that started three days ago and was studied early."""
    learner, goal = db.session.get(User, w.learner), db.session.get(Goal, w.goal)
    fields = {"drill_id": w.drill, "objective": "Runbook first", "change": "Read the runbook before acting",
              "prediction": "Faster", "harm": "miss-rate", "harm_goal_id": None, "adopt_if_pct": 5.0,
              "harm_tolerance_pct": 0.0, "min_reps": 5, "scope_pct": 10, "timebox_days": 14,
              "starts_on": today_for(learner), "undo_plan": "Skip it", "undo_speed": "at once",
              "next_if_inconclusive": ""}
    running, _ = cycles.create_cycle(learner, goal, fields, None, "world-cycle")
    studied, _ = cycles.create_cycle(learner, goal, {**fields, "starts_on": today_for(learner) - timedelta(days=3)},
                                     None, "world-studied-cycle")
    cycles.study_now(studied)
    w.__dict__.update(cycle=running.id, studied_cycle=studied.id)


def _notes(kind: str) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(CycleNote).where(CycleNote.kind == kind))


def posts() -> dict[str, tuple]:
    """(who, path, data, happened) for each POST, as test_security's Post takes them."""
    return {
        "cycles.create": ("learner", lambda w: f"/goals/{w.goal}/cycles", plan_form,
                          lambda w, c: db.session.scalar(db.select(Cycle).filter_by(
                              objective="A cycle from this test")) is not None),
        "cycles.study": ("learner", lambda w: f"/cycles/{w.cycle}/study", lambda w: {},
                         lambda w, c: fresh(Cycle, w.cycle).studied_at is not None),
        "cycles.decide": ("learner", lambda w: f"/cycles/{w.studied_cycle}/decision",
                          lambda w: {"decision": "adapt", "note": "Shorter"},
                          lambda w, c: fresh(Cycle, w.studied_cycle).decision == "adapt"),
        "cycles.observe": ("learner", lambda w: f"/cycles/{w.cycle}/observations", lambda w: {"body": "Slow start"},
                           lambda w, c: _notes("observation") == 1),
        "cycles.comment": ("learner", lambda w: f"/cycles/{w.cycle}/comments", lambda w: {"comment-body": "A note"},
                           lambda w, c: _notes("comment") == 1),
        "cycles.update_rule": ("learner", lambda w: f"/cycles/{w.cycle}/rule", lambda w: dict(RULE_FORM),
                               lambda w, c: fresh(Cycle, w.cycle).adopt_if_pct == 3),
    }
