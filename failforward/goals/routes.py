"""Goal and drill forms: create, edit, status, archive, copy. (A goal's page, with its weeks and
reps, is the ledger's: see failforward/ledger/routes.py.)"""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from failforward.forms import ConfirmForm, choices
from failforward.goals import services
from failforward.goals.forms import CopyDrillForm, DrillForm, GoalForm, GoalStatusForm
from failforward.web import invalid, render

bp = Blueprint("goals", __name__)


def _goal_page(goal_id: int) -> str:
    return url_for("home.goal", goal_id=goal_id)


@bp.get("/goals/new")
@login_required
def new():
    """The new-goal form."""
    return render("goals/form.html", form=GoalForm(), goal=None)


@bp.post("/goals")
@login_required
def create():
    """Create a goal, then suggest its first drill."""
    form = GoalForm()
    if not form.validate_on_submit():
        return invalid("goals/form.html", form=form, goal=None)
    goal = services.create_goal(current_user, form.fields_dict())
    flash("Goal created. Now design a drill that practises it.", "success")
    return redirect(url_for("goals.new_drill", goal_id=goal.id), 303)


@bp.get("/goals/<int:goal_id>/edit")
@login_required
def edit(goal_id: int):
    """The edit form for a goal."""
    goal = services.own_goal_or_404(current_user, goal_id)
    return render("goals/form.html", form=GoalForm(obj=goal), goal=goal,
                  status_form=GoalStatusForm(obj=goal))


@bp.post("/goals/<int:goal_id>")
@login_required
def update(goal_id: int):
    """Save a goal's definition."""
    goal = services.own_goal_or_404(current_user, goal_id)
    form = GoalForm()
    if not form.validate_on_submit():
        return invalid("goals/form.html", form=form, goal=goal, status_form=GoalStatusForm(obj=goal))
    services.update_goal(goal, form.fields_dict())
    flash("Goal saved.", "success")
    return redirect(_goal_page(goal.id), 303)


@bp.post("/goals/<int:goal_id>/status")
@login_required
def update_status(goal_id: int):
    """Pause, resume, drop or mark reached."""
    goal = services.own_goal_or_404(current_user, goal_id)
    form = GoalStatusForm()
    if not form.validate_on_submit():
        return invalid("goals/form.html", form=GoalForm(obj=goal), goal=goal, status_form=form)
    services.set_status(goal, form.status.data, form.drop_reason.data)
    flash(f"Goal is now {form.status.data}.", "success")
    return redirect(_goal_page(goal.id), 303)


@bp.get("/goals/<int:goal_id>/drills/new")
@login_required
def new_drill(goal_id: int):
    """The new-drill form, with the option to copy one of your other drills."""
    goal = services.own_goal_or_404(current_user, goal_id)
    return render("goals/drill_form.html", form=DrillForm(), goal=goal, drill=None,
                  copy_form=_copy_form(goal))


@bp.post("/goals/<int:goal_id>/drills")
@login_required
def create_drill(goal_id: int):
    """Add a drill to the goal."""
    goal = services.own_goal_or_404(current_user, goal_id)
    form = DrillForm()
    if not form.validate_on_submit():
        return invalid("goals/drill_form.html", form=form, goal=goal, drill=None, copy_form=_copy_form(goal))
    services.create_drill(goal, form.fields_dict())
    flash("Drill added. Log your first rep from the home page.", "success")
    return redirect(_goal_page(goal.id), 303)


def _copy_form(goal) -> CopyDrillForm | None:
    drills = services.copyable_drills(goal)
    if not drills:
        return None
    form = CopyDrillForm()
    form.drill_id.choices = choices((d.id, f"{d.name} (from {d.goal.title})") for d in drills)
    return form


@bp.post("/goals/<int:goal_id>/drills/copy")
@login_required
def copy_drill(goal_id: int):
    """Copy one of your drills from another goal onto this one."""
    goal = services.own_goal_or_404(current_user, goal_id)
    form = _copy_form(goal)
    if form is None or not form.validate_on_submit():
        return invalid("goals/drill_form.html", form=DrillForm(), goal=goal, drill=None, copy_form=form)
    drill = services.copy_drill(services.own_drill_or_404(current_user, form.drill_id.data), goal)
    flash(f"Copied \u201c{drill.name}\u201d. Adjust it for this goal if needed.", "success")
    return redirect(url_for("goals.edit_drill", drill_id=drill.id), 303)


@bp.get("/drills/<int:drill_id>/edit")
@login_required
def edit_drill(drill_id: int):
    """The edit form for a drill."""
    drill = services.own_drill_or_404(current_user, drill_id)
    return render("goals/drill_form.html", form=DrillForm(obj=drill), goal=drill.goal, drill=drill, copy_form=None)


@bp.post("/drills/<int:drill_id>")
@login_required
def update_drill(drill_id: int):
    """Save a drill's design."""
    drill = services.own_drill_or_404(current_user, drill_id)
    form = DrillForm()
    if not form.validate_on_submit():
        return invalid("goals/drill_form.html", form=form, goal=drill.goal, drill=drill, copy_form=None)
    services.update_drill(drill, form.fields_dict())
    flash("Drill saved.", "success")
    return redirect(_goal_page(drill.goal_id), 303)


@bp.post("/drills/<int:drill_id>/archive")
@login_required
def archive_drill(drill_id: int):
    """Archive a drill; its reps stay in the record."""
    drill = services.own_drill_or_404(current_user, drill_id)
    if ConfirmForm().validate_on_submit():
        services.set_archived(drill, True)
        flash(f"\u201c{drill.name}\u201d archived. Its reps stay in your ledger.", "info")
    return redirect(_goal_page(drill.goal_id), 303)


@bp.post("/drills/<int:drill_id>/restore")
@login_required
def restore_drill(drill_id: int):
    """Bring an archived drill back."""
    drill = services.own_drill_or_404(current_user, drill_id)
    if ConfirmForm().validate_on_submit():
        services.set_archived(drill, False)
        flash(f"\u201c{drill.name}\u201d is back among your drills.", "info")
    return redirect(_goal_page(drill.goal_id), 303)
