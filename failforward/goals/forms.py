"""Forms for goals (with the stretch-target check) and drills."""

from datetime import timedelta

from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from failforward import clock
from failforward.forms import Form, NumberField, WholeNumberField, choices, finite_number, plain_text, single_line
from failforward.goals.models import (
    AGGREGATIONS,
    DIRECTIONS,
    DROPPED,
    FEEDBACK_SOURCES,
    LOWER,
    PARTIAL_FROM_PCT,
    PAUSED,
)

NUMBER = {"inputmode": "decimal", "autocomplete": "off"}


def _text(label: str, limit: int, required: str | None = None, **kwargs) -> StringField:
    checks = [DataRequired(required)] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=limit), single_line], **kwargs)


def _long(label: str, limit: int, required: str | None = None, **kwargs) -> TextAreaField:
    checks = [DataRequired(required)] if required else [Optional()]
    return TextAreaField(label, validators=[*checks, Length(max=limit), plain_text], render_kw={"rows": 3}, **kwargs)


def _number(label: str, message: str, **kwargs) -> NumberField:
    return NumberField(label, validators=[InputRequired(message), finite_number()], render_kw=NUMBER, **kwargs)


class GoalForm(Form):
    """A goal: the behaviour, its metric, baseline, stretch target and the weekly rule."""

    title = _text("Goal", 200, "Name the goal.", description="E.g. \u201cAnswer pages faster\u201d.")
    bottleneck = _long("The behaviour to change", 2000, "Name the exact behaviour that holds you back.",
                       description="Be specific: \u201cfirst response to a page takes over 10 minutes\u201d.")
    metric_name = _text("Metric", 100, "Name what you will measure.", description="E.g. \u201cresponse time\u201d.")
    unit = _text("Unit", 30, "Give the unit.", description="E.g. minutes, %, reps, words.")
    direction = RadioField("Which way is better?", choices=choices(DIRECTIONS.items()), default=LOWER,
                           validators=[InputRequired("Pick which way is better.")])
    baseline = _number("Baseline (where you are now)", "Enter where you are now, as a number.")
    target = _number("Stretch target", "Enter the target, as a number.",
                     description="Specific and hard: a little beyond what you do today.")
    aggregation = SelectField("A week's value is", choices=choices(AGGREGATIONS.items()), default="median")
    weeks_required = WholeNumberField("Target met in how many consecutive weeks?", default=4,
                                  validators=[InputRequired("Enter a number of weeks."),
                                              NumberRange(1, 12, "Pick between 1 and 12 weeks.")],
                                  render_kw={"inputmode": "numeric", "min": 1, "max": 12})
    deadline = DateField("Deadline (optional)", validators=[Optional()])
    partial_from_pct = WholeNumberField(
        "A rep short of the target counts as partial from (% of the way)", default=PARTIAL_FROM_PCT,
        description="How far from the baseline towards the target a rep must get to count as partial; "
                    "nearer the baseline it is a miss. 50 is halfway.",
        validators=[Optional(), NumberRange(1, 99, "Pick between 1 and 99.")],
        render_kw={"inputmode": "numeric", "min": 1, "max": 99})
    why = _long("Why it matters (optional)", 2000)

    def validate_target(self, field) -> None:
        if self.baseline.data is None or field.data is None or self.direction.data not in DIRECTIONS:
            return
        beyond = field.data < self.baseline.data if self.direction.data == LOWER else field.data > self.baseline.data
        if not beyond:
            word = "below" if self.direction.data == LOWER else "above"
            raise ValidationError(f"Set the target {word} your baseline of {self.baseline.data:g}: "
                                  "a target you already meet is not a stretch.")

    def validate_deadline(self, field) -> None:
        today = clock.now().date()
        if field.data and not (today - timedelta(days=1) <= field.data <= today + timedelta(days=3660)):
            raise ValidationError("Pick a date from today up to ten years ahead.")

    def fields_dict(self) -> dict:
        return {name: self[name].data for name in (
            "title", "bottleneck", "metric_name", "unit", "direction", "baseline", "target", "weeks_required",
            "aggregation", "deadline")} | {"why": self.why.data or "",
                                            "partial_from_pct": self.partial_from_pct.data or PARTIAL_FROM_PCT}


class GoalStatusForm(Form):
    """Pause, resume, drop (with a reason) or mark reached."""

    status = SelectField("Status", choices=choices([("active", "Active"), (PAUSED, "Paused"), ("reached", "Reached"),
                                                    (DROPPED, "Dropped")]))
    # Not `Optional()`: it would stop the chain on an empty reason before `validate_drop_reason` runs.
    drop_reason = TextAreaField("Why drop it? (when dropping)", validators=[Length(max=1000), plain_text],
                                render_kw={"rows": 3})

    def validate_drop_reason(self, field) -> None:
        if self.status.data == DROPPED and not field.data:
            raise ValidationError("Say in a sentence why you drop this goal: it is a lesson too.")


class DrillForm(Form):
    """A drill: what it practises, what it constrains, how feedback arrives, how often."""

    name = _text("Drill name", 120, "Name the drill.")
    practises = _long("What it practises", 2000, "Say which part of the skill this drill works on.")
    environment = _text("Environment", 300, description="Where and under which conditions (simulator, role-play).")
    tools = _text("Tools", 300, description="What you use (timer, checklist, recording).")
    time_box_minutes = WholeNumberField("Time box (minutes, optional)",
                                    validators=[Optional(), NumberRange(1, 600, "Pick between 1 and 600 minutes.")],
                                    render_kw={"inputmode": "numeric"})
    feedback_source = RadioField("How feedback arrives", choices=choices(FEEDBACK_SOURCES.items()), default="coach",
                                 validators=[InputRequired("Pick how feedback arrives.")])
    planned_reps_per_week = WholeNumberField("Planned reps per week", default=5,
                                         validators=[InputRequired("Enter how many reps a week you plan."),
                                                     NumberRange(1, 200, "Pick between 1 and 200 reps.")],
                                         render_kw={"inputmode": "numeric"})
    difficulty_note = _long("How hard is it?", 1000,
                            description="Aim just beyond what you can do now: hard enough to miss sometimes.")

    def fields_dict(self) -> dict:
        data = {name: self[name].data for name in ("name", "practises", "time_box_minutes", "feedback_source",
                                                    "planned_reps_per_week")}
        return data | {name: self[name].data or "" for name in ("environment", "tools", "difficulty_note")}


class CopyDrillForm(Form):
    """Pick one of your other drills to copy here."""

    drill_id = SelectField("Drill to copy", coerce=int, validate_choice=True,
                           validators=[InputRequired("Pick a drill to copy.")])
