"""The pulse's statements, each on a 1-5 scale, and an optional comment."""

from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from failforward.forms import Form, choices, plain_text
from failforward.pulse.models import STATEMENTS

SCALE = choices((str(n), str(n)) for n in range(1, 6))


def _statement(name: str) -> RadioField:
    return RadioField(STATEMENTS[name], choices=SCALE,
                      validators=[InputRequired("Pick a number from 1 (disagree) to 5 (agree).")])


class PulseForm(Form):
    """How the coaching feels: every statement answered, a comment if the learner likes."""

    mistakes = _statement("mistakes")
    problems = _statement("problems")
    help = _statement("help")
    skills = _statement("skills")
    risks = _statement("risks")
    comment = TextAreaField("Anything else? (optional)", validators=[Optional(), Length(max=2000), plain_text],
                            description="Your coach reads comments without your name, in no particular order.",
                            render_kw={"rows": 3})

    def statements(self) -> list[RadioField]:
        return [self[name] for name in STATEMENTS]

    def scores(self) -> dict[str, int]:
        return {name: int(self[name].data) for name in STATEMENTS}
