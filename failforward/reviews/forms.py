"""Forms for a blameless review (with rows of timeline and factors), an action, its status, its check, and a
comment."""

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from failforward import clock
from failforward.database import as_id
from failforward.forms import DayField, Form, choices, plain_text, single_line
from failforward.reviews.models import ACTION_STATUSES, CHECK_ANSWERS, FACTOR_KINDS, NOT_DOING, VERIFIED

EXTRA_ROWS = 3  # empty rows offered after the filled ones, without JavaScript
MAX_EVENTS, MAX_FACTORS = 40, 20
OLDEST = timedelta(days=3660)
FROM = re.compile(r"^(rep|reflection|followup):([0-9]{1,12})$|^goal-week:([0-9]{1,12}):([0-9]{4}-[0-9]{2}-[0-9]{2})$")


def parse_from(text: str | None):
    """`rep:ID`, `reflection:ID`, `followup:ID` or `goal-week:GOALID:YYYY-MM-DD` as (kind, id, day); None for
    anything else."""
    match = FROM.match(text or "")
    if not match:
        return None
    if match.group(1):
        row_id = as_id(match.group(2))
        return (match.group(1), row_id, None) if row_id else None
    row_id = as_id(match.group(3))
    try:
        day = date.fromisoformat(match.group(4))
    except ValueError:
        return None
    return ("goal-week", row_id, day) if row_id else None


class MinuteField(DateTimeLocalField):
    """A local date and time to the minute, explained when the text is not one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter the date and time, like 2026-03-04 14:05.") from error


class EventRow(Form):
    """One timeline row: when (in the learner's zone) and what happened. Both, or neither."""

    class Meta:
        csrf = False

    at = MinuteField("When", validators=[Optional()])
    what = StringField("What happened", validators=[Optional(), Length(max=500), single_line])

    def validate_what(self, field) -> None:
        if field.data and self.at.data is None and not self.at.errors:
            raise ValidationError("Add the time this happened.")
        if self.at.data is not None and not field.data:
            raise ValidationError("Write what happened at this time.")


class FactorRow(Form):
    """One contributing factor and its kind."""

    class Meta:
        csrf = False

    kind = SelectField("Kind", choices=choices([("", "Pick a kind"), *FACTOR_KINDS.items()]), validators=[Optional()])
    what = StringField("Factor", validators=[Optional(), Length(max=500), single_line])

    def validate_what(self, field) -> None:
        if field.data and not self.kind.data:
            raise ValidationError("Pick the kind of this factor.")
        if self.kind.data and not field.data:
            raise ValidationError("Describe this factor.")


def _long(label: str, required: str | None = None, rows: int = 3, limit: int = 4000, **kwargs) -> TextAreaField:
    first = DataRequired(required) if required else Optional()
    return TextAreaField(label, validators=[first, Length(max=limit), plain_text], render_kw={"rows": rows}, **kwargs)


class ReviewForm(Form):
    """Trigger and scope, the timeline, contributing factors, the counterfactual, what worked, the assumptions
    to test, sharing."""

    trigger = _long("Trigger: why are we writing?", "Write why you are writing this review, in a line or two.",
                    limit=2000)
    scope = _long("Scope: what was affected?", rows=2, limit=2000)
    events = FieldList(FormField(EventRow), min_entries=EXTRA_ROWS, max_entries=MAX_EVENTS)
    factors = FieldList(FormField(FactorRow), min_entries=EXTRA_ROWS, max_entries=MAX_FACTORS)
    counterfactual = _long("What signal would have changed my judgement earlier?")
    what_worked = _long("What worked")
    assumptions = _long("Assumptions we'll test", description="One per line. Each can become a small test (a PDSA "
                                                                "cycle).")
    shared = BooleanField("Share this review with my coach")
    source = HiddenField(validators=[Optional(), Length(max=60)])
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])

    def __init__(self, *args, zone: ZoneInfo | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone or ZoneInfo("UTC")
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def offer_rows(self, extra: int = EXTRA_ROWS) -> None:
        """Empty rows after the filled ones, so several can be written without JavaScript."""
        for rows, most in ((self.events, MAX_EVENTS), (self.factors, MAX_FACTORS)):
            filled = sum(1 for row in rows if row.what.data)
            while len(rows) < min(filled + extra, most):
                rows.append_entry()

    def validate_events(self, field) -> None:
        now = clock.now()
        for row in field:
            if row.at.data is None:
                continue
            try:
                moment = row.at.data.replace(tzinfo=self.zone).astimezone(UTC)
            except OverflowError:
                moment = None
            if moment is None or not now - OLDEST <= moment <= now + timedelta(days=1):
                row.at.errors = [*row.at.errors, "Pick a time within the last ten years, and not in the future."]
                raise ValidationError("One time needs another look.")

    def timeline(self) -> list[tuple[datetime, str]]:
        return [(row.at.data.replace(tzinfo=self.zone).astimezone(UTC), row.what.data)
                for row in self.events if row.at.data is not None and row.what.data]

    def factor_list(self) -> list[tuple[str, str]]:
        return [(row.kind.data, row.what.data) for row in self.factors if row.kind.data and row.what.data]

    def source_ref(self):
        return parse_from(self.source.data)

    def fields_dict(self) -> dict:
        return {"trigger": self.trigger.data, "scope": self.scope.data or "",
                "counterfactual": self.counterfactual.data or "", "what_worked": self.what_worked.data or "",
                "assumptions": self.assumptions.data or "", "shared": bool(self.shared.data)}

    def texts(self) -> dict[str, str]:
        """What the blameless check reads, as typed."""
        return {**{name: value for name, value in self.fields_dict().items() if name != "shared"},
                "timeline": "\n".join(row.what.data or "" for row in self.events),
                "factors": "\n".join(what for _, what in self.factor_list())}


class ActionForm(Form):
    """A fix we'll implement: what, owner, due date, done condition, verification plan and check date."""

    what = _long("The fix", "Write the fix: one specific change.", rows=2, limit=1000)
    owner_id = RadioField("Owner", coerce=int, validators=[InputRequired("Pick who owns this fix.")])
    due_on = DayField("Due on", validators=[Optional()], description="Leave empty for 30 days from today.")
    done_condition = _long("Done when…", "Write what you will see when it is done.", rows=2, limit=1000,
                           description="Something observable, e.g. “the checklist is pinned above the desk”.")
    verify_plan = _long("How we'll know it worked", rows=2, limit=1000)
    check_on = DayField("Check on", validators=[Optional()], description="Leave empty for two weeks after it is due.")
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])

    def __init__(self, *args, owners=(), today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or clock.now().date()
        self.owner_id.choices = [(o.id, "Me" if i == 0 else f"{o.name} (coach)") for i, o in enumerate(owners)]
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate_due_on(self, field) -> None:
        if field.data and not self.today <= field.data <= self.today + timedelta(days=366):
            raise ValidationError("Pick a date from today to a year ahead.")

    def validate_check_on(self, field) -> None:
        due = self.today if self.due_on.errors else self.due_on.data or self.today
        if field.data and not due <= field.data <= due + timedelta(days=366):
            raise ValidationError("Pick a date on or after the due date, within a year of it.")

    def fields_dict(self) -> dict:
        return {"what": self.what.data, "owner_id": self.owner_id.data, "due_on": self.due_on.data,
                "done_condition": self.done_condition.data, "verify_plan": self.verify_plan.data or "",
                "check_on": self.check_on.data}


class StatusForm(Form):
    """Mark an action open, done, verified (with the evidence) or not doing (with the reason)."""

    status = RadioField("Status", choices=choices(ACTION_STATUSES.items()), validators=[InputRequired("Pick one.")])
    note = _long("Evidence, or the reason", rows=2, limit=1000,
                 description="Verified needs what showed it worked; not doing needs the reason.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        needed = {VERIFIED: "Write the evidence that shows the fix worked.",
                  NOT_DOING: "Write why this fix is not being done."}.get(self.status.data)
        if valid and needed and not self.note.data:
            self.note.errors = [needed]  # an empty note stops its own validators (Optional) before any check
            return False
        return valid


class CheckForm(Form):
    """Did the fix work?"""

    answer = RadioField("Did the fix work?", choices=choices(CHECK_ANSWERS.items()),
                        validators=[InputRequired("Pick one answer.")])
    note = _long("What you saw (optional)", rows=2, limit=1000)


class CommentForm(Form):
    """A comment on a shared review."""

    body = _long("Your comment", "Write your comment.", limit=2000)


class ShareForm(Form):
    """Share the review with the coach, or stop."""

    shared = BooleanField("Shared with my coach")
