"""Ledger pages: logging a rep (htmx or plain post), editing within 24 hours, the weekly ledger,
and the goal index with the weeks each goal has held."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user, login_required

from failforward.calendar import zone_of
from failforward.coaching.access import learner_or_404
from failforward.forms import ConfirmForm
from failforward.goals import services as goals
from failforward.ledger import services
from failforward.ledger.forms import RepForm
from failforward.web import done, invalid, query_number, query_page, render

bp = Blueprint("ledger", __name__)


@bp.get("/log")
@login_required
def new():
    """The rep form on a page of its own (the home page has the same card)."""
    card = services.quick_log(current_user, query_number("drill"))
    return render("ledger/new.html", card=card, form=RepForm.blank(card))


@bp.post("/reps")
@login_required
def create():
    """Save a rep; a double tap saves once. htmx gets the card back with the new row in place."""
    card = services.quick_log(current_user)
    form = RepForm(drills=card.drills, zone=zone_of(current_user))
    if not form.validate_on_submit():
        return invalid("ledger/new.html", "ledger/_quick_log.html", card=card, form=form)
    card = services.log_from_card(card, form.drill_id.data, form.fields_dict(), form.idempotency_key.data)
    return done(url_for("home.index"), "ledger/_quick_log.html", flash=card.flash, card=card, form=RepForm.blank(card))


@bp.get("/reps/<int:rep_id>/edit")
@login_required
def edit(rep_id: int):
    """Edit a rep within 24 hours of logging it."""
    rep = services.own_rep_or_404(current_user, rep_id)
    if not rep.editable:
        abort(403, "This rep was logged more than 24 hours ago and is now part of the record.")
    form = RepForm(obj=rep, drills=_drills_for(rep), zone=zone_of(current_user),
                   data={"performed_at": rep.performed_at.astimezone(zone_of(current_user)).replace(
                       tzinfo=None, second=0, microsecond=0)})
    return render("ledger/edit.html", form=form, rep=rep)


def _drills_for(rep):
    drills = goals.active_drills(current_user)
    return drills if any(d.id == rep.drill_id for d in drills) else [rep.drill, *drills]


@bp.post("/reps/<int:rep_id>")
@login_required
def update(rep_id: int):
    """Save changes to a rep."""
    rep = services.own_rep_or_404(current_user, rep_id)
    form = RepForm(drills=_drills_for(rep), zone=zone_of(current_user))
    if not form.validate_on_submit():
        return invalid("ledger/edit.html", form=form, rep=rep)
    services.update_rep(rep, goals.own_drill_or_404(current_user, form.drill_id.data), form.fields_dict())
    flash("Rep saved.", "success")
    return redirect(url_for("ledger.index"), 303)


@bp.get("/reps/<int:rep_id>/delete")
@login_required
def confirm_delete(rep_id: int):
    """Ask before deleting a rep."""
    rep = services.own_rep_or_404(current_user, rep_id)
    return render("ledger/delete.html", rep=rep, form=ConfirmForm())


@bp.post("/reps/<int:rep_id>/delete")
@login_required
def delete(rep_id: int):
    """Delete a rep within 24 hours of logging it."""
    rep = services.own_rep_or_404(current_user, rep_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return invalid("ledger/delete.html", rep=rep, form=form)
    services.delete_rep(rep)
    flash("Rep deleted.", "info")
    return redirect(url_for("ledger.index"), 303)


@bp.get("/ledger")
@login_required
def index():
    """Your reps by week, with weekly practice time and count; filter by goal or drill."""
    page = query_page(10_000)
    goal_id, drill_id = query_number("goal"), query_number("drill")
    return render("ledger/index.html", "ledger/_weeks.html",
                  ledger=services.ledger_page(current_user, page, goal_id, drill_id))


@bp.get("/goals")
@login_required
def goals_index():
    """Your goals with how many weeks each has held its target."""
    mine = goals.goals_of(current_user)
    return render("goals/index.html", goals=mine, learner=current_user,
                  progress=services.goal_progress(mine, zone_of(current_user), services.STATUS_WEEKS))


@bp.get("/learners/<int:learner_id>/goals")
@login_required
def learner_goals(learner_id: int):
    """A learner's goals and weeks held, for their active coach."""
    learner = learner_or_404(current_user, learner_id)
    theirs = goals.goals_of(learner)
    return render("goals/index.html", goals=theirs, learner=learner,
                  progress=services.goal_progress(theirs, zone_of(learner), services.STATUS_WEEKS))
