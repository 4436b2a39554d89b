"""Feedback pages: ask on a rep, the coach's queue with inline answers, a request's thread."""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from failforward.feedback import services
from failforward.feedback.forms import AnswerForm, AskForm, FollowUpForm, HelpfulForm
from failforward.forms import choices
from failforward.ledger.services import own_rep_or_404
from failforward.web import done, invalid, local_time, query_number, query_page, render

bp = Blueprint("feedback", __name__)


def _ask_form(rep) -> AskForm:
    form = AskForm()
    form.extra_reps.choices = choices(
        (r.id, f"{r.value:g} at {local_time(r.performed_at, '%H:%M')}") for r in services.session_reps(rep))
    return form


@bp.get("/reps/<int:rep_id>/feedback/new")
@login_required
def new(rep_id: int):
    """Ask your coach for feedback on a rep."""
    rep = own_rep_or_404(current_user, rep_id)
    return render("feedback/new.html", rep=rep, form=_ask_form(rep))


@bp.post("/reps/<int:rep_id>/feedback")
@login_required
def create(rep_id: int):
    """Send the request to your coaches."""
    rep = own_rep_or_404(current_user, rep_id)
    form = _ask_form(rep)
    if not form.validate_on_submit():
        return invalid("feedback/new.html", rep=rep, form=form)
    extra = [own_rep_or_404(current_user, rep_id) for rep_id in form.extra_reps.data or []]
    try:
        feedback = services.ask(current_user, rep, form.question.data or "", extra)
    except services.FeedbackError as error:
        form.question.errors.append(str(error))
        return invalid("feedback/new.html", rep=rep, form=form)
    flash("Sent to your coach. You'll see the answer here and under the rep.", "success")
    return redirect(url_for("feedback.show", request_id=feedback.id), 303)


@bp.get("/feedback")
@login_required
def index():
    """Your feedback requests and answers, and how fast feedback arrives."""
    return render("feedback/index.html", requests=services.learner_requests(current_user),
                  latency=services.latency([current_user.id])[current_user.id])


@bp.get("/feedback/<int:request_id>")
@login_required
def show(request_id: int):
    """A request: the reps, the question, the answers, and what each side can do next."""
    feedback = services.request_or_404(current_user, request_id)
    return render("feedback/show.html", feedback=feedback, answer_form=AnswerForm(),
                  follow_up_form=FollowUpForm(), helpful_form=HelpfulForm())


@bp.get("/queue")
@login_required
def queue():
    """The coach's queue: open requests from every learner (or the one picked), nearest due first,
    answered inline, a page at a time."""
    learner_id = query_number("learner")
    queue = services.queue_page(current_user, query_page(), learner_id)
    return render("feedback/queue.html", queue=queue, page=queue.page, learner_id=learner_id, trends=queue.trends,
                  form=AnswerForm())


@bp.post("/feedback/<int:request_id>/answer")
@login_required
def answer(request_id: int):
    """Answer a request; htmx removes it from the queue in place."""
    feedback = services.request_or_404(current_user, request_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return invalid("feedback/show.html", "feedback/_queue_item.html", feedback=feedback, answer_form=form,
                       follow_up_form=FollowUpForm(), helpful_form=HelpfulForm(), form=form,
                       item=services.QueueItem.of(feedback),
                       trends=services.trends([feedback.rep.drill_id]), learner_id=query_number("learner"))
    sent = f"Feedback sent to {feedback.learner.name}."  # read in the write's own transaction, not a new one
    services.answer(current_user, feedback, form.body.data)
    page = query_page()  # back to the queue page (and the learner picked) the coach answered from
    return done(url_for("feedback.queue", learner=query_number("learner"), page=page if page > 1 else None),
                "feedback/_answered.html", flash=sent, feedback=feedback)


@bp.post("/feedback/<int:request_id>/follow-up")
@login_required
def follow_up(request_id: int):
    """Ask your coach a follow-up question."""
    feedback = services.request_or_404(current_user, request_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        return invalid("feedback/show.html", feedback=feedback, answer_form=AnswerForm(), follow_up_form=form,
                       helpful_form=HelpfulForm())
    services.follow_up(current_user, feedback, form.body.data)
    flash("Follow-up sent.", "success")
    return redirect(url_for("feedback.show", request_id=feedback.id), 303)


@bp.post("/feedback/<int:request_id>/helpful")
@login_required
def rate(request_id: int):
    """Say whether the feedback helped."""
    feedback = services.request_or_404(current_user, request_id)
    form = HelpfulForm()
    if not form.validate_on_submit():
        return invalid("feedback/show.html", feedback=feedback, answer_form=AnswerForm(),
                       follow_up_form=FollowUpForm(), helpful_form=form)
    services.mark_helpful(current_user, feedback, form.helpful.data == "yes")
    flash("Thanks: your coach sees this.", "success")
    return redirect(url_for("feedback.show", request_id=feedback.id), 303)
