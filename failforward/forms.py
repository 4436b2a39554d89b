"""Form plumbing shared by every domain: the base form, field limits, text checks."""

import re
from functools import cache
from zoneinfo import available_timezones

from flask import request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DateField, Field, FloatField, IntegerField, SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import Input, NumberInput, TextArea, TextInput
from wtforms.widgets.core import clean_key

from failforward.database import LARGEST_ID

CSRF_MESSAGE = "This form had expired, so nothing was saved yet. Your text is kept: press the button again."


class _PlainWordsCSRF(FlaskForm.Meta.csrf_class):
    """Flask-WTF's token check, refusing a missing or expired token with a sentence a person understands."""

    def validate_csrf_token(self, form, field) -> None:
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as error:
            raise ValidationError(CSRF_MESSAGE) from error


class Form(FlaskForm):
    """Base form: strips surrounding spaces from text and words CSRF failures for people."""

    class Meta:
        # The token is checked by the CSRF class, not by a `validate_csrf_token` method on the form:
        # WTForms would run such a method as an extra inline validator on every submission.
        csrf_class = _PlainWordsCSRF

        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            if unbound_field.field_class.__name__ in {"StringField", "TextAreaField", "EmailField", "SearchField"}:
                unbound_field.kwargs["filters"] = (*filters, _strip)
            return unbound_field.bind(form=form, **options)

        def wrap_formdata(self, form, formdata):
            if formdata is None or hasattr(formdata, "getlist"):  # data passed in explicitly
                return formdata
            # From the request, only the text fields of an HTML form. Flask-WTF would also take uploaded
            # files and JSON bodies, and a file, a list or a number where text belongs reaches the
            # validators and ends in a 500 instead of a message beside the field.
            return (request.form or None) if form.is_submitted() else None

        def render_field(self, field, render_kw):
            # Plain inputs and text areas are written here, the same markup WTForms' widgets write: their
            # attribute joiner (str.format through Markup, once per attribute) cost about 0.3 ms a field,
            # more than the rest of a field's label, hint and error together. Other widgets draw themselves.
            render_kw = {clean_key(key): value for key, value in render_kw.items()}
            if field.render_kw:
                render_kw = {clean_key(key): value for key, value in field.render_kw.items()} | render_kw
            widget = field.widget
            if type(widget).__call__ in (Input.__call__, NumberInput.__call__):
                return _input(field, widget, render_kw)
            if type(widget) is TextArea:
                return _textarea(field, widget, render_kw)
            return widget(field, **render_kw)


def _attributes(attributes: dict) -> str:
    """HTML attributes as wtforms.widgets.html_params writes them (sorted; True bare, False left out)."""
    return " ".join(key if value is True else f'{key}="{escape(value)}"'
                    for key, value in sorted(attributes.items()) if value is not False)


def _with_flags(field: Field, widget, attributes: dict) -> dict:
    """The validators' flags the widget writes (required, maxlength, min...), unless given explicitly."""
    for name, value in vars(field.flags).items():
        if name in widget.validation_attrs and name not in attributes:
            attributes[name] = value() if callable(value) else value
    return attributes


def _input(field: Field, widget: Input, attributes: dict) -> Markup:
    for bound in ("step", "min", "max"):  # a NumberInput's own bounds
        if getattr(widget, bound, None) is not None:
            attributes.setdefault(bound, getattr(widget, bound))
    attributes.setdefault("id", field.id)
    attributes.setdefault("type", widget.input_type)
    if "value" not in attributes:
        attributes["value"] = field._value()
    datalist = getattr(field, "_datalist", None)
    if datalist is not None and "list" not in attributes:
        attributes["list"] = datalist if isinstance(datalist, str) else datalist.id
    return Markup(f"<input {_attributes(_with_flags(field, widget, attributes) | {'name': field.name})}>")


def _textarea(field: Field, widget: TextArea, attributes: dict) -> Markup:
    attributes.setdefault("id", field.id)
    inner = escape(field._value())
    attributes = _with_flags(field, widget, attributes) | {"name": field.name}
    return Markup(f"<textarea {_attributes(attributes)}>\r\n{inner}</textarea>")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text)


def plain_text(form, field: Field) -> None:
    """Validator: no NUL or other control characters (newlines and tabs are fine in long text)."""
    if isinstance(field.data, str) and _has_control_characters(field.data):
        raise StopValidation("Remove the invisible control characters from this text.")


def single_line(form, field: Field) -> None:
    """Validator: one line only, and no control characters."""
    if isinstance(field.data, str) and any(ord(ch) < 32 for ch in field.data):
        raise StopValidation("Keep this to one line, without invisible control characters.")


@cache
def timezone_choices() -> list[SelectChoice]:
    """Every IANA time zone, grouped by region, for a select."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [SelectChoice("UTC", "UTC")] + [
        SelectChoice(z, z.split("/", 1)[1].replace("_", " "), optgroup=z.split("/", 1)[0]) for z in zones
    ]


def choices(pairs) -> list[SelectChoice]:
    """SelectChoice objects from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def finite_number(limit: float = 1e12):
    """Validator: a real number (not NaN or infinity) no larger than `limit` either way."""

    def check(form, field: Field) -> None:
        value = field.data
        if value is None:
            return
        if value != value or abs(value) == float("inf") or abs(value) > limit:
            raise StopValidation(f"Enter a number between -{limit:g} and {limit:g}.")

    return check


# Thousands groups, which must not be read as a decimal comma ("1,000" is a thousand, not 1.0).
# A leading 0 is never a group of its own: "0,925" is a decimal.
_GROUPED_WITH_POINT = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
_GROUPED_WITH_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+,\d+$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")  # one group: English 1000 or European 1.0
_WHOLE = re.compile(r"[+-]?[0-9]+")


class _TypedNumber:
    """What the number fields share: spaces alone are no input, and text that is not a number gets one message
    (from the field's `number(text)`), not that message and the range's too."""

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            # InputRequired reads the raw text, in which spaces count as input, and let a required number
            # through as nothing (a 500 when saved). Optional() already took spaces for no input.
            self.raw_data = []
            return
        self.data = self.number(valuelist[0].strip())

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()


class NumberField(_TypedNumber, FloatField):
    """A decimal number typed on a phone: accepts a comma as the decimal mark, explains bad input."""

    # A text input (with inputmode="decimal" for the keyboard), not type="number": in an English-locale
    # Chromium a number input turns a typed "2,5" into 25 and swallows letters, so the server never
    # sees what was typed and cannot explain it.
    widget = TextInput()

    def number(self, text: str) -> float:
        text = text.replace(" ", "").replace("\u00a0", "")
        if _COMMA_THOUSANDS.match(text):
            raise ValueError("Write 1000 or 1.0: a comma before three digits could mean either.")
        if _GROUPED_WITH_POINT.match(text):  # 1,000,000 or 12,345.5: the commas group thousands
            text = text.replace(",", "")
        elif _GROUPED_WITH_COMMA.match(text):  # 12.345,5: the dots group thousands, the comma is the mark
            text = text.replace(".", "").replace(",", ".")
        elif text.count(",") == 1 and "." not in text:  # 2,5
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError as error:
            raise ValueError("Enter a number, like 4 or 2.5.") from error


class WholeNumberField(_TypedNumber, IntegerField):
    """A whole number typed on a phone: ASCII digits, at most what an INTEGER column holds."""

    def number(self, text: str) -> int:
        if not _WHOLE.fullmatch(text):
            raise ValueError("Enter a whole number, like 4.")
        # Past LARGEST_ID no column holds it, and a number past 1e308 broke NumberRange (it compares as a float).
        if len(text.lstrip("+-").lstrip("0")) > len(str(LARGEST_ID)) or abs(int(text)) > LARGEST_ID:
            raise ValueError("Enter a number with fewer digits.")
        return int(text)


class ConfirmForm(Form):
    """A form with only its CSRF token, for one-button actions such as signing out or deleting."""


class DayField(DateField):
    """A calendar date that explains what it wants when the text is not one."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter the date, like 2026-03-04.") from error
