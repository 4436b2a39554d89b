"""The outbox page for operators (people listed in ADMIN_EMAILS): failed and pending mail, retry."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from failforward.accounts.forms import ConfirmForm
from failforward.mail import services
from failforward.web import render

bp = Blueprint("mail", __name__)


def _require_operator() -> None:
    if current_user.email not in {e.lower() for e in current_app.config["ADMIN_EMAILS"]}:
        abort(404)


@bp.get("/ops/outbox")
@login_required
def outbox():
    """Counts by status and the newest messages, failed ones first to look at."""
    _require_operator()
    status = request.args.get("status") if request.args.get("status") in ("pending", "sent", "failed") else None
    return render("mail/outbox.html", counts=services.counts(), messages=services.listing(status), showing=status)


@bp.post("/ops/outbox/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    """Queue a failed message again."""
    _require_operator()
    if ConfirmForm().validate_on_submit() and services.retry(message_id):
        flash("Queued again.", "success")
    return redirect(url_for("mail.outbox", status="failed"), 303)
