"""Pulse pages: answer from the emailed link or while signed in (once per period), a learner's own answers,
and a coach's aggregates."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from failforward.pulse import services
from failforward.pulse.forms import PulseForm
from failforward.pulse.models import THEMES
from failforward.web import done, render

bp = Blueprint("pulse", __name__)


def _form_page(pulse, form, token, http_status: int = 200):
    return render("pulse/answer.html", pulse=pulse, form=form, token=token,
                  needed=services.MIN_ANSWERS, http_status=http_status)


def _refused(pulse, http_status: int):
    return render("pulse/refused.html", message=services.why_not(pulse), http_status=http_status)


def _save(pulse, token):
    """Take the posted answers: None when saved, else the page to answer with (a form to correct, or a kind
    refusal when the pulse was answered already or has closed)."""
    if services.state(pulse) != services.OPEN:
        return _refused(pulse, 409)
    form = PulseForm()
    if not form.validate_on_submit():
        return _form_page(pulse, form, token, 422)
    if not services.answer(pulse, form.scores(), form.comment.data or ""):
        return _refused(pulse, 409)  # a double tap: the first one saved
    return None


@bp.get("/pulse/answer/<token>")
def answer_from_link(token: str):
    """The form behind the emailed link (mail scanners only GET; nothing changes here)."""
    pulse = services.pulse_from_token(token)
    if services.state(pulse) != services.OPEN:
        return _refused(pulse, 200)
    return _form_page(pulse, PulseForm(formdata=None), token)


@bp.post("/pulse/answer/<token>")
def save_from_link(token: str):
    """Save the answers; a pulse takes one answer, and a second one is refused kindly."""
    pulse = services.pulse_from_token(token)
    not_saved = _save(pulse, token)
    return not_saved if not_saved is not None else render("pulse/thanks.html", needed=services.MIN_ANSWERS)


@bp.get("/pulse")
@login_required
def index():
    """Your own pulse answers, newest first."""
    return render("pulse/index.html", pulses=services.pulses_of(current_user), state=services.state)


@bp.get("/pulse/<int:pulse_id>")
@login_required
def show(pulse_id: int):
    """Answer an open pulse while signed in; an answered or closed one says so."""
    pulse = services.own_pulse_or_404(current_user, pulse_id)
    if services.state(pulse) != services.OPEN:
        return redirect(url_for("pulse.index", _anchor=f"pulse-{pulse.id}"))
    return _form_page(pulse, PulseForm(formdata=None), None)


@bp.post("/pulse/<int:pulse_id>")
@login_required
def save(pulse_id: int):
    """Save the answers once."""
    pulse = services.own_pulse_or_404(current_user, pulse_id)
    not_saved = _save(pulse, None)
    if not_saved is not None:
        return not_saved
    return done(url_for("pulse.index"), flash="Thank you: your answers are saved.")


@bp.get("/pulse/coach")
@login_required
def coach():
    """A coach's pulse: aggregates of closed periods with enough answers, the trend, and comments."""
    return render("pulse/coach.html", page=services.coach_pulse(current_user), themes=list(THEMES.values()))
