"""Check-in pages: answer from the emailed link (GET shows the form, POST saves), or while
signed in; learners and their coaches read past check-ins."""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from failforward.checkins import services
from failforward.checkins.forms import CheckinForm
from failforward.coaching.access import learner_or_404
from failforward.web import invalid, render

bp = Blueprint("checkins", __name__)


@bp.get("/checkins/answer/<token>")
def answer_from_link(token: str):
    """The form behind the emailed link (mail scanners only GET; nothing changes here)."""
    checkin = services.open_checkin_from_token(token)
    return render("checkins/answer.html", checkin=checkin, form=CheckinForm(obj=checkin), token=token)


@bp.post("/checkins/answer/<token>")
def save_from_link(token: str):
    """Save the answers; the link acts once, later changes need signing in."""
    checkin = services.open_checkin_from_token(token)
    form = CheckinForm()
    if not form.validate_on_submit():
        return invalid("checkins/answer.html", checkin=checkin, form=form, token=token)
    services.answer(checkin, form.went_well.data or "", form.failed.data or "", form.try_next.data or "")
    return render("checkins/thanks.html", checkin=checkin)


@bp.get("/checkins")
@login_required
def index():
    """Your past check-ins and their answers."""
    return render("checkins/index.html", learner=current_user,
                  checkins=services.checkins_of(current_user, current_user.id))


@bp.get("/learners/<int:learner_id>/checkins")
@login_required
def of_learner(learner_id: int):
    """A learner's check-ins, for their active coach."""
    learner = learner_or_404(current_user, learner_id)
    return render("checkins/index.html", learner=learner, checkins=services.checkins_of(current_user, learner.id))


@bp.get("/checkins/<int:checkin_id>")
@login_required
def edit(checkin_id: int):
    """Answer or revise a check-in while signed in."""
    checkin = services.own_checkin_or_404(current_user, checkin_id)
    return render("checkins/answer.html", checkin=checkin, form=CheckinForm(obj=checkin), token=None)


@bp.post("/checkins/<int:checkin_id>")
@login_required
def update(checkin_id: int):
    """Save the answers."""
    checkin = services.own_checkin_or_404(current_user, checkin_id)
    form = CheckinForm()
    if not form.validate_on_submit():
        return invalid("checkins/answer.html", checkin=checkin, form=form, token=None)
    services.answer(checkin, form.went_well.data or "", form.failed.data or "", form.try_next.data or "")
    flash("Check-in saved. Your coach can read it.", "success")
    return redirect(url_for("checkins.index"), 303)
