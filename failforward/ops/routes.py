"""Operator pages (for accounts granted with `flask --app app operators grant`): the outbox, with retry.

Above accounts and mail in the house: it reads the grant (accounts) and the outbox (mail)."""

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.accounts.services import is_operator
from failforward.forms import ConfirmForm
from failforward.mail import services
from failforward.mail.models import STATUSES
from failforward.web import render

bp = Blueprint("ops", __name__)


def _require_operator() -> None:
    if not is_operator(current_user):
        abort(404)


@bp.get("/ops/outbox")
@login_required
def outbox():
    """Counts by status and the newest messages, failed ones first to look at."""
    _require_operator()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    return render("ops/outbox.html", counts=services.counts(), messages=services.listing(status), showing=status)


@bp.post("/ops/outbox/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    """Queue a failed message again."""
    _require_operator()
    if ConfirmForm().validate_on_submit() and services.retry(message_id):
        flash("Queued again.", "success")
    return redirect(url_for("ops.outbox", status="failed"), 303)
