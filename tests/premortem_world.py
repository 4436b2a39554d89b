"""The pre-mortem part of test_security's route inventory: who may call each endpoint, pre-mortems of the
learner's (one the coach was invited into, still being written; one revealed, being voted on; one converted,
with a manual tripwire and one that fired) and one working POST each."""

from types import SimpleNamespace

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.goals.models import Goal
from failforward.premortems import services
from failforward.premortems.models import Cause, PreMortem, PreMortemComment, Risk, TripwireFiring
from tests.factories import count_now, fresh

WHO_MAY_CALL = {
    "premortems.new": "learner-only",
    "premortems.create": "learner-only",
    "premortems.write": "learner-or-coach",
    "premortems.save_causes": "learner-or-coach",
    "premortems.reveal_now": "learner-only",
    "premortems.reveal": "learner-or-coach",
    "premortems.comment": "learner-or-coach",
    "premortems.vote": "learner-or-coach",
    "premortems.create_risk": "learner-or-coach",
    "premortems.save_votes": "learner-or-coach",
    "premortems.close": "learner-only",
    "premortems.convert": "learner-only",
    "premortems.edit_risk": "learner-only",
    "premortems.update_risk": "learner-only",
    "premortems.prevented": "learner-only",
    "premortems.trigger": "learner-only",
    "premortems.clear": "learner-only",
}
IDS = {"premortem_id": "premortem", "risk_id": "risk"}
MITIGATION = {"prevention": "Sleep before night shifts", "tripwire": "manual", "contingency": "Drop to short reps",
              "owner": "learner", "due_on": "2026-06-01"}


def converted(learner: User, goal: Goal, titles: list[str]) -> list[Risk]:
    """A pre-mortem run to the end alone: one cause and one risk per title, every risk voted forward."""
    premortem = services.start(learner, goal, 6, len(titles), None)
    services.write_causes(premortem, learner, titles, finished=True)
    risks = [services.add_risk(premortem, learner.id, title, [cause.id]) for title, cause in
             zip(titles, premortem.causes, strict=True)]
    services.vote(premortem, learner, {risk.id: 1 for risk in risks})
    services.close_vote(premortem)
    return risks


def add_to_world(w: SimpleNamespace) -> None:
    learner, coach = db.session.get(User, w.learner), db.session.get(User, w.coach)
    goal = db.session.get(Goal, w.goal)
    writing = services.start(learner, goal, 6, 3, coach.id)
    services.write_causes(writing, learner, ["Night shifts", "Lost the runbook"], finished=False)
    voting = services.start(learner, goal, 6, 3, None)
    services.write_causes(voting, learner, ["Pager fatigue", "No feedback"], finished=True)
    services.vote(voting, learner, {services.add_risk(voting, learner.id, "Tired", [voting.causes[0].id]).id: 2})
    manual, fired = converted(learner, goal, ["Skipped sessions", "Burn-out"])
    for risk in (manual, fired):
        services.convert(risk, {**MITIGATION, "due_on": learner.created_at.date(), "drill_id": None, "threshold": None})
    services.trigger(fired)
    w.__dict__.update(premortem=writing.id, voting=voting.id, risk=manual.id, fired_risk=fired.id)


def posts() -> dict[str, tuple]:
    """(who, path, data, happened) for each POST, as test_security's Post takes them."""
    return {
        "premortems.create": ("learner", lambda w: f"/goals/{w.goal}/premortems",
                              lambda w: {"timer_minutes": "6", "dots": "3"}, lambda w, c: count_now(PreMortem) == 4),
        "premortems.save_causes": ("learner", lambda w: f"/premortems/{w.premortem}/causes",
                                   lambda w: {"causes": "One\nTwo\nThree", "action": "save"},
                                   lambda w, c: count_now(Cause, Cause.premortem_id == w.premortem) == 3),
        "premortems.reveal_now": ("learner", lambda w: f"/premortems/{w.premortem}/reveal", lambda w: {},
                                  lambda w, c: fresh(PreMortem, w.premortem).revealed_at is not None),
        "premortems.comment": ("learner", lambda w: f"/premortems/{w.premortem}/comments",
                               lambda w: {"body": "Night shifts again"},
                               lambda w, c: count_now(PreMortemComment) == 1),
        "premortems.create_risk": ("learner", lambda w: f"/premortems/{w.voting}/risks",
                                   lambda w: {"title": "No feedback loop"},
                                   lambda w, c: count_now(Risk, Risk.premortem_id == w.voting) == 2),
        "premortems.save_votes": ("learner", lambda w: f"/premortems/{w.voting}/votes",
                                  lambda w: {"risk_ids": str(fresh(PreMortem, w.voting).risks[0].id), "dots-0": "3"},
                                  lambda w, c: fresh(PreMortem, w.voting).risks[0].dots == 3),
        "premortems.close": ("learner", lambda w: f"/premortems/{w.voting}/close", lambda w: {},
                             lambda w, c: fresh(PreMortem, w.voting).stage == "convert"),
        "premortems.update_risk": ("learner", lambda w: f"/risks/{w.risk}",
                                   lambda w: {**MITIGATION, "prevention": "Nap first"},
                                   lambda w, c: fresh(Risk, w.risk).prevention == "Nap first"),
        "premortems.prevented": ("learner", lambda w: f"/risks/{w.risk}/prevented", lambda w: {},
                                 lambda w, c: fresh(Risk, w.risk).prevented_at is not None),
        "premortems.trigger": ("learner", lambda w: f"/risks/{w.risk}/trigger", lambda w: {},
                               lambda w, c: count_now(TripwireFiring, TripwireFiring.risk_id == w.risk) == 1),
        "premortems.clear": ("learner", lambda w: f"/risks/{w.fired_risk}/clear", lambda w: {},
                             lambda w, c: fresh(Risk, w.fired_risk).open_firing is None),
    }
