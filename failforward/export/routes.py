"""Your data: download everything as one ZIP (see docs/export-schema.md), and import such a ZIP after
a dry run that says what would be added, skipped and refused."""

from pathlib import Path

from flask import Blueprint, Response, current_app, stream_with_context, url_for
from flask_login import current_user, login_required

from failforward.export import importing, services
from failforward.export.forms import ApplyImportForm, ImportDataForm
from failforward.web import done, invalid, render, upload_limit

bp = Blueprint("export", __name__)


def _imports_folder() -> Path:
    return Path(current_app.instance_path) / "imports"


@bp.get("/account/export")
@login_required
def download():
    """Everything the person owns, as failforward.json, one CSV per kind, and the schema; it streams,
    so a large account starts downloading at once and the browser shows its progress."""
    return Response(stream_with_context(services.stream_archive(current_user.id)), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename={services.archive_name(current_user)}"})


@bp.get("/account/import")
@login_required
def import_form():
    return render("export/import.html", form=ImportDataForm())


@bp.post("/account/import")
@upload_limit("IMPORT_MAX_MB")
@login_required
def dry_run():
    """Read the uploaded archive and show its dry run: nothing is saved yet."""
    form = ImportDataForm()
    try:
        if form.validate():
            report, digest = importing.dry_run(current_user, form.archive.data.stream, _imports_folder())
            return render("export/import_report.html", report=report, form=ApplyImportForm(digest=digest))
    except importing.ArchiveError as error:
        form.archive.errors = [str(error)]
    return invalid("export/import.html", form=form)


@bp.post("/account/import/apply")
@login_required
def apply():
    """Import the archive the dry run reported on, in one transaction."""
    form = ApplyImportForm()
    try:
        if form.validate():
            report = importing.apply_pending(current_user, form.digest.data, _imports_folder())
            return done(url_for("export.import_form"), flash=f"Imported {report.added} records"
                        f"{f'; {report.refused} refused' if report.refused else ''}.")
        error = next(iter(form.errors.values()))[0]  # an expired page (CSRF), or a digest not ours
    except importing.ArchiveError as failure:
        error = str(failure)
    form = ImportDataForm()
    form.archive.errors = [error]
    return invalid("export/import.html", form=form)
