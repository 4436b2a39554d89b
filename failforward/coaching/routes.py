"""Coaching pages: roster and coaches, invites, the learning contract, ending a link."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.accounts import throttle
from failforward.coaching import access, services
from failforward.coaching.forms import AcceptContractForm, ContractForm, InviteForm
from failforward.forms import ConfirmForm
from failforward.web import done, invalid, render

bp = Blueprint("coaching", __name__)


@bp.app_context_processor
def coaching_globals() -> dict:
    """`is_coach()` for the navigation: asked only when a page draws the signed-in menu."""
    return {"is_coach": lambda: services.is_coach(current_user)}


@bp.get("/coaching")
@login_required
def index():
    """Your learners, your coaches, and open invites."""
    return render("coaching/index.html", **vars(services.coaching_page(current_user)), invite_form=InviteForm())


@bp.post("/coaching/invites")
@login_required
def create_invite():
    """Create an invite link (and email it when an address is given)."""
    form = InviteForm()
    if not form.validate_on_submit():
        return invalid("coaching/index.html", **vars(services.coaching_page(current_user)), invite_form=form)
    try:
        invite = services.create_invite(current_user, form.email.data or None, client=request.remote_addr)
    except throttle.Throttled as error:
        form.email.errors.append(str(error))
        return invalid("coaching/index.html", **vars(services.coaching_page(current_user)), invite_form=form)
    flash("Invite ready. Copy the link below and send it to your learner." if not invite.email
          else f"Invite emailed to {invite.email}. You can also copy the link below.", "success")
    return done(url_for("coaching.index", _anchor="invites"))


@bp.post("/coaching/invites/<int:invite_id>/withdraw")
@login_required
def withdraw_invite(invite_id: int):
    """Withdraw an unused invite."""
    if ConfirmForm().validate_on_submit():
        services.withdraw_invite(current_user, invite_id)
        flash("Invite withdrawn. Its link no longer works.", "info")
    return redirect(url_for("coaching.index", _anchor="invites"), 303)


def _invite_page(token: str, form: ConfirmForm, status: int = 200):
    """The invite with its accept button, what stops this person accepting, or why the link is dead."""
    invite = services.invite_from_token(token)
    problem = None
    if current_user.is_authenticated:
        try:
            services.check_invite_for(invite, current_user)
        except services.CoachingError as error:
            problem = str(error)
    return render("coaching/invite.html", invite=invite, token=token, form=form, problem=problem, http_status=status)


@bp.get("/invite/<token>")
def show_invite(token: str):
    """Open an invite: sign up or in first, then confirm."""
    return _invite_page(token, ConfirmForm())


@bp.post("/invite/<token>")
@login_required
def accept_invite(token: str):
    """Accept the invite: the coach becomes your coach."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _invite_page(token, form, status=422)
    try:
        link = services.accept_invite(token, current_user)
    except services.CoachingError as error:
        flash(str(error), "error")
        return redirect(url_for("coaching.index"), 303)
    flash(f"{link.coach.name} is now your coach. Read and accept your learning contract.", "success")
    return redirect(url_for("coaching.show", link_id=link.id), 303)


@bp.get("/coaching/links/<int:link_id>")
@login_required
def show(link_id: int):
    """A link's learning contract, with accept or edit, and ending the link."""
    page = services.contract_page(current_user, link_id)
    return render("coaching/show.html", **vars(page), accept_form=AcceptContractForm(version=page.contract.version))


@bp.post("/coaching/links/<int:link_id>/contract/accept")
@login_required
def accept_contract(link_id: int):
    """The learner accepts the current version of the contract, then goes on to their practice: the home
    page, whose first step for a newcomer is "Set your first goal"."""
    link = access.link_or_404(current_user, link_id)
    form = AcceptContractForm()
    if form.validate_on_submit():
        try:
            services.accept_contract(current_user, link, form.version.data)
            flash("Contract accepted. Your coach can see that you did.", "success")
            return redirect(url_for("home.index"), 303)
        except services.CoachingError as error:
            flash(str(error), "error")
    return redirect(url_for("coaching.show", link_id=link.id), 303)


@bp.get("/coaching/links/<int:link_id>/contract/edit")
@login_required
def edit_contract(link_id: int):
    """The coach's form for proposing a changed contract."""
    link = access.coached_link_or_404(current_user, link_id)
    return render("coaching/contract_form.html", link=link, form=ContractForm(obj=services.current_contract(link)))


@bp.post("/coaching/links/<int:link_id>/contract")
@login_required
def update_contract(link_id: int):
    """Propose the changed contract; the learner must accept it again."""
    link = access.coached_link_or_404(current_user, link_id)
    form = ContractForm()
    if not form.validate_on_submit():
        return invalid("coaching/contract_form.html", link=link, form=form)
    services.propose_contract(current_user, link, form.terms())
    flash("Changes proposed. They apply once your learner accepts them.", "success")
    return redirect(url_for("coaching.show", link_id=link.id), 303)


@bp.get("/coaching/links/<int:link_id>/end")
@login_required
def confirm_end(link_id: int):
    """Ask before ending a link."""
    link = access.link_or_404(current_user, link_id)
    return render("coaching/end.html", link=link, form=ConfirmForm())


@bp.post("/coaching/links/<int:link_id>/end")
@login_required
def end(link_id: int):
    """End the link; the coach loses access at once."""
    link = access.link_or_404(current_user, link_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return invalid("coaching/end.html", link=link, form=form)
    services.end_link(current_user, link)
    flash("The coaching link is ended.", "info")
    return redirect(url_for("coaching.index"), 303)
