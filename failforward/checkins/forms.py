"""The check-in's three questions."""

from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from failforward.forms import Form, plain_text


def _answer(label: str) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=4000), plain_text], render_kw={"rows": 3})


class CheckinForm(Form):
    """What went well, what failed, what to try next: at least one answered."""

    went_well = _answer("What went well?")
    failed = _answer("What failed, or nearly did?")
    try_next = _answer("What will you try next week?")

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, then "at least one answered" (a `validate_<field>` method would
        never run for an empty field: its Optional() validator stops the chain first)."""
        if not super().validate(extra_validators):
            return False
        if not (self.went_well.data or self.failed.data or self.try_next.data):
            self.went_well.errors.append("Answer at least one question.")
            return False
        return True
