"""Account rules: sign-up by emailed link, sign-in with throttling (accounts.throttle), passwords, email, deletion."""

import hashlib
import secrets
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError

from failforward import clock
from failforward.accounts import throttle
from failforward.accounts.models import (
    OFF_BY_DEFAULT,
    OPTIONAL_KINDS,
    EmailSwitch,
    OperatorGrant,
    PendingSignup,
    UsedLink,
    User,
    UserSession,
)
from failforward.accounts.passwords import hash_password, verify_password
from failforward.calendar import zone_of
from failforward.extensions import db
from failforward.mail.services import forget, queue_mail
from failforward.signing import LinkError, sign, unsign
from failforward.web import absolute_url

SIGN_UP_LINK_HOURS = 24
EMAIL_CHANGE_LINK_HOURS = 24


class AccountError(Exception):
    """A refusal to show beside a form field; `field` names it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    """The account with this email, if any."""
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def _mail(key: str, to: str, template: str, subject: str, **context) -> None:
    body = render_template(f"mail/{template}.txt", **context)
    # Owned by the account the address belongs to now, so that deleting it forgets this mail too.
    owner = db.session.scalar(db.select(User.id).where(User.email == to))
    queue_mail(key, to, subject, body, recipient_id=owner)


def _stamp(*parts: str) -> str:
    """A short digest of what a link is bound to: when any part changes, the link stops working.
    Link payloads are readable; the argon2 hash it may cover carries a random salt, so the digest
    gives a reader nothing to guess a password against."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


# --- email preferences and notifications ------------------------------------------------------

def wants(user: User, kind: str) -> bool:
    """Does this person want this optional kind of email?"""
    if not user.email_opt_in:
        return False
    switch = next((s for s in user.email_switches if s.kind == kind), None)
    return switch.enabled if switch else kind not in OFF_BY_DEFAULT


def email_switches(user: User) -> dict[str, bool]:
    """Every optional kind of email with this person's current choice."""
    chosen = {s.kind: s.enabled for s in user.email_switches}
    return {kind: chosen.get(kind, kind not in OFF_BY_DEFAULT) for kind in OPTIONAL_KINDS}


def _set_switches(user: User, choices: dict[str, bool]) -> None:
    for kind, enabled in choices.items():
        if kind in OPTIONAL_KINDS:
            db.session.merge(EmailSwitch(user_id=user.id, kind=kind, enabled=enabled))
    db.session.flush()
    db.session.expire(user, ["email_switches"])  # view-only: reload it to see the new choices


def unsubscribe_token(user: User, kind: str) -> str:
    """The signed token behind a one-click unsubscribe link."""
    return sign("unsubscribe", {"u": user.id, "k": kind})


def unsubscribe_target(token: str) -> tuple[User, str]:
    """The person and kind an unsubscribe link is for, or LinkError. Such links do not expire."""
    payload = unsign("unsubscribe", token, 10 * 365 * 86400)
    user = db.session.get(User, payload.get("u"))
    if user is None or payload.get("k") not in OPTIONAL_KINDS:
        raise LinkError("This unsubscribe link belongs to an account that no longer exists.")
    return user, payload["k"]


def unsubscribe(token: str) -> tuple[User, str]:
    """Switch one kind of email off from its link (idempotent)."""
    user, kind = unsubscribe_target(token)
    _set_switches(user, {kind: False})
    db.session.commit()
    return user, kind


def notify(user: User, kind: str, key: str, subject: str, template: str, *, about: User | None = None,
           **context) -> bool:
    """Queue an optional email (if the person wants it) with its unsubscribe link, held through
    quiet hours in their zone; `about` is the learner whose data it shows, if not the recipient's own
    (it goes only while the recipient may still see them). The caller commits. True when queued."""
    if kind not in OPTIONAL_KINDS or not wants(user, kind):
        return False
    url = absolute_url("accounts.unsubscribe", token=unsubscribe_token(user, kind))
    zone = zone_of(user)  # times in the email are shown in the recipient's zone
    body = render_template(f"mail/{template}.txt", user=user, zone=zone, unsubscribe_url=url, **context)
    return queue_mail(key, user.email, subject, body, kind=kind, unsubscribe_url=url, quiet_zone=zone,
                      recipient_id=user.id, about_id=about.id if about else None) is not None


def start_sign_up(name: str, email: str, password: str, timezone: str, next_path: str | None,
                  client: str | None = None) -> None:
    """Email a link that finishes the sign-up; a known address is told it has an account already. Limited
    per recipient and per client address (throttle.Throttled) before any hashing."""
    email = normalise_email(email)
    throttle.limit_mail(email, client)
    nonce = secrets.token_urlsafe(24)
    password_hash = hash_password(password)  # hashed either way, so both answers take as long
    if user_by_email(email):
        _mail(f"sign-up-exists:{nonce}", email, "sign_up_exists", "You already have a failforward account",
              login_url=absolute_url("accounts.login"), reset_url=absolute_url("accounts.reset_request"))
    else:
        db.session.add(PendingSignup(nonce=nonce, email=email, name=name, password_hash=password_hash,
                                     timezone=timezone, next_path=next_path))
        token = sign("sign-up", {"n": nonce})
        _mail(f"sign-up:{nonce}", email, "sign_up", "Finish creating your failforward account",
              name=name, url=absolute_url("accounts.finish_sign_up", token=token), hours=SIGN_UP_LINK_HOURS)
    db.session.commit()


def pending_sign_up(token: str) -> PendingSignup:
    """The sign-up a link points at, or LinkError saying why it cannot be used."""
    payload = unsign("sign-up", token, SIGN_UP_LINK_HOURS * 3600)
    pending = db.session.get(PendingSignup, str(payload.get("n", "")))
    if pending is None:
        raise LinkError("This link has been used already. Sign in, or sign up again.")
    return pending


# Sent with a new account, flushed but not yet committed: a domain above (thresholds) adds what every account
# starts with to the same transaction. Accounts sit below them, so they are told rather than called.
signed_up = Namespace().signal("signed-up")


def finish_sign_up(token: str) -> tuple[User, str | None]:
    """Create the account from a sign-up link; return it and where the person was heading."""
    pending = pending_sign_up(token)
    if user_by_email(pending.email):
        raise LinkError("An account with this email exists already. Sign in instead.")
    user = User(email=pending.email, name=pending.name, password_hash=pending.password_hash,
                timezone=pending.timezone)
    db.session.add(user)
    db.session.flush()
    signed_up.send(user)
    next_path = pending.next_path
    db.session.delete(pending)
    db.session.commit()
    return user, next_path


def authenticate(email: str, password: str, address: str, device: str | None = None) -> User:
    """Return the account for these credentials, or raise AccountError (same words for any email), or
    throttle.Throttled when this client may not try the account now. `device` is the device cookie."""
    email = normalise_email(email)
    user = user_by_email(email)
    password_hash = user.password_hash if user else None  # read before begin_sign_in ends the transaction
    attempt = throttle.begin_sign_in(email, user, address, device)
    if not verify_password(password_hash, password):
        throttle.sign_in_failed(attempt)
        raise AccountError("That email and password do not match an account.")
    throttle.sign_in_succeeded(attempt)
    return user


def request_password_reset(email: str, client: str | None = None) -> None:
    """Email a one-hour, single-use reset link when the account exists, and a note that there is none
    otherwise: the same work either way, so neither the answer nor its timing tells who has an account.
    Limited per recipient and per client address (throttle.Throttled)."""
    email = normalise_email(email)
    throttle.limit_mail(email, client)
    user = user_by_email(email)
    nonce = secrets.token_urlsafe(24)
    # Signed for an unknown address too, and not used: the signature is part of the work both answers do.
    token = password_reset_token(user, nonce)
    if user is None:
        _mail(f"password-reset:{nonce}", email, "password_reset_unknown", "Reset your failforward password",
              signup_url=absolute_url("accounts.new"), reset_url=absolute_url("accounts.reset_request"))
    else:
        _mail(f"password-reset:{nonce}", user.email, "password_reset", "Reset your failforward password",
              name=user.name, url=absolute_url("accounts.reset", token=token),
              minutes=current_app.config["RESET_LINK_MINUTES"])
    db.session.commit()


def purge_expired() -> None:
    """Forget sign-ups whose link has expired and throttling counts whose window has ended (the sweep)."""
    db.session.execute(db.delete(PendingSignup).where(
        PendingSignup.created_at < clock.now() - timedelta(hours=SIGN_UP_LINK_HOURS)))
    throttle.forget_expired()
    db.session.commit()


def password_reset_token(user: User | None, nonce: str) -> str:
    """A reset link's token, bound to the current password: once it changes by any path (another
    reset link, Settings), the link stops working. Signed for an unknown address too (user None)."""
    return sign("password-reset", {"u": user.id if user else None, "n": nonce,
                                   "p": _stamp(user.password_hash if user else "")})


def reset_link_user(token: str) -> tuple[User, str]:
    """The account a reset link is for and the link's nonce, or LinkError saying why not."""
    payload = unsign("password-reset", token, current_app.config["RESET_LINK_MINUTES"] * 60)
    nonce = str(payload.get("n", ""))
    if db.session.get(UsedLink, nonce):
        raise LinkError("This link has been used already. Ask for a new one if you need it.")
    user = db.session.get(User, payload.get("u"))
    if user is None:
        raise LinkError("This link belongs to an account that no longer exists.")
    if payload.get("p") != _stamp(user.password_hash):
        raise LinkError("Your password has changed since this link was sent. Ask for a new one if you need it.")
    return user, nonce


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link, use the link up, and sign out every old session."""
    user, nonce = reset_link_user(token)
    db.session.add(UsedLink(nonce=nonce, purpose="password-reset", user_id=user.id))
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.commit()
    return user


def _require_password(user: User, password: str) -> None:
    if not verify_password(user.password_hash, password):
        raise AccountError("That is not your current password.", field="current_password")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password (proving the current one) and sign out other sessions."""
    _require_password(user, current_password)
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.commit()


def request_email_change(user: User, password: str, new_email: str) -> str:
    """Email a link to the new address (proving the password first) and return that address; the
    account moves only when the link is opened, so nobody can take an address they cannot read."""
    _require_password(user, password)
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise AccountError("That is already your email address.", field="email")
    if user_by_email(new_email):
        raise AccountError("That address is already used by another account.", field="email")
    nonce = secrets.token_urlsafe(24)
    url = absolute_url("accounts.confirm_email_change", token=email_change_token(user, new_email, nonce))
    _mail(f"email-change:{nonce}", new_email, "email_change", "Confirm your new failforward email address",
          name=user.name, url=url, hours=EMAIL_CHANGE_LINK_HOURS)
    db.session.commit()
    return new_email


def _account_stamp(user: User) -> str:
    return _stamp(user.password_hash, str(user.session_version))


def email_change_token(user: User, new_email: str, nonce: str) -> str:
    """An email-change link's token, bound to the account's password and sessions as they are now."""
    return sign("email-change", {"u": user.id, "e": new_email, "n": nonce, "p": _account_stamp(user)})


def email_change_target(token: str) -> tuple[User, str, str]:
    """The account, new address and nonce of an email-change link, or LinkError saying why not."""
    payload = unsign("email-change", token, EMAIL_CHANGE_LINK_HOURS * 3600)
    nonce, new_email = str(payload.get("n", "")), str(payload.get("e", ""))
    if db.session.get(UsedLink, nonce):
        raise LinkError("This link has been used already: the address was changed then.")
    user = db.session.get(User, payload.get("u"))
    if user is None:
        raise LinkError("This link belongs to an account that no longer exists.")
    if payload.get("p") != _account_stamp(user):
        raise LinkError("The account's password or sign-in has changed since this link was sent, so it no longer"
                        " works. Ask for a new one in Settings.")
    if user_by_email(new_email):
        raise LinkError(f"Another account uses {new_email} now, so this account keeps its address.")
    return user, new_email, nonce


def change_email(token: str) -> User:
    """Move the account to the address its link was sent to, use the link up, sign out every old
    session and tell the old address."""
    user, new_email, nonce = email_change_target(token)
    old_email = user.email
    db.session.add(UsedLink(nonce=nonce, purpose="email-change", user_id=user.id))
    user.email = new_email
    user.session_version += 1
    _mail(f"email-changed:{nonce}", old_email, "email_changed", "Your failforward email address was changed",
          name=user.name, new_email=new_email, reset_url=absolute_url("accounts.reset_request"))
    try:
        db.session.commit()
    except IntegrityError:
        # The same link, or another link to the same address, was used at the same moment
        # (PostgreSQL runs both side by side; the unique keys let one in): say which.
        db.session.rollback()
        email_change_target(token)
        raise
    return user


# --- operators -----------------------------------------------------------------------------------

def is_operator(user: User) -> bool:
    """May this account open the operator pages? Only an explicit grant says so, never an address."""
    return db.session.get(OperatorGrant, user.id) is not None


def _account_for(email: str) -> User:
    user = user_by_email(email)
    if user is None:
        raise AccountError(f"No account uses {normalise_email(email)}.")
    return user


def grant_operator(email: str) -> User:
    """Make the account with this address an operator (idempotent); AccountError when none has it."""
    user = _account_for(email)
    if not is_operator(user):
        db.session.add(OperatorGrant(user_id=user.id))
    db.session.commit()
    return user


def revoke_operator(email: str) -> User:
    """Take operator rights from the account with this address (idempotent)."""
    user = _account_for(email)
    db.session.execute(db.delete(OperatorGrant).where(OperatorGrant.user_id == user.id))
    db.session.commit()
    return user


def operators() -> list[tuple[User, datetime]]:
    """Every operator account with when it was granted, oldest grant first."""
    return list(db.session.execute(
        db.select(User, OperatorGrant.granted_at).join(OperatorGrant, OperatorGrant.user_id == User.id)
        .order_by(OperatorGrant.granted_at, User.id)))


def sign_out_everywhere(user: User) -> None:
    """Make every session cookie of this account stop working."""
    user.session_version += 1
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.commit()


def update_settings(user: User, *, name: str, timezone: str, checkin_weekday: int, checkin_hour: int,
                    email_opt_in: bool, checkin_always: bool, switches: dict[str, bool]) -> None:
    """Save the settings page."""
    user.name, user.timezone = name, timezone
    user.checkin_weekday, user.checkin_hour, user.email_opt_in = checkin_weekday, checkin_hour, email_opt_in
    user.checkin_always = checkin_always
    _set_switches(user, switches)
    db.session.commit()


def delete_account(user: User, password: str) -> None:
    """Delete the account and, through the database's cascades, everything that is theirs; mail to or
    about them is withdrawn, or stripped of their address and text."""
    _require_password(user, password)
    forget(user.id, user.email)
    db.session.delete(user)
    db.session.commit()


def _session_born_after(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["SESSION_MAX_DAYS"])


def start_session(user: User) -> None:
    """Record a new signed-in browser for `user` (and forget ones past SESSION_MAX_DAYS)."""
    now = clock.now()
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id,
                                                    UserSession.created_at <= _session_born_after(now)))
    user.session_token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token=user.session_token, user_id=user.id, created_at=now))
    db.session.commit()


def end_session(user: User) -> None:
    """Sign this browser out for good: its cookie, even copied, no longer loads anyone."""
    db.session.execute(db.delete(UserSession).where(UserSession.token == user.session_token))
    db.session.commit()


def load_user(login_id: str, last_seen: datetime | None = None) -> User | None:
    """The user for a live session of the current session version, younger than SESSION_MAX_DAYS
    and last seen (when the browser says; else since it began) within SESSION_IDLE_DAYS."""
    user_id, version, token = (login_id.split(":") + ["", ""])[:3]
    if not (user_id.isdigit() and version.isdigit() and token):
        return None
    now = clock.now()
    found = db.session.execute(
        db.select(User, UserSession.created_at).join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(user_id), UserSession.token == token,
               UserSession.created_at > _session_born_after(now))).first()
    if found is None:
        return None
    user, started = found
    idle_limit = now - timedelta(days=current_app.config["SESSION_IDLE_DAYS"])
    if user.session_version != int(version) or (last_seen or started) <= idle_limit:
        return None
    user.session_token = token
    return user
