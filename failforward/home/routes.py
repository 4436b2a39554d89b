"""The home page: a welcome for visitors, and next steps for a signed-in person."""

from flask import Blueprint
from flask_login import current_user

from failforward.calendar import zone_of
from failforward.coaching import services as coaching
from failforward.goals import services as goals
from failforward.ledger import services as ledger
from failforward.ledger.routes import quick_log_context
from failforward.lessons import services as lessons
from failforward.web import render

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Welcome visitors; show a signed-in person the quick-log card, their goals and coaching."""
    if not current_user.is_authenticated:
        return render("home/welcome.html")
    active = [g for g in goals.goals_of(current_user) if g.status == "active"]
    return render(
        "home/index.html",
        goals=active,
        progress=ledger.goal_progress(active, zone_of(current_user), ledger.STATUS_WEEKS),
        coaches=coaching.coaches_of(current_user),
        roster=coaching.roster(current_user),
        checks=lessons.due_checks(current_user),
        **quick_log_context(),
    )
