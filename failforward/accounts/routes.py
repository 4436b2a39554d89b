"""Account pages: sign up, sign in and out, password reset, settings, deleting the account."""

from datetime import UTC, datetime

from flask import Blueprint, after_this_request, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from failforward import clock
from failforward.accounts import addresses, services, throttle
from failforward.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    LoginForm,
    ResetForm,
    ResetRequestForm,
    SettingsForm,
    SignUpForm,
)
from failforward.accounts.models import OPTIONAL_KINDS
from failforward.extensions import login_manager
from failforward.forms import ConfirmForm
from failforward.web import done, invalid, render, safe_next

bp = Blueprint("accounts", __name__)
login_manager.login_view = "accounts.login"
login_manager.login_message = "Sign in to see that page."
login_manager.login_message_category = "info"


# How often a browser's "last seen" mark in its cookie is renewed: the idle age is counted in days,
# and renewing it on every request would send a new cookie with every response.
SEEN_EVERY_SECONDS = 3600


@login_manager.user_loader
def load_signed_in(login_id: str):
    """Load the signed-in person, and renew this browser's "last seen" mark in its session cookie.

    The mark lives in the signed cookie rather than the database because GET never writes (and on
    SQLite a GET reads in a deferred transaction, where a write can fail with "database is locked"
    under concurrency). The cookie is signed, so it cannot be forged; a replayed older copy only
    looks more idle; and the absolute age comes from the session's row on the server.
    """
    seen = session.get("seen")
    seen = seen if isinstance(seen, int) else None
    user = services.load_user(login_id, datetime.fromtimestamp(seen, UTC) if seen is not None else None)
    now = int(clock.now().timestamp())
    if user is not None and (seen is None or now - seen >= SEEN_EVERY_SECONDS):
        session["seen"] = now
    return user


def _sign_in(user) -> None:
    """Start a fresh session for `user` (nothing from the anonymous session carries over)."""
    session.clear()
    services.start_session(user)
    login_user(user)
    _remember_device(user)


def _remember_device(user) -> None:
    """Give this browser a device cookie for `user`: the account's lockout spares it (OWASP device cookies)."""
    token = throttle.device_token(user)

    @after_this_request
    def set_cookie(response):
        response.set_cookie(throttle.DEVICE_COOKIE, token, max_age=throttle.device_cookie_days() * 86400,
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
        return response


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
    try:
        services.start_sign_up(form.name.data, form.email.data, form.password.data, form.timezone.data,
                               next_path or None, client=request.remote_addr)
    except throttle.Throttled as error:
        form.email.errors.append(str(error))
        return invalid("accounts/signup.html", form=form, next=next_path)
    return redirect(url_for("accounts.sign_up_sent", email=form.email.data), 303)


@bp.get("/signup/sent")
def sign_up_sent():
    """Tell the person to open the link we emailed (and that it cannot arrive at example.com)."""
    email = request.args.get("email", "")[:320]
    return render("accounts/signup_sent.html", email=email, example=addresses.example_domain(email))


def _finish_page(token: str, form: ConfirmForm, status: int = 200):
    """The page with the button that creates the account, or why its link cannot be used."""
    pending = services.pending_sign_up(token)
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
    user, next_path = services.finish_sign_up(token)
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
    """Sign in: untrusted clients are throttled per account, a browser with a device cookie per cookie, and
    every client slowed down by its address's recent failures."""
    form = LoginForm()
    next_path = safe_next(request.args.get("next"), url_for("home.index"))
    if not form.validate_on_submit():
        return invalid("accounts/login.html", form=form, next=next_path)
    try:
        user = services.authenticate(form.email.data, form.password.data, request.remote_addr or "-",
                                     request.cookies.get(throttle.DEVICE_COOKIE))
    except (services.AccountError, throttle.Throttled) as error:
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
    try:
        services.request_password_reset(form.email.data, client=request.remote_addr)
    except throttle.Throttled as error:
        form.email.errors.append(str(error))
        return invalid("accounts/reset_request.html", form=form)
    return render("accounts/reset_sent.html", email=form.email.data)


@bp.get("/reset/<token>")
def reset(token: str):
    """The new-password form behind a reset link."""
    services.reset_link_user(token)
    return render("accounts/reset.html", form=ResetForm(), token=token)


@bp.post("/reset/<token>")
def update_password_from_link(token: str):
    """Set the new password and sign in."""
    form = ResetForm()
    services.reset_link_user(token)
    if not form.validate_on_submit():
        return invalid("accounts/reset.html", form=form, token=token)
    user = services.reset_password(token, form.password.data)
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
    """Email a link to the new address; nothing changes until it is opened."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return invalid("accounts/email.html", form=form)
    try:
        new_email = services.request_email_change(current_user, form.current_password.data, form.email.data)
    except services.AccountError as error:
        form[error.field].errors.append(str(error))
        return invalid("accounts/email.html", form=form)
    flash(f"We sent a link to {new_email}; your address changes when you open it.", "info")
    return redirect(url_for("accounts.settings"), 303)


def _email_change_page(token: str, form: ConfirmForm, status: int = 200):
    """The page with the button that moves the account, or why its link cannot be used."""
    user, new_email, _nonce = services.email_change_target(token)
    return render("accounts/email_confirm.html", form=form, user=user, new_email=new_email, token=token,
                  http_status=status)


@bp.get("/email/confirm/<token>")
def confirm_email_change(token: str):
    """Show the button that moves the account to the new address (mail scanners only ever GET)."""
    return _email_change_page(token, ConfirmForm())


@bp.post("/email/confirm/<token>")
def finish_email_change(token: str):
    """Move the account to the new address; a browser signed in to it stays signed in."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _email_change_page(token, form, status=422)
    # Asked before the change: it signs out every session of the account, this one too.
    opener_id = current_user.id if current_user.is_authenticated else None
    user = services.change_email(token)
    if opener_id == user.id:
        _sign_in(user)
        flash(f"Your email address is now {user.email}.", "success")
        return redirect(url_for("accounts.settings"), 303)
    flash(f"Your email address is now {user.email}. Sign in with {user.email}.", "success")
    return redirect(url_for("accounts.login"), 303)


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
    user, kind = services.unsubscribe_target(token)
    return render("accounts/unsubscribe.html", token=token, kind=OPTIONAL_KINDS[kind], done=False)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Switch one kind of email off. The signed token is the authority: RFC 8058 one-click posts
    come from the mail provider, without our CSRF token or a session."""
    _user, kind = services.unsubscribe(token)
    return render("accounts/unsubscribe.html", token=token, kind=OPTIONAL_KINDS[kind], done=True)
