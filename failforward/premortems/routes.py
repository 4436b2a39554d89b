"""Pre-mortem screens, one a step (prime, silent write, reveal, cluster and vote, convert), comments, and the
actions on a top risk (prevention done, a manual tripwire triggered or cleared). Every action is a plain form
POST."""

from flask import Blueprint, url_for
from flask_login import current_user, login_required

from failforward.calendar import today_for
from failforward.coaching.services import coaches_of
from failforward.forms import ConfirmForm
from failforward.goals.services import drills_of, own_goal_or_404
from failforward.premortems import services
from failforward.premortems.forms import (
    CausesForm,
    CommentForm,
    ConvertForm,
    RiskForm,
    StartForm,
    VoteForm,
    cause_lines,
    vote_form,
)
from failforward.premortems.models import Risk
from failforward.premortems.services import PreMortemError
from failforward.web import done, invalid, render

bp = Blueprint("premortems", __name__)


@bp.get("/goals/<int:goal_id>/premortems/new")
@login_required
def new(goal_id: int):
    """Step 1, prime: it is six months from now and this goal failed. What happened?"""
    goal = own_goal_or_404(current_user, goal_id)
    form = StartForm(formdata=None, coaches=services.coaches_to_invite(current_user))
    return render("premortems/new.html", goal=goal, form=form, imagined=services.imagined_day(current_user))


@bp.post("/goals/<int:goal_id>/premortems")
@login_required
def create(goal_id: int):
    """Start the pre-mortem (with the coach, if invited) and go to the silent write."""
    goal = own_goal_or_404(current_user, goal_id)
    form = StartForm(coaches=services.coaches_to_invite(current_user))
    if not form.validate_on_submit():
        return invalid("premortems/new.html", goal=goal, form=form, imagined=services.imagined_day(current_user))
    premortem = services.start(current_user, goal, form.timer_minutes.data, form.dots.data, form.coach_id())
    return done(url_for("premortems.write", premortem_id=premortem.id))


def _step(template: str, premortem, http_status: int = 200, **context):
    return render(f"premortems/{template}.html", page=services.step_page(current_user, premortem),
                  http_status=http_status, **context)


def _step_refused(template: str, premortem, form, error: PreMortemError | None = None, **context):
    """The step again with the form's errors (and a service's refusal beside its field), the text kept: 422."""
    refusal = ""
    if error is not None and error.field and form is not None and error.field in form:
        form[error.field].errors = [*(form[error.field].errors or []), str(error)]
    elif error is not None:
        refusal = str(error)
    return _step(template, premortem, http_status=422, form=form, refusal=refusal, **context)


@bp.get("/premortems/<int:premortem_id>/write")
@login_required
def write(premortem_id: int):
    """Step 2, silent write: a timer that only guides, and 5-10 causes one a line."""
    premortem = services.joined_premortem_or_404(current_user, premortem_id)
    typed = "\n".join(c.text for c in services.causes_of(premortem, current_user.id))
    return _step("write", premortem, form=CausesForm(formdata=None, data={"causes": typed}))


@bp.post("/premortems/<int:premortem_id>/causes")
@login_required
def save_causes(premortem_id: int):
    """Keep the causes; "I'm done" marks the writer finished. The count is said, never refused."""
    premortem = services.joined_premortem_or_404(current_user, premortem_id)
    form = CausesForm()
    if not form.validate_on_submit():
        return _step_refused("write", premortem, form)
    try:
        note = services.write_causes(premortem, current_user, cause_lines(form.causes.data), form.finished())
    except PreMortemError as error:
        return _step_refused("write", premortem, form, error)
    target = "premortems.reveal" if form.finished() else "premortems.write"
    return done(url_for(target, premortem_id=premortem.id), flash=f"Saved. {note}")


@bp.post("/premortems/<int:premortem_id>/reveal")
@login_required
def reveal_now(premortem_id: int):
    """The owner reveals every cause without waiting for the other participant."""
    premortem = services.own_premortem_or_404(current_user, premortem_id)
    if ConfirmForm().validate_on_submit():
        services.reveal(premortem)
    return done(url_for("premortems.reveal", premortem_id=premortem_id))


@bp.get("/premortems/<int:premortem_id>/reveal")
@login_required
def reveal(premortem_id: int):
    """Step 3, reveal: every cause by participant, once all have finished (or the owner revealed); and the
    comments."""
    premortem = services.premortem_or_404(current_user, premortem_id)
    return _step("reveal", premortem, comment_form=CommentForm(formdata=None))


@bp.post("/premortems/<int:premortem_id>/comments")
@login_required
def comment(premortem_id: int):
    """Comment on a pre-mortem (the learner's coach, invited or reading along, or the learner)."""
    premortem = services.premortem_or_404(current_user, premortem_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _step("reveal", premortem, http_status=422, comment_form=form)
    services.add_comment(current_user, premortem, form.body.data)
    return done(url_for("premortems.reveal", premortem_id=premortem.id, _anchor="comments"), flash="Comment added.")


def _vote_forms(premortem, risk_form=None, dots_form=None) -> dict:
    """The two forms of the vote screen: a new risk from ticked causes, and the viewer's dots."""
    mine = {risk.id: v.dots for risk in premortem.risks for v in risk.votes if v.voter_id == current_user.id}
    return {"risk_form": risk_form or RiskForm(formdata=None, causes=premortem.causes),
            "dots_form": dots_form or vote_form(sorted(premortem.risks, key=lambda r: (-r.dots, r.id)), mine,
                                                formdata=None)}


@bp.get("/premortems/<int:premortem_id>/vote")
@login_required
def vote(premortem_id: int):
    """Step 4, cluster and vote: merge causes into risks, then put your dots on them."""
    premortem = services.joined_premortem_or_404(current_user, premortem_id)
    return _step("vote", premortem, **_vote_forms(premortem))


@bp.post("/premortems/<int:premortem_id>/risks")
@login_required
def create_risk(premortem_id: int):
    """Merge the ticked causes into a new risk."""
    premortem = services.joined_premortem_or_404(current_user, premortem_id)
    form = RiskForm(causes=premortem.causes)
    if not form.validate_on_submit():
        return _step_refused("vote", premortem, form, **_vote_forms(premortem, risk_form=form))
    try:
        services.add_risk(premortem, premortem.learner_id, form.title.data, form.cause_ids())
    except PreMortemError as error:
        return _step_refused("vote", premortem, form, error, **_vote_forms(premortem, risk_form=form))
    return done(url_for("premortems.vote", premortem_id=premortem.id) + "#risks")


@bp.post("/premortems/<int:premortem_id>/votes")
@login_required
def save_votes(premortem_id: int):
    """Put your dots on the risks (at most your number of dots)."""
    premortem = services.joined_premortem_or_404(current_user, premortem_id)
    form = VoteForm().label_with(premortem.risks)
    if not form.validate_on_submit():
        return _step_refused("vote", premortem, form, **_vote_forms(premortem, dots_form=form))
    try:
        services.vote(premortem, current_user, form.dots_by_risk())
    except PreMortemError as error:
        return _step_refused("vote", premortem, form, error, **_vote_forms(premortem, dots_form=form))
    return done(url_for("premortems.vote", premortem_id=premortem.id) + "#risks", flash="Your dots are in.")


@bp.post("/premortems/<int:premortem_id>/close")
@login_required
def close(premortem_id: int):
    """The owner closes the vote: the top risks go forward to be converted."""
    premortem = services.own_premortem_or_404(current_user, premortem_id)
    if not ConfirmForm().validate_on_submit():
        return done(url_for("premortems.vote", premortem_id=premortem.id))
    try:
        services.close_vote(premortem)
    except PreMortemError as error:
        return _step_refused("vote", premortem, None, error, **_vote_forms(premortem))
    return done(url_for("premortems.convert", premortem_id=premortem.id))


def convert_form(risk: Risk, formdata: bool = False) -> ConvertForm:
    """A top risk's mitigation form, filled from what was saved (or from the request)."""
    data = {name: getattr(risk, name) for name in ("prevention", "contingency", "owner", "due_on", "tripwire",
                                                   "threshold")}
    data["drill_id"] = str(risk.drill_id or "")
    learner = risk.premortem.learner
    return ConvertForm(drills=drills_of(risk.premortem.goal), today=today_for(learner),
                       has_coach=bool(coaches_of(learner)), **({} if formdata else {"formdata": None, "data": data}))


@bp.get("/premortems/<int:premortem_id>/convert")
@login_required
def convert(premortem_id: int):
    """Step 5, convert: the top risks, each to turn into a prevention step, a tripwire and a contingency plan."""
    return _step("convert", services.own_premortem_or_404(current_user, premortem_id))


@bp.get("/risks/<int:risk_id>/edit")
@login_required
def edit_risk(risk_id: int):
    """One top risk's mitigation: prevention step, tripwire, contingency plan, owner and date."""
    risk = services.own_risk_or_404(current_user, risk_id)
    return _step("risk", risk.premortem, risk=risk, form=convert_form(risk))


@bp.post("/risks/<int:risk_id>")
@login_required
def update_risk(risk_id: int):
    """Save one top risk's mitigation, then go on to the next top risk still to convert."""
    risk = services.own_risk_or_404(current_user, risk_id)
    form = convert_form(risk, formdata=True)
    if not form.validate_on_submit():
        return _step_refused("risk", risk.premortem, form, risk=risk)
    try:
        services.convert(risk, form.fields_dict())
    except PreMortemError as error:
        return _step_refused("risk", risk.premortem, form, error, risk=risk)
    following = services.next_to_convert(risk.premortem)
    if following is not None:
        return done(url_for("premortems.edit_risk", risk_id=following.id), flash=f"Saved: {risk.title}. Next one.")
    return done(url_for("home.goal", goal_id=risk.premortem.goal_id) + "#premortems",
                flash="Saved. Every top risk has its tripwire now: the app watches them.")


@bp.post("/risks/<int:risk_id>/prevented")
@login_required
def prevented(risk_id: int):
    """Mark a risk's prevention step done."""
    risk = services.own_risk_or_404(current_user, risk_id)
    if ConfirmForm().validate_on_submit():
        services.set_prevented(risk)
    return done(url_for("home.goal", goal_id=risk.premortem.goal_id) + f"#risk-{risk.id}")


@bp.post("/risks/<int:risk_id>/trigger")
@login_required
def trigger(risk_id: int):
    """Mark a manual tripwire as triggered: its contingency shows on the home page."""
    risk = services.own_risk_or_404(current_user, risk_id)
    if not ConfirmForm().validate_on_submit():
        return done(url_for("home.goal", goal_id=risk.premortem.goal_id) + f"#risk-{risk.id}")
    try:
        services.trigger(risk)
    except PreMortemError as error:
        return done(url_for("home.goal", goal_id=risk.premortem.goal_id), flash=str(error))
    return done(url_for("home.index"), flash="Tripwire marked: its contingency plan is on your home page.")


@bp.post("/risks/<int:risk_id>/clear")
@login_required
def clear(risk_id: int):
    """Clear a manual tripwire that fired (it can fire again)."""
    risk = services.own_risk_or_404(current_user, risk_id)
    if ConfirmForm().validate_on_submit():
        services.clear(risk)
    return done(url_for("home.goal", goal_id=risk.premortem.goal_id) + f"#risk-{risk.id}", flash="Cleared.")
