"""Forms for a pre-mortem's steps: the prime's choices, the silent write, a risk, the dots, a top risk's
mitigation, and a comment."""

from datetime import date, timedelta

from wtforms import (
    FieldList,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from failforward.database import as_id
from failforward.forms import (
    DayField,
    Form,
    NumberField,
    WholeNumberField,
    choices,
    finite_number,
    plain_text,
    single_line,
)
from failforward.premortems.models import MANUAL, METRIC, NEEDS_DRILL, OWNERS, TRIPWIRE_KINDS

CAUSE_LENGTH = 300
MAX_CAUSES = 30  # the aim is 5-10; beyond this the list is no longer a pre-mortem's


class StartForm(Form):
    """The prime's choices: how long to write, how many dots each, and whom to invite."""

    timer_minutes = WholeNumberField("Minutes to write", default=6, validators=[
        InputRequired("Pick 5, 6 or 7 minutes."), NumberRange(5, 7, "Pick 5, 6 or 7 minutes.")])
    dots = WholeNumberField("Dots each to vote with", default=3, validators=[
        InputRequired("Pick between 1 and 10 dots."), NumberRange(1, 10, "Pick between 1 and 10 dots.")])
    coach = SelectField("Run it with", validators=[Optional()], validate_choice=False)

    def __init__(self, *args, coaches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.coach.choices = choices([("", "Just me"), *((str(c.id), f"Me and {c.name} (my coach)") for c in coaches)])
        self.coach_ids = {str(c.id) for c in coaches}

    def validate_coach(self, field) -> None:
        if field.data and field.data not in self.coach_ids:
            raise StopValidation("Pick one of your coaches.")

    def coach_id(self) -> int | None:
        return as_id(self.coach.data) if self.coach.data else None


def cause_lines(text: str | None) -> list[str]:
    """The causes typed one a line, without empty lines."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class CausesForm(Form):
    """The silent write: concrete causes of the imagined failure, one a line."""

    causes = TextAreaField("What happened? One cause a line", validators=[
        Optional(), Length(max=MAX_CAUSES * (CAUSE_LENGTH + 2)), plain_text], render_kw={"rows": 10})
    action = StringField(validators=[Optional(), Length(max=10)])

    def validate_causes(self, field) -> None:
        lines = cause_lines(field.data)
        if len(lines) > MAX_CAUSES:
            raise StopValidation(f"Keep to {MAX_CAUSES} causes at most: merge the similar ones.")
        if any(len(line) > CAUSE_LENGTH for line in lines):
            raise StopValidation(f"Keep each cause to {CAUSE_LENGTH} characters.")
        if self.finished() and not lines:
            raise StopValidation("Write at least one cause before you finish.")

    def finished(self) -> bool:
        return self.action.data == "finish"


class RiskForm(Form):
    """Merge similar causes into a risk with a title of its own."""

    title = StringField("Risk title", validators=[DataRequired("Give the risk a short title."), Length(max=200),
                                                  single_line])
    causes = SelectMultipleField("Causes it merges", coerce=str, validate_choice=False,
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def __init__(self, *args, causes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.causes.choices = choices((str(c.id), c.text) for c in causes)

    def cause_ids(self) -> list[int]:
        return [i for i in (as_id(value) for value in self.causes.data or []) if i is not None]


class VoteForm(Form):
    """Dots on risks: one number a risk, in the order of `risk_ids` (the risks shown when the form was drawn)."""

    risk_ids = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,10}(,[0-9]{1,10}){0,49}$")])
    dots = FieldList(WholeNumberField("Dots", validators=[Optional(), NumberRange(0, 10, "Between 0 and 10 dots.")]),
                     max_entries=50)

    def label_with(self, risks) -> "VoteForm":
        """Each number labelled with its risk's title."""
        titles = {risk.id: risk.title for risk in risks}
        for entry, risk_id in zip(self.dots.entries, self.ids(), strict=False):
            entry.label.text = titles.get(risk_id, "Dots")
        return self

    def ids(self) -> list[int]:
        return [int(part) for part in (self.risk_ids.data or "").split(",") if part]

    def pairs(self) -> list[tuple]:
        """Each number with the id of the risk it is for."""
        return list(zip(self.dots.entries, self.ids(), strict=False))

    def dots_by_risk(self) -> dict[int, int]:
        return {risk_id: entry.data or 0 for risk_id, entry in zip(self.ids(), self.dots.entries, strict=False)}


def vote_form(risks, mine: dict[int, int], **kwargs) -> VoteForm:
    """The dots form for these risks, prefilled with the voter's dots."""
    data = {"risk_ids": ",".join(str(risk.id) for risk in risks), "dots": [mine.get(risk.id) for risk in risks]}
    return VoteForm(data=data, **kwargs).label_with(risks)


class CommentForm(Form):
    """A comment on a pre-mortem (the learner's coach, or the learner)."""

    body = TextAreaField("Your comment", validators=[DataRequired("Write your comment."), Length(max=2000),
                                                     plain_text], render_kw={"rows": 3})


class ConvertForm(Form):
    """A top risk's prevention step, tripwire (what the app watches, and its N or X), contingency plan,
    owner and date."""

    prevention = TextAreaField("Prevention step", validators=[
        DataRequired("Write one step that makes this less likely."), Length(max=1000), plain_text],
        description="What you'll do so that this is less likely to happen.", render_kw={"rows": 2})
    tripwire = RadioField("Tripwire: how you'll know it is happening", choices=choices(TRIPWIRE_KINDS.items()),
                          validators=[InputRequired("Pick a tripwire.")])
    drill_id = SelectField("Drill (for a tripwire on a drill)", validate_choice=False)
    threshold = NumberField("N or X", validators=[finite_number(1e9)],
                            description="N days, misses or weeks; or X in the goal's unit for its metric.")
    contingency = TextAreaField("Contingency plan", validators=[
        DataRequired("Write what you'll do when the tripwire fires."), Length(max=1000), plain_text],
        description="Shown on your home page when the tripwire fires.", render_kw={"rows": 2})
    owner = RadioField("Owner", choices=choices(OWNERS.items()), default="learner",
                       validators=[InputRequired("Pick an owner.")])
    due_on = DayField("By", validators=[InputRequired("Enter the date, like 2026-03-04.")])

    def __init__(self, *args, drills=(), today: date | None = None, has_coach: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.drill_id.choices = choices([("", "No drill"), *((str(d.id), d.name) for d in drills)])
        if not has_coach:  # a learner on their own owns every step: "The coach" would be nobody
            self.owner.choices = choices([(key, label) for key, label in OWNERS.items() if key == "learner"])
        self.today = today

    def validate_drill_id(self, field) -> None:
        if self.tripwire.data in NEEDS_DRILL and not as_id(field.data):
            raise StopValidation("Pick the drill this tripwire watches.")

    def validate_threshold(self, field) -> None:
        kind = self.tripwire.data
        if kind in TRIPWIRE_KINDS and kind != MANUAL and field.data is None:
            raise StopValidation("Enter N (or X for the metric).")
        if kind in NEEDS_DRILL and field.data is not None and not (field.data == int(field.data) and
                                                                   1 <= field.data <= 365):
            raise StopValidation("Enter a whole number from 1 to 365.")

    def validate_due_on(self, field) -> None:
        if self.today and field.data and not self.today - timedelta(days=366) <= field.data <= self.today + \
                timedelta(days=3660):
            raise StopValidation("Pick a date within a year back and ten years ahead.")

    def fields_dict(self) -> dict:
        kind = self.tripwire.data
        return {"prevention": self.prevention.data, "contingency": self.contingency.data, "owner": self.owner.data,
                "due_on": self.due_on.data, "tripwire": kind,
                "drill_id": as_id(self.drill_id.data) if kind in NEEDS_DRILL else None,
                "threshold": self.threshold.data if kind in (*NEEDS_DRILL, METRIC) else None}
