"""The pages that gather several domains: the home page (a welcome for visitors, next steps for a
signed-in person) and a goal's page."""

from flask import Blueprint
from flask_login import current_user, login_required

from failforward.goals.services import goal_or_404
from failforward.home.services import goal_page, home_page
from failforward.ledger.forms import RepForm
from failforward.web import query_number, render

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Welcome visitors; show a signed-in person the quick-log card, their goals and coaching."""
    if not current_user.is_authenticated:
        return render("home/welcome.html")
    page = home_page(current_user, query_number("drill"))
    return render("home/index.html", page=page, card=page.card, form=RepForm.blank(page.card))


@bp.get("/goals/<int:goal_id>")
@login_required
def goal(goal_id: int):
    """A goal: its rule, weeks held, the weekly chart, its drills and latest reps."""
    page = goal_page(current_user, goal_or_404(current_user, goal_id))
    return render("goals/show.html", page=page)


@bp.get("/more")
@login_required
def more():
    """Every place in the app, grouped (the phone's short menu bar links here), and the setback action."""
    return render("home/more.html")
