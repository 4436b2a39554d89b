"""The coach's overview page: one row per learner, sorted and filtered by plain links (no JavaScript needed)."""

from flask import Blueprint, request
from flask_login import current_user, login_required

from failforward.overview.services import COLUMNS, overview_page
from failforward.web import render

bp = Blueprint("overview", __name__)


@bp.get("/learners")
@login_required
def index():
    """Every learner of the signed-in coach, sortable by each column, or only those who need attention."""
    page = overview_page(current_user, request.args.get("sort", "name"), request.args.get("order") == "desc",
                         request.args.get("show") == "attention")
    return render("overview/index.html", page=page, columns=COLUMNS)
