"""Account pages: sign up, sign in and out, password reset, settings, deleting the account."""

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from failforward.accounts import services
from failforward.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmForm,
    DeleteAccountForm,
    LoginForm,
    ResetForm,
    ResetRequestForm,
    SettingsForm,
    SignUpForm,
)
from failforward.accounts.models import OPTIONAL_KINDS
from failforward.extensions import login_manager
from failforward.signing import LinkError
from failforward.web import done, invalid, render, safe_next

bp = Blueprint("accounts", __name__)
login_manager.user_loader(services.load_user)
login_manager.login_view = "accounts.login"
login_manager.login_message = "Sign in to see that page."
login_manager.login_message_category = "info"


def _sign_in(user) -> None:
    """Start a fresh session for `user` (nothing from the anonymous session carries over)."""
    session.clear()
    services.start_session(user)
    login_user(user)


@bp.get("/signup")
def new():
    """The sign-up form."""
    return render("accounts/signup.html", form=SignUpForm(), next=request.args.get("next", ""))


@bp.post("/signup")
def create():
    """Email the sign-up link; the same answer whether or not the address has an account."""
    form = SignUpForm()
    next_path = safe_next(request.args.get("next"), "")
    if not form.validate_on_submit():
        return invalid("accounts/signup.html", form=form, next=next_path)
    services.start_sign_up(form.name.data, form.email.data, form.password.data, form.timezone.data,
                           next_path or None)
    return redirect(url_for("accounts.sign_up_sent", email=form.email.data), 303)


@bp.get("/signup/sent")
def sign_up_sent():
    """Tell the person to open the link we emailed."""
    return render("accounts/signup_sent.html", email=request.args.get("email", "")[:320])


def _finish_page(token: str, form: ConfirmForm, status: int = 200):
    """The page with the button that creates the account, or why its link cannot be used."""
    try:
        pending = services.pending_sign_up(token)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    return render("accounts/signup_finish.html", form=form, pending=pending, token=token, http_status=status)


@bp.get("/signup/finish/<token>")
def confirm_sign_up(token: str):
    """Show the button that creates the account (mail scanners only ever GET)."""
    return _finish_page(token, ConfirmForm())


@bp.post("/signup/finish/<token>")
def finish_sign_up(token: str):
    """Create the account and sign the person in."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _finish_page(token, form, status=422)
    try:
        user, next_path = services.finish_sign_up(token)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    _sign_in(user)
    flash(f"Welcome, {user.name}. Your account is ready.", "success")
    return redirect(safe_next(next_path, url_for("home.index")), 303)


@bp.get("/login")
def login():
    """The sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return render("accounts/login.html", form=LoginForm(), next=request.args.get("next", ""))


@bp.post("/login")
def authenticate():
    """Sign in, throttled per account and per address."""
    form = LoginForm()
    next_path = safe_next(request.args.get("next"), url_for("home.index"))
    if not form.validate_on_submit():
        return invalid("accounts/login.html", form=form, next=next_path)
    try:
        user = services.authenticate(form.email.data, form.password.data, request.remote_addr or "-")
    except services.AccountError as error:
        form.password.errors.append(str(error))
        return invalid("accounts/login.html", form=form, next=next_path)
    _sign_in(user)
    return redirect(next_path, 303)


@bp.post("/logout")
def logout():
    """Sign out of this browser."""
    if ConfirmForm().validate_on_submit():
        if current_user.is_authenticated:
            services.end_session(current_user)
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"), 303)


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """Sign out of every browser and device."""
    if ConfirmForm().validate_on_submit():
        services.sign_out_everywhere(current_user)
        logout_user()
        session.clear()
        flash("You are signed out on every device.", "info")
        return redirect(url_for("accounts.login"), 303)
    return redirect(url_for("accounts.settings"), 303)


@bp.get("/reset")
def reset_request():
    """Ask for a password-reset link."""
    return render("accounts/reset_request.html", form=ResetRequestForm())


@bp.post("/reset")
def send_reset():
    """Send the link if the account exists; the same answer either way."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return invalid("accounts/reset_request.html", form=form)
    services.request_password_reset(form.email.data)
    return render("accounts/reset_sent.html", email=form.email.data)


@bp.get("/reset/<token>")
def reset(token: str):
    """The new-password form behind a reset link."""
    try:
        services.reset_link_user(token)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    return render("accounts/reset.html", form=ResetForm(), token=token)


@bp.post("/reset/<token>")
def update_password_from_link(token: str):
    """Set the new password and sign in."""
    form = ResetForm()
    try:
        services.reset_link_user(token)
        if not form.validate_on_submit():
            return invalid("accounts/reset.html", form=form, token=token)
        user = services.reset_password(token, form.password.data)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    _sign_in(user)
    flash("Your password is changed, and every other session is signed out.", "success")
    return redirect(url_for("home.index"), 303)


@bp.get("/settings")
@login_required
def settings():
    """Name, time zone, weekly check-in time and email opt-in, plus the account's other actions."""
    form = SettingsForm.for_user(current_user, services.email_switches(current_user))
    return render("accounts/settings.html", form=form)


@bp.post("/settings")
@login_required
def update_settings():
    """Save the settings."""
    form = SettingsForm()
    if not form.validate_on_submit():
        return invalid("accounts/settings.html", form=form)
    services.update_settings(current_user, name=form.name.data, timezone=form.timezone.data,
                             checkin_weekday=form.checkin_weekday.data, checkin_hour=form.checkin_hour.data,
                             email_opt_in=form.email_opt_in.data, checkin_always=form.checkin_always.data,
                             switches=form.switches())
    flash("Settings saved.", "success")
    return done(url_for("accounts.settings"))


@bp.get("/settings/password")
@login_required
def edit_password():
    """The change-password form."""
    return render("accounts/password.html", form=ChangePasswordForm())


@bp.post("/settings/password")
@login_required
def update_password():
    """Change the password; this browser stays signed in, every other one is signed out."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return invalid("accounts/password.html", form=form)
    try:
        services.change_password(current_user, form.current_password.data, form.password.data)
    except services.AccountError as error:
        form[error.field].errors.append(str(error))
        return invalid("accounts/password.html", form=form)
    _sign_in(current_user._get_current_object())
    flash("Password changed. Other devices are signed out.", "success")
    return redirect(url_for("accounts.settings"), 303)


@bp.get("/settings/email")
@login_required
def edit_email():
    """The change-email form."""
    return render("accounts/email.html", form=ChangeEmailForm())


@bp.post("/settings/email")
@login_required
def update_email():
    """Change the email address; the old address is told."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return invalid("accounts/email.html", form=form)
    try:
        services.change_email(current_user, form.current_password.data, form.email.data)
    except services.AccountError as error:
        form[error.field].errors.append(str(error))
        return invalid("accounts/email.html", form=form)
    _sign_in(current_user._get_current_object())
    flash("Email address changed. We told your old address too.", "success")
    return redirect(url_for("accounts.settings"), 303)


@bp.get("/account/delete")
@login_required
def confirm_delete():
    """Explain what deleting removes, and ask for the password."""
    return render("accounts/delete.html", form=DeleteAccountForm())


@bp.post("/account/delete")
@login_required
def delete():
    """Delete the account and everything in it."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return invalid("accounts/delete.html", form=form)
    try:
        services.delete_account(current_user._get_current_object(), form.current_password.data)
    except services.AccountError as error:
        form[error.field].errors.append(str(error))
        return invalid("accounts/delete.html", form=form)
    logout_user()
    session.clear()
    flash("Your account and everything in it are deleted.", "info")
    return redirect(url_for("accounts.login"), 303)


@bp.get("/unsubscribe/<token>")
def confirm_unsubscribe(token: str):
    """Show what the link switches off (mail scanners open links; only the POST acts)."""
    try:
        user, kind = services.unsubscribe_target(token)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    return render("accounts/unsubscribe.html", token=token, kind=OPTIONAL_KINDS[kind], done=False)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Switch one kind of email off. The signed token is the authority: RFC 8058 one-click posts
    come from the mail provider, without our CSRF token or a session."""
    try:
        _user, kind = services.unsubscribe(token)
    except LinkError as error:
        return render("accounts/link_error.html", message=str(error)), 400
    return render("accounts/unsubscribe.html", token=token, kind=OPTIONAL_KINDS[kind], done=True)
