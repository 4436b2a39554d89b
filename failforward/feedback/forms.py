"""Forms for asking for feedback, answering, following up and rating."""

from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from failforward.forms import Form, choices, plain_text


class AskForm(Form):
    """An optional question, and other reps of the same session to include."""

    question = TextAreaField("Your question (optional)", validators=[Optional(), Length(max=2000), plain_text],
                             description="What do you want your coach to look at?", render_kw={"rows": 3})
    extra_reps = SelectMultipleField("Include other reps from this session", coerce=int, validate_choice=True,
                                     widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class AnswerForm(Form):
    """The coach's feedback."""

    body = TextAreaField("Your feedback", validators=[DataRequired("Write your feedback."), Length(max=5000),
                                                      plain_text], render_kw={"rows": 4})


class FollowUpForm(Form):
    """The learner's follow-up question."""

    body = TextAreaField("Ask a follow-up", validators=[DataRequired("Write your follow-up question."),
                                                        Length(max=2000), plain_text], render_kw={"rows": 3})


class HelpfulForm(Form):
    """Was the feedback helpful?"""

    helpful = RadioField("Was this helpful?", choices=choices([("yes", "Yes"), ("no", "Not really")]),
                         validators=[InputRequired("Pick yes or not really.")])
