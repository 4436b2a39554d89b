"""Setback pages: the reappraisal in two steps, the library, sharing one reflection, and the
20-minute recovery routine (a checklist without JavaScript, timed steps with it)."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.database import as_id
from failforward.forms import ConfirmForm
from failforward.reflection import prompts, services
from failforward.reflection.forms import FeelingForm, ReappraisalForm, RoutineForm
from failforward.web import done, invalid, query_number, render

bp = Blueprint("reflection", __name__)


def _feeling_page(form: FeelingForm, status: int = 200):
    rep = services.missed_rep(current_user, form.rep())
    context = {"form": form, "rep": rep, "latest_miss": None if rep else services.latest_miss(current_user),
               "unfinished": services.unfinished_routine(current_user)}
    if status == 422:
        return invalid("reflection/new.html", "reflection/_feeling_form.html", **context)
    return render("reflection/new.html", **context)


@bp.get("/setback")
@login_required
def new():
    """Had a setback: name the feeling and what happened (offered, never forced)."""
    form = FeelingForm(formdata=None)
    form.rep_id.data = str(query_number("rep") or "")
    return _feeling_page(form)


@bp.post("/reflections")
@login_required
def create():
    """Save step 1 once (a double tap saves one), then on to the reappraisal."""
    form = FeelingForm()
    if not form.validate_on_submit():
        return _feeling_page(form, 422)
    fields = {**form.data, "intensity_before": int(form.intensity_before.data), "rep_id": form.rep()}
    reflection = services.start_reflection(current_user, fields, form.idempotency_key.data)
    return done(url_for("reflection.reappraise", reflection_id=reflection.id))


def _reappraise_form(reflection, formdata=True) -> tuple[ReappraisalForm, str]:
    group = request.values.get("group") or reflection.situation
    group = group if group in prompts.PROMPTS else next(iter(prompts.PROMPTS))
    form = ReappraisalForm(**({} if formdata else {"formdata": None}),
                           options=services.prompt_options(current_user, group))
    form.group.data = group
    return form, group


@bp.get("/reflections/<int:reflection_id>/reappraise")
@login_required
def reappraise(reflection_id: int):
    """Step 2: pick a reappraisal for this kind of setback (or write one), then rate the feeling again."""
    reflection = services.own_reflection_or_404(current_user, reflection_id)
    if reflection.finished_at:
        return redirect(url_for("reflection.show", reflection_id=reflection.id), 303)
    form, group = _reappraise_form(reflection, formdata=False)
    return render("reflection/reappraise.html", reflection=reflection, form=form, group=group,
                  situations=prompts.SHORT)


@bp.post("/reflections/<int:reflection_id>/reappraise")
@login_required
def finish(reflection_id: int):
    """Save the reappraisal and the second rating."""
    reflection = services.own_reflection_or_404(current_user, reflection_id)
    form, group = _reappraise_form(reflection)
    if not form.validate_on_submit():
        return invalid("reflection/reappraise.html", "reflection/_reappraise_form.html", reflection=reflection,
                       form=form, group=group, situations=prompts.SHORT)
    services.finish_reflection(reflection, form.prompt.data, form.own_text.data or "", bool(form.keep_own.data),
                               int(form.intensity_after.data))
    return done(url_for("reflection.show", reflection_id=reflection.id))


@bp.get("/reflections/<int:reflection_id>")
@login_required
def show(reflection_id: int):
    """One reflection: the feeling before and after, the reappraisal, what to do next."""
    reflection = services.reflection_or_404(current_user, reflection_id)
    mine = reflection.learner_id == current_user.id
    return render("reflection/show.html", reflection=reflection, mine=mine,
                  drop=services.average_drop(current_user) if mine else None)


@bp.post("/reflections/<int:reflection_id>/share")
@login_required
def share(reflection_id: int):
    """Share this one reflection with your coach, or stop sharing it."""
    reflection = services.own_reflection_or_404(current_user, reflection_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return invalid("reflection/show.html", reflection=reflection, mine=True, form=form,
                       drop=services.average_drop(current_user))
    shared = request.form.get("shared") == "yes"
    services.set_shared(reflection, shared)
    flash("Shared with your coach." if shared else "Private again: your coach no longer sees it.", "success")
    return redirect(url_for("reflection.show", reflection_id=reflection.id), 303)


@bp.get("/reflections")
@login_required
def index():
    """Your reflections, and how much reappraising has helped on average."""
    return render("reflection/index.html", reflections=services.reflections_of(current_user),
                  drop=services.average_drop(current_user))


@bp.get("/reflections/prompts")
@login_required
def library():
    """The reappraisal library, by situation, and the prompts you kept."""
    return render("reflection/prompts.html", library=prompts.library(), own=services.own_prompts(current_user))


# --- the recovery routine -----------------------------------------------------------------------

@bp.get("/recovery")
@login_required
def routine_start():
    """The 20-minute recovery routine: start one, or resume the one you left."""
    return render("reflection/routine_start.html", unfinished=services.unfinished_routine(current_user),
                  reflection_id=query_number("reflection"))


@bp.post("/recovery")
@login_required
def start_routine():
    """Start the routine (or go back to the one left unfinished)."""
    reflection_id = as_id(request.form.get("reflection"))
    reflection = services.own_reflection_or_404(current_user, reflection_id) if reflection_id else None
    form = ConfirmForm()
    if not form.validate_on_submit():
        return invalid("reflection/routine_start.html", unfinished=services.unfinished_routine(current_user),
                       reflection_id=reflection_id, form=form)
    routine = services.start_routine(current_user, reflection)
    return redirect(url_for("reflection.routine", routine_id=routine.id), 303)


@bp.get("/recovery/<int:routine_id>")
@login_required
def routine(routine_id: int):
    """The routine at the step where it was left."""
    routine = services.own_routine_or_404(current_user, routine_id)
    return render("reflection/routine.html", routine=routine, form=RoutineForm(formdata=None, obj=routine,
                                                                               share=routine.shared))


@bp.post("/recovery/<int:routine_id>")
@login_required
def save_routine(routine_id: int):
    """Save the routine so far; go on, skip a step, save to leave, or finish."""
    routine = services.own_routine_or_404(current_user, routine_id)
    form = RoutineForm()
    if not form.validate_on_submit():
        return invalid("reflection/routine.html", routine=routine, form=form)
    action = form.action.data if form.action.data in ("next", "skip", "save", "finish") else "save"
    services.save_routine(routine, form.fields_dict(), action)
    if action == "save":
        flash("Saved. Come back to it whenever you like: it waits for you here.", "success")
    return redirect(url_for("reflection.routine", routine_id=routine.id, _anchor=f"step-{routine.step}"), 303)


