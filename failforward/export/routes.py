"""Download my data: the person's archive as one ZIP (see docs/export-schema.md)."""

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from failforward.export import services

bp = Blueprint("export", __name__)


@bp.get("/account/export")
@login_required
def download():
    """Everything the person owns, as failforward.json, one CSV per kind, and the schema."""
    return send_file(services.build_archive(current_user), mimetype="application/zip", as_attachment=True,
                     download_name=services.archive_name(current_user))
