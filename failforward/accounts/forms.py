"""Forms for signing up, signing in, passwords and settings."""

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from failforward.accounts.addresses import FORMAT_MESSAGE, usable_address
from failforward.accounts.models import OPTIONAL_KINDS
from failforward.accounts.passwords import MAX_LENGTH, password_problem
from failforward.forms import Form, choices, single_line, timezone_choices

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

def email_field(label: str = "Email", new: bool = False) -> EmailField:
    """An email address; a `new` one (signing up, changing it) must be at a domain mail can reach. Signing in
    and asking for a reset take any well-formed address: an account made before that rule still gets in."""
    check = usable_address if new else Email(FORMAT_MESSAGE, check_deliverability=False)
    return EmailField(
        label,
        validators=[DataRequired("Enter your email address."), Length(max=320), single_line, check],
        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"},
    )


def _timezone_field(detect: bool = False) -> SelectField:
    return SelectField(
        "Time zone",
        choices=timezone_choices,
        default="UTC",
        validate_choice=True,
        description="Weeks, streaks and reminders follow this zone.",
        render_kw={"data-browser-timezone": ""} if detect else None,
    )


class NewPasswordMixin:
    """Checks a new password against the rules, and against the person's own name and email."""

    def validate_password(self, field) -> None:
        personal = [getattr(self, "name", None), getattr(self, "email", None)]
        problem = password_problem(field.data or "", *[f.data or "" for f in personal if f is not None])
        if problem:
            raise ValidationError(problem)


def _new_password(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired("Choose a password."), Length(max=MAX_LENGTH)],
        description="At least 8 characters. A short sentence works well.",
        render_kw={"autocomplete": "new-password"},
    )


class SignUpForm(NewPasswordMixin, Form):
    """Name, email, password and time zone."""

    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=100), single_line],
                       render_kw={"autocomplete": "name"})
    email = email_field(new=True)
    password = _new_password()
    timezone = _timezone_field(detect=True)


class LoginForm(Form):
    """Email and password."""

    email = email_field()
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class ResetRequestForm(Form):
    """Ask for a password-reset link."""

    email = email_field()


class ResetForm(NewPasswordMixin, Form):
    """Choose a new password from a reset link."""

    password = _new_password("New password")


class ChangePasswordForm(NewPasswordMixin, Form):
    """Change the password, proving the current one."""

    current_password = PasswordField("Current password", validators=[InputRequired("Enter your current password."),
                                     Length(max=MAX_LENGTH)], render_kw={"autocomplete": "current-password"})
    password = _new_password("New password")


class ChangeEmailForm(Form):
    """Move the account to another address, proving the password."""

    email = email_field("New email", new=True)
    current_password = PasswordField("Password", validators=[InputRequired("Enter your password."),
                                     Length(max=MAX_LENGTH)], render_kw={"autocomplete": "current-password"})


class DeleteAccountForm(Form):
    """Confirm deleting the account with the password."""

    current_password = PasswordField("Password", validators=[InputRequired("Enter your password to confirm."),
                                     Length(max=MAX_LENGTH)], render_kw={"autocomplete": "current-password"})


class SettingsForm(Form):
    """Name, time zone, weekly check-in time and email opt-in."""

    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=100), single_line])
    timezone = _timezone_field()
    checkin_weekday = SelectField("Weekly check-in day", coerce=int,
                                  choices=choices(enumerate(WEEKDAYS)), validate_choice=True)
    checkin_hour = SelectField("Weekly check-in hour", coerce=int,
                               choices=choices((h, f"{h:02d}:00") for h in range(24)), validate_choice=True,
                               description="In your time zone. Nothing is sent between 21:00 and 07:00.")
    checkin_always = BooleanField("Send the weekly check-in even in a week with no practice at all")
    email_opt_in = BooleanField("Send me email (check-ins, feedback, reminders)")

    @staticmethod
    def switch_name(kind: str) -> str:
        return "mail_" + kind.replace("-", "_")

    def switch_fields(self) -> list:
        """The per-kind email switches, in the order of OPTIONAL_KINDS."""
        return [self[self.switch_name(kind)] for kind in OPTIONAL_KINDS]

    def switches(self) -> dict[str, bool]:
        return {kind: bool(self[self.switch_name(kind)].data) for kind in OPTIONAL_KINDS}

    @classmethod
    def for_user(cls, user, switches: dict[str, bool]) -> "SettingsForm":
        """The form prefilled from the person and their email switches."""
        return cls(obj=user, **{cls.switch_name(kind): on for kind, on in switches.items()})


for _kind, _label in OPTIONAL_KINDS.items():
    setattr(SettingsForm, SettingsForm.switch_name(_kind), BooleanField(_label))
