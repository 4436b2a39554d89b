"""Review pages: the list, writing a review (prefilled from where it started), a review with its actions and
comments, an action's status and its "did the fix work?" check."""

from flask import Blueprint, flash, request, url_for
from flask_login import current_user, login_required

from failforward.calendar import today_for, zone_of
from failforward.reviews import services
from failforward.reviews.forms import (
    EXTRA_ROWS,
    ActionForm,
    CheckForm,
    CommentForm,
    ReviewForm,
    ShareForm,
    StatusForm,
    parse_from,
)
from failforward.reviews.models import ACTION_STATUSES, CHECK_ANSWERS, FACTOR_KINDS
from failforward.web import done, invalid, render

bp = Blueprint("reviews", __name__)
MORE_ROWS = "more_rows"  # the "add a row" button: the form again with more empty rows, nothing saved


def _page(review, **forms):
    """The review page's context: its read model and the forms (fresh unless one is passed in, with errors)."""
    learner = review.learner
    forms.setdefault("action_form", ActionForm(formdata=None, owners=services.owners(learner),
                                               today=today_for(learner), data={"owner_id": learner.id}))
    forms.setdefault("comment_form", CommentForm(formdata=None))
    return {"page": services.review_page(current_user, review), "kinds": FACTOR_KINDS,
            "statuses": ACTION_STATUSES, "answers": CHECK_ANSWERS,
            "share_form": ShareForm(formdata=None), **forms}


@bp.app_template_global("coach_fixes")
def _coach_fixes(coach):
    """The coach's own open fixes, for the feedback queue page (`feedback` sits below `reviews`, so its read
    model cannot ask for them: the page's include does, in one query)."""
    return services.coach_fixes(coach)


@bp.get("/reviews")
@login_required
def index():
    """Your blameless reviews, newest first."""
    return render("reviews/index.html", reviews=services.recent_reviews(current_user))


@bp.get("/reviews/new")
@login_required
def new():
    """Write a review; from a rep, a setback, a missed week or a follow-up it starts filled in."""
    source = parse_from(request.args.get("from"))
    form = ReviewForm(formdata=None, zone=zone_of(current_user), data=services.prefill(current_user, source))
    form.source.data = request.args.get("from", "") if source else ""
    form.offer_rows()
    return render("reviews/new.html", form=form, notes={})


@bp.post("/reviews")
@login_required
def create():
    """Save the review once (a double tap saves one); "add a row" shows the form again with more rows."""
    form = ReviewForm(zone=zone_of(current_user))
    if MORE_ROWS in request.form or not form.validate_on_submit():
        return _again("reviews/new.html", form)
    review, created = services.create_review(current_user, form.fields_dict(), form.timeline(), form.factor_list(),
                                             form.source_ref(), form.idempotency_key.data)
    return _saved(review, created)


@bp.post("/reviews/wording")
@login_required
def wording():
    """The blameless notes on the review as typed, beside each field while the person writes (htmx); nothing is
    saved, and a form still missing things gets its notes all the same."""
    form = ReviewForm(zone=zone_of(current_user))
    form.validate_on_submit()  # for its token check: the notes are advice, whatever else the form still lacks
    expired = "csrf_token" in form and bool(form.csrf_token.errors)
    notes = {} if expired else services.blame_notes(form.texts(), len(form.factor_list()))
    return render("reviews/new.html", "reviews/_wording.html", http_status=422 if expired else 200, form=form,
                  notes=notes, names=services.TEXT_FIELDS)


def _again(template: str, form: ReviewForm, **context):
    """The form again, as typed: with more empty rows (200) after "add a row", or with its errors (422); the
    blameless notes beside the fields either way."""
    more = MORE_ROWS in request.form
    form.offer_rows(EXTRA_ROWS if more else 0)
    return render(template, "reviews/_form.html", http_status=200 if more else 422, form=form,
                  notes=services.blame_notes(form.texts(), len(form.factor_list())), **context)


def _saved(review, created: bool = True):
    notes = services.review_notes(review)
    if not created:
        flash("Already saved (you tapped twice): nothing was added.", "success")
    elif notes:
        flash("Saved. A few gentle notes on wording are beside the fields: change them if they help.", "info")
        return done(url_for("reviews.edit", blameless_id=review.id))
    else:
        flash("Review saved. Now the fixes: add an action with an owner and a date.", "success")
    return done(url_for("reviews.show", blameless_id=review.id))


@bp.get("/reviews/<int:blameless_id>")
@login_required
def show(blameless_id: int):
    """A review: its timeline, factors, counterfactual, what worked, fixes and assumptions, comments."""
    return render("reviews/show.html", **_page(services.review_or_404(current_user, blameless_id)))


def _edit_form(review, formdata: bool = True) -> ReviewForm:
    zone = zone_of(review.learner)
    if formdata:
        return ReviewForm(zone=zone)
    data = {name: getattr(review, name) for name in ("trigger", "scope", "counterfactual", "what_worked", "assumptions",
                                                     "shared")}
    # Not `obj=review`: the timeline is shown in the learner's zone, not as the stored UTC instants.
    data["events"] = [{"at": e.at.astimezone(zone).replace(tzinfo=None), "what": e.what} for e in review.events]
    data["factors"] = [{"kind": f.kind, "what": f.what} for f in review.factors]
    form = ReviewForm(formdata=None, zone=zone, data=data)
    form.offer_rows()
    return form


@bp.get("/reviews/<int:blameless_id>/edit")
@login_required
def edit(blameless_id: int):
    """Change a review; the blameless notes sit beside the fields they are about."""
    review = services.own_review_or_404(current_user, blameless_id)
    return render("reviews/edit.html", review=review, form=_edit_form(review, formdata=False),
                  notes=services.review_notes(review))


@bp.post("/reviews/<int:blameless_id>")
@login_required
def update(blameless_id: int):
    """Save changes to a review ("add a row" shows it again with more rows)."""
    review = services.own_review_or_404(current_user, blameless_id)
    form = _edit_form(review)
    if MORE_ROWS in request.form or not form.validate_on_submit():
        return _again("reviews/edit.html", form, review=review)
    services.update_review(review, form.fields_dict(), form.timeline(), form.factor_list())
    return _saved(review)


@bp.post("/reviews/<int:blameless_id>/share")
@login_required
def share(blameless_id: int):
    """Share the review with the coach, or stop sharing it."""
    review = services.own_review_or_404(current_user, blameless_id)
    form = ShareForm()
    if not form.validate_on_submit():
        return invalid("reviews/show.html", **_page(review, share_form=form))
    services.set_shared(review, bool(form.shared.data))
    return done(url_for("reviews.show", blameless_id=review.id),
                flash="Shared with your coach." if review.shared else "Private again: only you see it.")


@bp.post("/reviews/<int:blameless_id>/comments")
@login_required
def comment(blameless_id: int):
    """Comment on a review (the learner's coach, once it is shared, or the learner)."""
    review = services.review_or_404(current_user, blameless_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return invalid("reviews/show.html", **_page(review, comment_form=form))
    services.add_comment(current_user, review, form.body.data)
    return done(url_for("reviews.show", blameless_id=review.id, _anchor="comments"), flash="Comment added.")


@bp.post("/reviews/<int:blameless_id>/actions")
@login_required
def add_action(blameless_id: int):
    """Add a fix we'll implement, with its owner, due date, done condition and check."""
    review = services.own_review_or_404(current_user, blameless_id)
    form = ActionForm(owners=services.owners(review.learner), today=today_for(review.learner))
    if not form.validate_on_submit():
        return invalid("reviews/show.html", **_page(review, action_form=form))
    action, created = services.add_action(review, form.fields_dict(), form.idempotency_key.data)
    return done(url_for("reviews.show", blameless_id=review.id, _anchor=f"action-{action.id}"),
                flash=f"Fix added, due {action.due_on:%-d %B}." if created else "Already added (you tapped twice).")


@bp.post("/actions/<int:action_id>/status")
@login_required
def action_status(action_id: int):
    """Mark a fix done, verified (with the evidence), not doing (with the reason), or open again (the learner, or
    the coach who owns it)."""
    action = services.action_to_mark_or_404(current_user, action_id)
    form = StatusForm(prefix=f"a{action.id}")
    if not form.validate_on_submit():
        return invalid("reviews/show.html", **_page(action.review, status_errors={action.id: form}))
    services.set_status(action, form.status.data, form.note.data or "")
    return done(url_for("reviews.show", blameless_id=action.review_id, _anchor=f"action-{action.id}"),
                flash=f"Marked {ACTION_STATUSES[action.status].lower()}.")


@bp.get("/actions/<int:action_id>/check")
@login_required
def check(action_id: int):
    """Did the fix work? (The email links here; the home page links here too.)"""
    action = services.own_action_or_404(current_user, action_id)
    return render("reviews/check.html", action=action, form=CheckForm(formdata=None))


@bp.post("/actions/<int:action_id>/check")
@login_required
def answer_check(action_id: int):
    """Keep the answer: it worked verifies the fix; too early asks again in 7 days."""
    action = services.own_action_or_404(current_user, action_id)
    form = CheckForm()
    if not form.validate_on_submit():
        return invalid("reviews/check.html", action=action, form=form)
    services.answer_check(action, form.answer.data, form.note.data or "")
    return done(url_for("reviews.show", blameless_id=action.review_id, _anchor=f"action-{action.id}"),
                flash=f"Saved: {CHECK_ANSWERS[form.answer.data].lower()}.")
