"""Download my data: the person's archive as one ZIP (see docs/export-schema.md)."""

from flask import Blueprint, Response, stream_with_context
from flask_login import current_user, login_required

from failforward.export import services

bp = Blueprint("export", __name__)


@bp.get("/account/export")
@login_required
def download():
    """Everything the person owns, as failforward.json, one CSV per kind, and the schema; it streams,
    so a large account starts downloading at once and the browser shows its progress."""
    return Response(stream_with_context(services.stream_archive(current_user.id)), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename={services.archive_name(current_user)}"})
