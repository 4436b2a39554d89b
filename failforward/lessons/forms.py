"""Forms for a lesson, its check, a coach's comment, and the search."""

import re
import secrets
from datetime import date, timedelta

from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from failforward import clock
from failforward.database import as_id
from failforward.forms import DayField, Form, choices, plain_text, single_line
from failforward.lessons.models import ANSWERS, STATUSES, TAG_KINDS

MAX_TAGS = 8
TAG_LENGTH = 40
# follow_up: an earlier lesson; followup: a due follow-up of a contract threshold (failforward/thresholds);
# review: a blameless review (failforward/reviews)
SOURCES = ("rep", "reflection", "routine", "feedback", "follow_up", "followup", "review")


def parse_tags(text: str | None) -> list[str]:
    """Comma-separated tag names, tidied: inner spaces collapsed, lower case, no repeats, in order."""
    names = [re.sub(r"\s+", " ", part).strip().lower() for part in (text or "").split(",")]
    return list(dict.fromkeys(name for name in names if name))


def tag_list(form, field) -> None:
    """Validator: at most MAX_TAGS tags, each one line of at most TAG_LENGTH characters."""
    names = parse_tags(field.data)
    if len(names) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags here.")
    if any(len(name) > TAG_LENGTH for name in names):
        raise ValidationError(f"Keep each tag to {TAG_LENGTH} characters.")


class LessonForm(Form):
    """Date, context, what failed, what was tried, what to try next, tags, sharing, the check date."""

    happened_on = DayField("Date", validators=[InputRequired("Enter the date, like 2026-03-04.")])
    context = TextAreaField("Context", validators=[Optional(), Length(max=1000), plain_text],
                            description="Where and when: the drill, the session, the situation.", render_kw={"rows": 2})
    what_failed = TextAreaField("What failed", validators=[DataRequired("Write what failed, in a line or two."),
                                                           Length(max=2000), plain_text], render_kw={"rows": 3})
    what_tried = TextAreaField("What you tried", validators=[Optional(), Length(max=2000), plain_text],
                               render_kw={"rows": 3})
    try_next = TextAreaField("What you'll try next", validators=[Optional(), Length(max=2000), plain_text],
                             description="The 30-day check asks whether this worked.", render_kw={"rows": 3})
    system_tags = StringField("System tags", validators=[Optional(), Length(max=400), single_line, tag_list],
                              description="Separate with commas, e.g. pager, on-call handover.")
    root_cause_tags = StringField("Root cause tags", validators=[Optional(), Length(max=400), single_line, tag_list],
                                  description="e.g. rushed, unclear alert.")
    metric_tags = StringField("Impacted metric tags", validators=[Optional(), Length(max=400), single_line, tag_list],
                              description="e.g. first response time.")
    check_on = DayField("Check on", validators=[Optional()], description="Leave empty for 30 days from today.")
    shared = BooleanField("Share this lesson with my coach")
    shared_with_learners = BooleanField("Share this lesson with my learners")
    source = HiddenField(validators=[Optional(), Regexp(r"^[a-z_]{1,12}:[0-9]{1,12}$")])
    idempotency_key = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")])

    def __init__(self, *args, today: date | None = None, current_check: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or clock.now().date()
        self.current_check = current_check
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate_happened_on(self, field) -> None:
        oldest, newest = self.today - timedelta(days=3660), self.today + timedelta(days=1)
        if field.data and not oldest <= field.data <= newest:
            raise ValidationError("Pick a date within the last ten years, and not in the future.")

    def validate_check_on(self, field) -> None:
        latest = self.today + timedelta(days=366)
        if field.data and field.data != self.current_check and not self.today <= field.data <= latest:
            raise ValidationError("Pick a date from today to a year ahead.")

    def source_ref(self) -> tuple[str, int] | None:
        """Where the lesson came from, as (kind, id); the service checks the id is the learner's."""
        if not self.source.data:
            return None
        kind, _, number = self.source.data.partition(":")
        row_id = as_id(number)
        return (kind, row_id) if kind in SOURCES and row_id is not None else None

    def tags_dict(self) -> dict[str, list[str]]:
        return {"system": parse_tags(self.system_tags.data), "root-cause": parse_tags(self.root_cause_tags.data),
                "metric": parse_tags(self.metric_tags.data)}

    def fields_dict(self) -> dict:
        return {"happened_on": self.happened_on.data, "context": self.context.data or "",
                "what_failed": self.what_failed.data, "what_tried": self.what_tried.data or "",
                "try_next": self.try_next.data or "", "check_on": self.check_on.data,
                "shared": bool(self.shared.data), "shared_with_learners": bool(self.shared_with_learners.data)}


class CheckForm(Form):
    """Did what you planned to try work?"""

    answer = RadioField("Did what you planned to try work?", choices=choices(ANSWERS.items()),
                        validators=[InputRequired("Pick one answer.")])
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=1000), plain_text],
                         render_kw={"rows": 2})
    next = HiddenField(validators=[Optional(), Length(max=500)])


class CommentForm(Form):
    """A comment on a shared lesson."""

    body = TextAreaField("Your comment", validators=[DataRequired("Write your comment."), Length(max=2000),
                                                     plain_text], render_kw={"rows": 3})


class SearchForm(Form):
    """Words to find, and filters by tag of each kind and by status (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField("Search your lessons", validators=[Optional(), Length(max=200), single_line],
                    render_kw={"autocomplete": "off", "enterkeyhint": "search"})
    system = SelectField("System", validators=[Optional()], validate_choice=False)
    root_cause = SelectField("Root cause", validators=[Optional()], validate_choice=False)
    metric = SelectField("Impacted metric", validators=[Optional()], validate_choice=False)
    status = SelectField("Status", choices=choices([("", "Any status"), *STATUSES.items()]), validators=[Optional()],
                         validate_choice=False)

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        for field_name, kind in (("system", "system"), ("root_cause", "root-cause"), ("metric", "metric")):
            getattr(self, field_name).choices = choices(
                [("", f"Any {TAG_KINDS[kind].lower()}"), *((t.name, t.name) for t in tags if t.kind == kind)])

    def filters(self) -> dict:
        return {"q": (self.q.data or "")[:200], "status": self.status.data if self.status.data in STATUSES else "",
                "tags": {kind: (getattr(self, name).data or "")[:TAG_LENGTH] for name, kind in
                         (("system", "system"), ("root_cause", "root-cause"), ("metric", "metric"))
                         if getattr(self, name).data}}
