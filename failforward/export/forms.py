"""Import data: choosing the archive, and confirming its import after the dry run."""

from flask import request
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import CombinedMultiDict
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from failforward.forms import Form


class ImportDataForm(Form):
    class Meta:
        def wrap_formdata(self, form, formdata):
            """This form's one field is an upload: it reads the request's files too (the house form reads
            only text fields, so that a file never reaches a text field's validators)."""
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata
            return CombinedMultiDict((request.files, request.form)) if form.is_submitted() else None

    archive = FileField("The ZIP from “Download my data”",
                        validators=[FileRequired("Choose the ZIP file to import.")],
                        description="From this instance or another.")


NOT_OURS = "That confirmation does not name an upload: choose the file again."


class ApplyImportForm(Form):
    """The upload the dry run looked at, named by its SHA-256: another upload since is not imported blindly."""

    digest = HiddenField(validators=[DataRequired(NOT_OURS), Regexp(r"^[0-9a-f]{64}$", message=NOT_OURS)])
