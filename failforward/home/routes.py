"""The home page: a welcome for visitors, and next steps for a signed-in person."""

from flask import Blueprint
from flask_login import current_user

from failforward.home.services import home_page
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
