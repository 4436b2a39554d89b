"""Forms for invites and the learning contract."""

from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from failforward.accounts.addresses import usable_address
from failforward.forms import Form, WholeNumberField, plain_text, single_line


class InviteForm(Form):
    """Optionally name the learner's email; the link works for anyone otherwise."""

    email = EmailField(
        "Learner's email (optional)",
        validators=[Optional(), Length(max=320), single_line, usable_address],
        description="With an address, we email the link and only that person can use it.",
        render_kw={"autocomplete": "off", "inputmode": "email", "spellcheck": "false"},
    )


def _term(label: str, hint: str) -> TextAreaField:
    return TextAreaField(label, validators=[DataRequired("Write a definition."), Length(max=2000), plain_text],
                         description=hint, render_kw={"rows": 3})


class ContractForm(Form):
    """The glossary, the review thresholds, the feedback due time and the commitments."""

    experiment = _term("Experiment", "A planned try we expect to learn from.")
    error = _term("Error", "An action that did not go as intended.")
    incident = _term("Incident", "Something that went wrong and had a real cost.")
    near_miss = _term("Near-miss", "Something that almost went wrong and was caught.")
    failure = _term("Failure", "A target or plan that did not work out.")
    review_thresholds = TextAreaField(
        "What triggers a review",
        validators=[DataRequired("Write at least one threshold."), Length(max=4000), plain_text],
        description="One per line, e.g. \u201c3 misses in a week: write a lesson within 72 hours\u201d.",
        render_kw={"rows": 4},
    )
    feedback_due_hours = WholeNumberField(
        "Feedback due within (hours)",
        validators=[InputRequired("Enter a number of hours."),
                    NumberRange(1, 336, "Pick between 1 hour and 336 hours (two weeks).")],
        render_kw={"inputmode": "numeric", "min": 1, "max": 336},
    )
    commitments = TextAreaField(
        "Our commitments",
        validators=[DataRequired("Write the commitments you both accept."), Length(max=4000), plain_text],
        render_kw={"rows": 4},
    )

    def terms(self) -> dict:
        """The contract's fields as a dict for the service."""
        return {name: self[name].data for name in (
            "experiment", "error", "incident", "near_miss", "failure", "review_thresholds",
            "feedback_due_hours", "commitments")}


class AcceptContractForm(Form):
    """Accept one version of the contract."""

    # An integer field, so a forged version ("²" passes str.isdigit) is a validation error, not a crash.
    version = WholeNumberField(widget=HiddenInput(), validators=[InputRequired()])
