"""The check-in's three questions."""

from wtforms import TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from failforward.forms import Form, plain_text


def _answer(label: str) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=4000), plain_text], render_kw={"rows": 3})


class CheckinForm(Form):
    """What went well, what failed, what to try next: at least one answered."""

    went_well = _answer("What went well?")
    failed = _answer("What failed, or nearly did?")
    try_next = _answer("What will you try next week?")

    def validate_try_next(self, field) -> None:
        if not (self.went_well.data or self.failed.data or field.data):
            raise ValidationError("Answer at least one question.")
