"""The learner's own contract page (reached from Settings), and the coach's list of due follow-ups,
which the feedback queue page includes (feedback sits below thresholds, so it cannot ask itself)."""

from flask import Blueprint, url_for
from flask_login import current_user, login_required

from failforward.feedback import services as feedback
from failforward.thresholds import services
from failforward.thresholds.forms import PersonalContractForm
from failforward.thresholds.models import RULE_TITLES
from failforward.web import done, invalid, render

bp = Blueprint("thresholds", __name__)


@bp.record_once
def _in_the_digest(_state) -> None:
    """The coach's morning digest lists the follow-ups due for their learners too (once, however many apps)."""
    if services.digest_lines not in feedback.DIGEST_SECTIONS:
        feedback.DIGEST_SECTIONS.append(services.digest_lines)


@bp.app_template_global()
def coach_follow_ups(coach) -> list:
    """For templates/thresholds/_coach_due.html: the follow-ups due for the coach's learners."""
    return services.coach_follow_ups(coach)


@bp.app_template_global()
def follow_up_url(follow_up) -> str:
    """Where to write what a follow-up asks for (the home card's link)."""
    return services.write_url(follow_up, external=False)


@bp.get("/contract")
@login_required
def edit():
    """The learner's own contract: glossary, thresholds as rules, commitments."""
    page = services.contract_page(current_user)
    form = PersonalContractForm.for_page(page)
    return render("thresholds/contract.html", page=page, form=form, titles=RULE_TITLES)


@bp.post("/contract")
@login_required
def update():
    """Save the contract; a rule's change applies to what fires from now on."""
    form = PersonalContractForm()
    if not form.validate_on_submit():
        return invalid("thresholds/contract.html", page=services.contract_page(current_user), form=form,
                       titles=RULE_TITLES)
    services.update_contract(current_user, form.terms(), form.rules())
    return done(url_for("thresholds.edit"), flash="Your contract is saved. Its rules apply from now on.")
