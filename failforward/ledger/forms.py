"""The rep form: quick on a phone (drill, value, save), with the rest one tap away."""

import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from wtforms import DateTimeLocalField, HiddenField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from failforward import clock
from failforward.forms import Form, NumberField, WholeNumberField, choices, finite_number, plain_text
from failforward.ledger.models import OUTCOMES

OLDEST_REP = timedelta(days=3660)


class RepForm(Form):
    """Drill, value and save; when, outcome, duration, note and adjustment are optional."""

    drill_id = RadioField("Drill", coerce=int, validators=[InputRequired("Pick the drill you practised.")])
    value = NumberField("Value", validators=[InputRequired("Enter the value you measured, as a number."),
                                            finite_number()],
                       render_kw={"inputmode": "decimal", "autocomplete": "off", "enterkeyhint": "done"})
    outcome = RadioField("Outcome", choices=choices([("", "Work it out from my target"), *OUTCOMES.items()]),
                         default="", validators=[Optional()])
    duration_minutes = WholeNumberField("Minutes practised", validators=[
        Optional(), NumberRange(0, 1440, "Enter between 0 and 1440 minutes.")], render_kw={"inputmode": "numeric"})
    performed_at = DateTimeLocalField("When", validators=[Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                      description="Leave empty for now.")
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000), plain_text], render_kw={"rows": 2})
    adjustment = TextAreaField("Adjustment to try next time", validators=[Optional(), Length(max=2000), plain_text],
                               render_kw={"rows": 2})
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])

    def __init__(self, *args, drills=(), zone: ZoneInfo | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone or ZoneInfo("UTC")
        self.drill_id.choices = choices((d.id, d.name) for d in drills)
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate_performed_at(self, field) -> None:
        if field.data is None:
            return
        try:
            moment = self.performed_at_utc()
        except OverflowError:  # year 1 or 9999, pushed past datetime's range by the zone's offset
            moment = (datetime.min if field.data.year == 1 else datetime.max).replace(tzinfo=UTC)
        now = clock.now()
        if moment > now + timedelta(minutes=5):
            raise ValidationError("This is in the future. Log reps once you have done them.")
        if moment < now - OLDEST_REP:
            raise ValidationError("Pick a time within the last ten years.")

    def performed_at_utc(self) -> datetime | None:
        """The local time typed, as a UTC instant (None for "now")."""
        if self.performed_at.data is None:
            return None
        return self.performed_at.data.replace(tzinfo=self.zone).astimezone(UTC)

    def fields_dict(self) -> dict:
        """The typed values as they are; the service fills in what was left empty."""
        return {"performed_at": self.performed_at_utc(), "value": self.value.data,
                "duration_minutes": self.duration_minutes.data, "outcome": self.outcome.data,
                "note": self.note.data, "adjustment": self.adjustment.data}

    @classmethod
    def blank(cls, card) -> "RepForm":
        """A fresh form for the quick-log card (a services.QuickLog), its drill picked."""
        form = cls(formdata=None, drills=card.drills)
        form.drill_id.data = card.drill_id
        return form
