"""Forms for a reflection (two steps), sharing it, and the recovery routine."""

import secrets

from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from failforward.database import as_id
from failforward.forms import Form, choices, plain_text, single_line
from failforward.reflection.models import FEELINGS
from failforward.reflection.prompts import SHORT, SITUATIONS

INTENSITY = choices((str(n), str(n)) for n in range(11))
WRITE_OWN = "own"


class FeelingForm(Form):
    """Step 1: what happened, the feeling and how strong it is."""

    # The short names: six pills that fit a phone's width in three rows keep the form on one screen.
    situation = RadioField("What kind of setback?", choices=choices([*SHORT.items(), ("other", SITUATIONS["other"])]),
                           validators=[InputRequired("Pick the kind of setback closest to yours.")])
    feeling = RadioField("What do you feel?", choices=choices(FEELINGS.items()), validators=[Optional()])
    feeling_own = StringField("Or in your own words", validators=[Optional(), Length(max=60), single_line],
                              render_kw={"autocomplete": "off"})
    intensity_before = RadioField("How strong is it right now?", choices=INTENSITY,
                                  description="0 not at all, 10 as strong as it gets",
                                  validators=[InputRequired("Pick a number from 0 to 10.")])
    what_happened = TextAreaField("What happened, in a sentence", validators=[
        DataRequired("Write a sentence about what happened."), Length(max=500), plain_text], render_kw={"rows": 2})
    rep_id = HiddenField()
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Here, not in validate_feeling_own: Optional() ends the field's checks when it is empty.
        if not self.feeling.data and not self.feeling_own.data and not self.feeling_own.errors:
            self.feeling_own.errors = [*self.feeling_own.errors, "Pick a feeling above or name it here."]
            return False
        return valid

    def rep(self) -> int | None:
        return as_id(self.rep_id.data)


class ReappraisalForm(Form):
    """Step 2: pick or write a reappraisal, then rate the feeling again."""

    prompt = RadioField("Pick the thought that fits", validators=[InputRequired("Pick a prompt, or write your own.")])
    own_text = TextAreaField("Your own reappraisal", validators=[Optional(), Length(max=500), plain_text],
                             description="Used when you pick “Write my own”.", render_kw={"rows": 2})
    keep_own = BooleanField("Keep it to reuse next time")
    intensity_after = RadioField("Read it once more, slowly. How strong is the feeling now?", choices=INTENSITY,
                                 validators=[InputRequired("Pick a number from 0 to 10.")])
    group = HiddenField()

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.prompt.choices = choices([*options, (WRITE_OWN, "Write my own")])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.prompt.data == WRITE_OWN and not self.own_text.data and not self.own_text.errors:
            self.own_text.errors = [*self.own_text.errors, "Write your reappraisal, or pick one of the prompts."]
            return False
        return valid


class RoutineForm(Form):
    """The three steps as one checklist; the buttons say whether to go on, skip, save or finish."""

    body_done = BooleanField("I did the body reset (or part of it)")
    what_happened = TextAreaField("What happened?", validators=[Optional(), Length(max=2000), plain_text],
                                  render_kw={"rows": 3})
    what_i_controlled = TextAreaField("What did I control?", validators=[Optional(), Length(max=2000), plain_text],
                                      render_kw={"rows": 3})
    try_next = TextAreaField("What will I try next?", validators=[Optional(), Length(max=2000), plain_text],
                             render_kw={"rows": 3})
    share_learning = TextAreaField("One learning to share with your coach", validators=[
        Optional(), Length(max=1000), plain_text], render_kw={"rows": 2})
    share = BooleanField("Share this learning with my coach")
    tell_whom = StringField("Or: whom will you tell?", validators=[Optional(), Length(max=120), single_line])
    ask_them = TextAreaField("What will you ask them?", validators=[Optional(), Length(max=1000), plain_text],
                             render_kw={"rows": 2})
    action = StringField(validators=[Optional(), Length(max=20)])  # the pressed button, never drawn as a field

    def fields_dict(self) -> dict:
        return {name: getattr(self, name).data or "" for name in
                ("what_happened", "what_i_controlled", "try_next", "share_learning", "tell_whom", "ask_them")} | {
            "body_done": bool(self.body_done.data), "shared": bool(self.share.data)}
