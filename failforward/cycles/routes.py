"""PDSA cycle pages: plan one on a goal, its page (study, notes, decision, comments), and changing its rule."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.calendar import today_for
from failforward.cycles import services
from failforward.cycles.forms import CommentForm, DecisionForm, NoteForm, PlanForm, RuleForm
from failforward.cycles.models import COMMENT, OBSERVATION, STATES, VERDICTS
from failforward.database import as_id
from failforward.forms import ConfirmForm
from failforward.goals.services import own_goal_or_404
from failforward.web import done, invalid, query_number, render

bp = Blueprint("cycles", __name__)


def _plan_form(goal, formdata: bool = True, data: dict | None = None) -> PlanForm:
    choices = services.plan_choices(goal)
    return PlanForm(**({} if formdata else {"formdata": None}), data=data, drills=choices.drills,
                    other_goals=choices.other_goals, today=today_for(goal.learner))


def _cycle_page(cycle, **forms):
    """The cycle's page, with empty forms unless one is given (kept with its errors)."""
    decided = {"decision": cycle.decision, "note": cycle.decision_note}
    forms = {"note_form": NoteForm(formdata=None), "comment_form": CommentForm(formdata=None, prefix="comment"),
             "decision_form": DecisionForm(formdata=None, data=decided), **forms}
    return dict(page=services.cycle_page(current_user, cycle), states=STATES, verdicts=VERDICTS, **forms)


@bp.get("/goals/<int:goal_id>/cycles/new")
@login_required
def new(goal_id: int):
    """Plan a small test (PDSA); `change`, `objective` and `drill` prefill it, `after` copies a cycle forward."""
    goal = own_goal_or_404(current_user, goal_id)
    wanted = {name: request.args.get(name, "")[:2000] for name in ("change", "objective")}
    data, previous = services.prefill(goal, query_number("after"), {**wanted, "drill_id": query_number("drill")})
    form = _plan_form(goal, formdata=False, data={**data, "drill_id": str(data.get("drill_id") or "")})
    if len(form.drill_id.choices) == 1:  # one drill to test on: picked already
        form.drill_id.data = form.drill_id.choices[0].value
    form.previous.data = str(previous.id) if previous else ""
    return render("cycles/new.html", form=form, goal=goal, previous=previous)


@bp.post("/goals/<int:goal_id>/cycles")
@login_required
def create(goal_id: int):
    """Save the plan once (a double tap saves one); warn about a wide scope or a long timebox."""
    goal = own_goal_or_404(current_user, goal_id)
    form = _plan_form(goal)
    if not form.validate_on_submit():
        return invalid("cycles/new.html", "cycles/_plan_form.html", form=form, goal=goal, previous=None)
    cycle, created = services.create_cycle(current_user, goal, form.fields_dict(), as_id(form.previous.data or ""),
                                           form.idempotency_key.data)
    for warning in cycle.warnings if created else ():
        flash(warning, "warning")
    return done(url_for("cycles.show", cycle_id=cycle.id),
                flash="Cycle planned. Log reps on the drill as usual." if created else "Already saved.")


@bp.get("/cycles/<int:cycle_id>")
@login_required
def show(cycle_id: int):
    """A cycle: the plan and rule, its state, the verdict beside the prediction, notes, decision, comments."""
    cycle = services.cycle_or_404(current_user, cycle_id)
    return render("cycles/show.html", **_cycle_page(cycle))


@bp.post("/cycles/<int:cycle_id>/study")
@login_required
def study(cycle_id: int):
    """Study it now: end the test early and apply the rule."""
    cycle = services.own_cycle_or_404(current_user, cycle_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("cycles.show", cycle_id=cycle_id), 303)
    studied = services.study_now(cycle)
    return done(url_for("cycles.show", cycle_id=cycle_id, _anchor="study"),
                flash="Studied: see what the rule says." if studied else "This cycle is not running.")


@bp.post("/cycles/<int:cycle_id>/decision")
@login_required
def decide(cycle_id: int):
    """Act: record adopt, adapt or abandon with a note."""
    cycle = services.own_cycle_or_404(current_user, cycle_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return invalid("cycles/show.html", **_cycle_page(cycle, decision_form=form))
    decided = services.decide(cycle, form.decision.data, form.note.data or "")
    return done(url_for("cycles.show", cycle_id=cycle_id, _anchor="act"),
                flash="Decision saved." if decided else "Study the cycle before deciding.")


def _add_note(cycle_id: int, cycle, kind: str, prefix: str):
    form = CommentForm(prefix=prefix) if prefix else NoteForm()
    if not form.validate_on_submit():
        return invalid("cycles/show.html", **_cycle_page(cycle, **{f"{prefix or 'note'}_form": form}))
    services.add_note(current_user, cycle, kind, form.body.data)
    return done(url_for("cycles.show", cycle_id=cycle_id, _anchor=f"{kind}s"), flash="Note added.")


@bp.post("/cycles/<int:cycle_id>/observations")
@login_required
def observe(cycle_id: int):
    """Add an observation (the learner) while the cycle runs."""
    return _add_note(cycle_id, services.own_cycle_or_404(current_user, cycle_id), OBSERVATION, "")


@bp.post("/cycles/<int:cycle_id>/comments")
@login_required
def comment(cycle_id: int):
    """Comment on a cycle (the learner's coach, or the learner)."""
    return _add_note(cycle_id, services.cycle_or_404(current_user, cycle_id), COMMENT, "comment")


def _rule_form(cycle, formdata: bool = True) -> RuleForm:
    others = services.plan_choices(cycle.goal).other_goals
    if formdata:
        return RuleForm(other_goals=others)
    harm = f"goal:{cycle.harm_goal_id}" if cycle.harm_goal_id else cycle.harm
    return RuleForm(formdata=None, obj=cycle, data={"harm": harm}, other_goals=others)


@bp.get("/cycles/<int:cycle_id>/rule")
@login_required
def edit_rule(cycle_id: int):
    """Change the decision rule (once started, the change is recorded)."""
    cycle = services.own_cycle_or_404(current_user, cycle_id)
    page = services.cycle_page(current_user, cycle)
    return render("cycles/rule.html", form=_rule_form(cycle, formdata=False), page=page)


@bp.post("/cycles/<int:cycle_id>/rule")
@login_required
def update_rule(cycle_id: int):
    """Save the rule; after the start the cycle is marked "rule changed after start"."""
    cycle = services.own_cycle_or_404(current_user, cycle_id)
    form = _rule_form(cycle)
    if not form.validate_on_submit():
        return invalid("cycles/rule.html", form=form, page=services.cycle_page(current_user, cycle))
    changed = services.update_rule(cycle, form.rule_dict(), form.reason.data or "")
    return done(url_for("cycles.show", cycle_id=cycle_id),
                flash="Rule saved." if changed else "The cycle was studied: its rule stays as it was.")
