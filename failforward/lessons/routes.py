"""Lesson pages: the log with search, quick capture, a lesson and its check, the weekly review and
monthly synthesis, and a coach's read-only view of shared lessons."""

from datetime import timedelta

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.calendar import today_for
from failforward.coaching.access import learner_or_404
from failforward.forms import ConfirmForm
from failforward.lessons import reviews, search, services
from failforward.lessons.forms import SOURCES, CheckForm, CommentForm, LessonForm, SearchForm
from failforward.lessons.models import DID_NOT, STATUSES, TAG_KINDS
from failforward.reflection import services as reflection
from failforward.reviews import services as blameless
from failforward.web import done, invalid, query_day, query_number, render, safe_next, wants_fragment

bp = Blueprint("lessons", __name__)


def check_form(lesson, formdata: bool = False) -> CheckForm:
    """The check form of one lesson; prefixed by its id, so several fit on one page (the home page)."""
    form = CheckForm(prefix=f"check{lesson.id}", **({} if formdata else {"formdata": None}))
    if not formdata:
        form.next.data = request.path
    return form


@bp.app_template_global("check_form")
def _check_form_global(lesson) -> CheckForm:
    return check_form(lesson)


def _search(learner):
    form = SearchForm(formdata=request.args, tags=services.tags_of(learner))
    filters = form.filters() if form.validate() else {"q": ""}
    return form, search.search(current_user, learner, filters), filters


@bp.get("/lessons")
@login_required
def index():
    """Your lessons: search them (all the words, highlighted), filter by tag and status."""
    form, hits, filters = _search(current_user)
    return render("lessons/index.html", "lessons/_results.html", form=form, hits=hits, filters=filters,
                  learner=current_user, due=services.due_checks(current_user),
                  from_coaches=services.lessons_from_coaches(current_user))


@bp.get("/learners/<int:learner_id>/lessons")
@login_required
def of_learner(learner_id: int):
    """A coach's read-only view of what a learner shared: lessons (searchable), reflections, blameless reviews,
    learnings."""
    learner = learner_or_404(current_user, learner_id)  # the learner sees what their coach sees
    form, hits, filters = _search(learner)
    return render("lessons/of_learner.html", "lessons/_results.html", form=form, hits=hits, filters=filters,
                  learner=learner, reflections=reflection.shared_reflections(learner),
                  learnings=reflection.shared_learnings(learner), shared_reviews=blameless.shared_reviews(learner))


def _source() -> tuple[str, int] | None:
    for kind in SOURCES:
        value = query_number(kind)
        if value:
            return kind, value
    return None


@bp.get("/lessons/new")
@login_required
def new():
    """Write a lesson; from a rep, reflection, routine, feedback answer or a check, it starts filled in."""
    source = _source()
    today = today_for(current_user)
    form = LessonForm(formdata=None, today=today, data={"happened_on": today, **services.prefill(current_user, source)})
    form.source.data = f"{source[0]}:{source[1]}" if source else ""
    return render("lessons/new.html", form=form)


@bp.post("/lessons")
@login_required
def create():
    """Save the lesson once (a double tap saves one); its check comes 30 days later."""
    form = LessonForm(today=today_for(current_user))
    if not form.validate_on_submit():
        return invalid("lessons/new.html", "lessons/_form.html", form=form)
    lesson, created = services.create_lesson(current_user, form.fields_dict(), form.tags_dict(), form.source_ref(),
                                             form.idempotency_key.data)
    flash(f"Lesson saved. We'll ask on {lesson.check_on:%-d %B} whether it worked." if created
          else "Already saved (you tapped twice): nothing was added.", "success")
    return done(url_for("lessons.show", lesson_id=lesson.id))


@bp.get("/lessons/<int:lesson_id>")
@login_required
def show(lesson_id: int):
    """A lesson: its text, tags, where it came from, its checks and comments."""
    lesson = services.lesson_or_404(current_user, lesson_id)
    return render("lessons/show.html", lesson=lesson, mine=lesson.learner_id == current_user.id,
                  comment_form=CommentForm(), follow_up=services.follow_up_offered(lesson), kinds=TAG_KINDS,
                  statuses=STATUSES)


def _edit_form(lesson, formdata=True) -> LessonForm:
    tags = {f"{name}_tags": ", ".join(t.name for t in lesson.tags_of(kind))
            for name, kind in (("system", "system"), ("root_cause", "root-cause"), ("metric", "metric"))}
    today = today_for(current_user)
    if formdata:
        return LessonForm(today=today, current_check=lesson.check_on)
    return LessonForm(formdata=None, obj=lesson, today=today, current_check=lesson.check_on, data=tags)


@bp.get("/lessons/<int:lesson_id>/edit")
@login_required
def edit(lesson_id: int):
    """Change a lesson."""
    lesson = services.own_lesson_or_404(current_user, lesson_id)
    return render("lessons/edit.html", lesson=lesson, form=_edit_form(lesson, formdata=False))


@bp.post("/lessons/<int:lesson_id>")
@login_required
def update(lesson_id: int):
    """Save changes to a lesson."""
    lesson = services.own_lesson_or_404(current_user, lesson_id)
    form = _edit_form(lesson)
    if not form.validate_on_submit():
        return invalid("lessons/edit.html", "lessons/_form.html", lesson=lesson, form=form)
    services.update_lesson(lesson, form.fields_dict(), form.tags_dict())
    flash("Lesson saved.", "success")
    return done(url_for("lessons.show", lesson_id=lesson.id))


@bp.get("/lessons/<int:lesson_id>/delete")
@login_required
def confirm_delete(lesson_id: int):
    """Ask before deleting a lesson."""
    return render("lessons/delete.html", lesson=services.own_lesson_or_404(current_user, lesson_id),
                  form=ConfirmForm())


@bp.post("/lessons/<int:lesson_id>/delete")
@login_required
def delete(lesson_id: int):
    """Delete a lesson, its checks and comments."""
    lesson = services.own_lesson_or_404(current_user, lesson_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return invalid("lessons/delete.html", lesson=lesson, form=form)
    services.delete_lesson(lesson)
    flash("Lesson deleted.", "info")
    return redirect(url_for("lessons.index"), 303)


@bp.get("/lessons/<int:lesson_id>/check")
@login_required
def check(lesson_id: int):
    """The 30-day check on a page of its own (the email links here; the home page has the same form)."""
    lesson = services.own_lesson_or_404(current_user, lesson_id)
    return render("lessons/check.html", lesson=lesson, form=check_form(lesson))


@bp.post("/lessons/<int:lesson_id>/check")
@login_required
def answer_check(lesson_id: int):
    """Keep the answer; "not tried yet" asks again in 7 days; "did not" offers a follow-up lesson."""
    lesson = services.own_lesson_or_404(current_user, lesson_id)
    form = check_form(lesson, formdata=True)
    if not form.validate_on_submit():
        return invalid("lessons/check.html", "lessons/_check.html", lesson=lesson, form=form)
    answer = services.answer_check(lesson, form.answer.data, form.note.data or "")
    if answer.answer == DID_NOT and not wants_fragment():
        flash("Noted. What will you try instead? Write the follow-up lesson.", "success")
        return redirect(url_for("lessons.new", follow_up=lesson.id), 303)
    if not wants_fragment():
        flash(f"Saved. We'll ask again on {lesson.check_on:%-d %B}." if lesson.status == "open" else "Saved.",
              "success")
    return done(safe_next(form.next.data, url_for("lessons.show", lesson_id=lesson.id)), "lessons/_check.html",
                lesson=lesson, form=form, answered=answer)


@bp.post("/lessons/<int:lesson_id>/comments")
@login_required
def comment(lesson_id: int):
    """Comment on a lesson (the learner's coach, once it is shared, or the learner)."""
    lesson = services.lesson_or_404(current_user, lesson_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return invalid("lessons/show.html", lesson=lesson, mine=lesson.learner_id == current_user.id,
                       comment_form=form, follow_up=services.follow_up_offered(lesson), kinds=TAG_KINDS,
                       statuses=STATUSES)
    services.add_comment(current_user, lesson, form.body.data)
    flash("Comment added.", "success")
    return redirect(url_for("lessons.show", lesson_id=lesson.id, _anchor="comments"), 303)


@bp.get("/lessons/review")
@login_required
def review():
    """The weekly review (about 30 minutes): the week's lessons, checks due, and what repeats. Printable."""
    start = query_day("week", today_for(current_user))
    return render("lessons/review.html", review=reviews.weekly_review(current_user, start), kinds=TAG_KINDS,
                  timedelta_week=timedelta(weeks=1), one_day=timedelta(days=1))


@bp.get("/lessons/month")
@login_required
def month():
    """The monthly synthesis, a "learning release": what changed, checks answered, root causes that recur."""
    start = query_day("month", today_for(current_user))
    return render("lessons/month.html", review=reviews.monthly_synthesis(current_user, start), kinds=TAG_KINDS,
                  one_day=timedelta(days=1))
