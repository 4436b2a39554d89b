"""Forms for a cycle's plan, its decision rule, the learner's decision, and notes."""

import secrets
from datetime import date, timedelta

from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from failforward.cycles.models import DECISIONS, HARMS, OTHER_GOAL, SCOPE_ADVISED, TIMEBOX_ADVISED
from failforward.database import as_id
from failforward.forms import Form, NumberField, WholeNumberField, choices, finite_number, plain_text, single_line
from failforward.goals.models import Drill, Goal

NUMBER = {"inputmode": "decimal", "autocomplete": "off"}
WHOLE = {"inputmode": "numeric", "autocomplete": "off"}
LATEST_START = timedelta(days=30)


def _long(label: str, limit: int, required: str | None = None, **kwargs) -> TextAreaField:
    checks = [DataRequired(required)] if required else [Optional()]
    return TextAreaField(label, validators=[*checks, Length(max=limit), plain_text], render_kw={"rows": 2}, **kwargs)


class RuleForm(Form):
    """The decision rule, declared before the start: adopt if the signal improves by at least X% without the
    harm worsening by more than Y%; inconclusive with fewer than N reps in a window."""

    harm = SelectField("Harm to watch", description="What must not get worse while you test the change: the share of "
                                                    "the drill's reps missed, fewer practice minutes on it, or "
                                                    "another goal's metric.")
    adopt_if_pct = NumberField("Adopt if the signal improves by at least (%)", default=5, render_kw=NUMBER,
                               validators=[InputRequired("Enter a percentage, like 5."), finite_number(),
                                           NumberRange(0, 1000, "Pick between 0 and 1000%%.")])
    harm_tolerance_pct = NumberField("…without the harm worsening by more than (%)", default=0, render_kw=NUMBER,
                                     validators=[InputRequired("Enter a percentage, like 0."), finite_number(),
                                                 NumberRange(0, 1000, "Pick between 0 and 1000%%.")])
    min_reps = WholeNumberField("Inconclusive with fewer reps than this in a window", default=5, render_kw=WHOLE,
                                validators=[InputRequired("Enter a number of reps."),
                                            NumberRange(1, 100, "Pick between 1 and 100 reps.")])
    reason = _long("Why change the rule? (optional)", 1000,
                   description="The cycle has started: the change is kept beside the rule it replaces.")

    def __init__(self, *args, other_goals: list[Goal] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.harm.choices = choices([*HARMS.items(), *((f"{OTHER_GOAL}:{g.id}", f"“{g.title}”: {g.metric_name}")
                                                       for g in other_goals)])

    def rule_dict(self) -> dict:
        kind, _, goal_id = self.harm.data.partition(":")
        return {"harm": kind, "harm_goal_id": as_id(goal_id) if kind == OTHER_GOAL else None,
                "adopt_if_pct": self.adopt_if_pct.data, "harm_tolerance_pct": self.harm_tolerance_pct.data,
                "min_reps": self.min_reps.data}


class PlanForm(RuleForm):
    """Plan a cycle: the IHI worksheet's fields, with the rule above."""

    drill_id = RadioField("Drill under test", validators=[InputRequired("Pick the drill you will test on.")],
                          description="Its reps are the test; the same drill's reps before the start, the baseline.")
    objective = _long("Objective", 1000, "Say what this cycle is for.",
                      description="What do you want to learn from this test?")
    change = _long("The change to try", 2000, "Write the change you will try.")
    prediction = _long("Your prediction", 2000, "Write what you expect, and why.",
                       description="What will happen, and why? The rule's verdict is shown beside it.")
    scope_pct = WholeNumberField("Share of practice time under test (%)", default=10, render_kw=WHOLE,
                                 description=f"Keep it at {SCOPE_ADVISED}% or less, so a miss costs little.",
                                 validators=[InputRequired("Enter a percentage, like 10."),
                                             NumberRange(1, 100, "Pick between 1 and 100%%.")])
    timebox_days = WholeNumberField("Timebox (days)", default=14, render_kw=WHOLE,
                                    description=f"1 to {TIMEBOX_ADVISED} days; it ends at midnight.",
                                    validators=[InputRequired("Enter a number of days."),
                                                NumberRange(1, 90, "Pick between 1 and 90 days.")])
    starts_on = DateField("Starts on", validators=[InputRequired("Enter the start day, like 2026-03-04.")])
    undo_plan = _long("How to undo it", 1000, "Say how you would undo the change.")
    undo_speed = StringField("How fast can you undo it?", validators=[DataRequired("Say how fast."), Length(max=100),
                                                                      single_line],
                             description="E.g. “at once”, “by the next session”.")
    next_if_inconclusive = _long("Next cycle if this one is inconclusive (optional)", 2000)
    previous = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,12}$")])
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])
    reason = None  # a plan declares its rule: nothing to explain yet

    def __init__(self, *args, drills: list[Drill] = (), today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.drill_id.choices = choices((str(d.id), d.name) for d in drills)
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate_starts_on(self, field) -> None:
        if field.data and not self.today <= field.data <= self.today + LATEST_START:
            raise ValidationError("Pick a day from today to 30 days ahead.")

    def validate_drill_id(self, field) -> None:
        if as_id(field.data) is None:
            raise ValidationError("Pick the drill you will test on.")

    def fields_dict(self) -> dict:
        return {**self.rule_dict(), "drill_id": as_id(self.drill_id.data), "objective": self.objective.data,
                "change": self.change.data, "prediction": self.prediction.data, "scope_pct": self.scope_pct.data,
                "timebox_days": self.timebox_days.data, "starts_on": self.starts_on.data,
                "undo_plan": self.undo_plan.data, "undo_speed": self.undo_speed.data,
                "next_if_inconclusive": self.next_if_inconclusive.data or ""}


class DecisionForm(Form):
    """Act: the learner's call, which may differ from the rule's."""

    decision = RadioField("Your decision", choices=choices(DECISIONS.items()),
                          validators=[InputRequired("Pick adopt, adapt or abandon.")])
    note = _long("Note (optional)", 2000, description="Why, especially if it differs from what the rule says.")


class NoteForm(Form):
    """An observation while the cycle runs."""

    body = TextAreaField("Observation", validators=[DataRequired("Write the note."), Length(max=2000), plain_text],
                         render_kw={"rows": 2}, description="What you notice while it runs: it helps the study.")


class CommentForm(NoteForm):
    """A comment on a cycle (the learner's coach, or the learner)."""

    body = TextAreaField("Your comment", validators=[DataRequired("Write your comment."), Length(max=2000),
                                                     plain_text], render_kw={"rows": 2})
