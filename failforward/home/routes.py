"""The home page: a welcome for visitors, and next steps for a signed-in person."""

from flask import Blueprint
from flask_login import current_user

from failforward.coaching import services as coaching
from failforward.web import render

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Welcome visitors; show a signed-in person their coaching status and what to do next."""
    if not current_user.is_authenticated:
        return render("home/welcome.html")
    return render(
        "home/index.html",
        coaches=coaching.coaches_of(current_user),
        roster=coaching.roster(current_user),
    )
