"""Forms for study settings, decks, items, imports, answering before the reveal, and rating recall."""

from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from failforward.forms import Form, NumberField, WholeNumberField, choices, finite_number, plain_text, single_line
from failforward.study.models import AGAIN, ERROR_CLASSES, RATINGS
from failforward.study.services import ANSWER_MAX, EXPLANATION_MAX, PROMPT_MAX, TAGS_MAX

IMPORT_MAX_CHARS = 1_000_000
CONFIDENCE = {1: "1 · guessing", 2: "2", 3: "3", 4: "4", 5: "5 · certain"}


class SettingsForm(Form):
    """New items a day and how much to remember (FSRS's desired retention)."""

    new_per_day = WholeNumberField("New items a day", validators=[
        InputRequired("Enter how many new items to learn a day."),
        NumberRange(0, 500, "Enter between 0 and 500 new items a day.")],
        render_kw={"inputmode": "numeric"}, description="Due reviews always come first; 0 pauses new items.")
    desired_retention = NumberField("How much to remember", validators=[
        InputRequired("Enter how much to remember, like 0.9 for 9 items in 10."), finite_number(),
        NumberRange(0.7, 0.99, "Enter a number from 0.70 to 0.99, like 0.9 for 9 items in 10.")],
        render_kw={"inputmode": "decimal"},
        description="0.9: when an item comes back, you still know 9 in 10 of them. Higher means more reviews.")


class DeckForm(Form):
    """A deck's name and what it is for."""

    name = StringField("Name", validators=[DataRequired("Give the deck a name."), Length(max=100), single_line])
    description = TextAreaField("What it is for (optional)", validators=[Optional(), Length(max=2000), plain_text],
                                render_kw={"rows": 2})


class ItemForm(Form):
    """A prompt, its answer, and optionally an explanation and tags."""

    prompt = TextAreaField("Prompt", validators=[DataRequired("Write the prompt: the question you will answer."),
                                                 Length(max=PROMPT_MAX), plain_text], render_kw={"rows": 2})
    answer = TextAreaField("Answer", validators=[DataRequired("Write the right answer."), Length(max=ANSWER_MAX),
                                                 plain_text], render_kw={"rows": 2})
    explanation = TextAreaField("Explanation (optional)", validators=[Optional(), Length(max=EXPLANATION_MAX),
                                                                      plain_text], render_kw={"rows": 2},
                                description="Shown after the reveal: why this is the answer.")
    tags = StringField("Tags (optional)", validators=[Optional(), Length(max=TAGS_MAX), single_line],
                       description="Words separated by spaces.")
    self_judged = BooleanField("Long answer: I write a note and judge it myself")

    def fields_dict(self) -> dict:
        return {"prompt": self.prompt.data, "answer": self.answer.data, "explanation": self.explanation.data or "",
                "tags": self.tags.data or "", "self_judged": self.self_judged.data}


class ImportForm(Form):
    """CSV or Anki's plain text, pasted or from a file."""

    text = TextAreaField("Lines to import", validators=[
        DataRequired("Paste the lines to import, or choose a file."), Length(max=IMPORT_MAX_CHARS)],
        description="One item a line: prompt, answer and optional tags, separated by commas (CSV) or tabs. "
                    "Anki's “Notes in Plain Text” export is read with its header lines (separator, HTML, "
                    "columns, guid and tags).", render_kw={"rows": 8, "spellcheck": "false"})


class ConfirmImportForm(Form):
    """The previewed text, sent back to import it."""

    text = HiddenField(validators=[DataRequired(), Length(max=IMPORT_MAX_CHARS)])


class AnswerForm(Form):
    """The learner's answer and confidence, committed before the reveal."""

    given_answer = TextAreaField("Your answer", validators=[
        DataRequired("Write your answer first, even a guess: a wrong answer helps you learn."),
        Length(max=ANSWER_MAX), plain_text], render_kw={"rows": 2, "autocomplete": "off", "autocapitalize": "off",
                                                        "spellcheck": "false"})
    # The middle as a default: one tap less for most answers, and a plain post without it is still refused.
    confidence = RadioField("How sure are you?", coerce=int, choices=choices(CONFIDENCE.items()), default=3,
                            validators=[InputRequired("Pick how sure you are, from 1 to 5.")])


class RateForm(Form):
    """Recall rated with FSRS's four ratings; for an error, its kind and why."""

    rating = RadioField("How well did you recall it?", coerce=int, choices=choices(RATINGS.items()),
                        validators=[InputRequired("Pick again, hard, good or easy.")])
    error_class = RadioField("What kind of error was it?", choices=choices(ERROR_CLASSES.items()),
                             validators=[Optional()], validate_choice=True)
    note = TextAreaField("Why I thought that (optional, only you see this)",
                         validators=[Optional(), Length(max=2000), plain_text], render_kw={"rows": 2})

    def validate(self, extra_validators=None) -> bool:
        # Not a validate_error_class method: Optional() stops the chain before it when nothing is picked.
        valid = super().validate(extra_validators)
        if self.rating.data == AGAIN and not self.error_class.data and not self.error_class.errors:
            self.error_class.errors = [*self.error_class.errors, "Pick what kind of error this was."]
            return False
        return valid
