"""Throttling that slows guessing without locking owners out: sign-in attempts per account, device cookie and
client address, and mail sent without an account per recipient and per client.

Counts live in the database (rate_counter), which every web process shares. Following OWASP's device-cookie
pattern, a browser that signed in to an account before is spared that account's lockout (a cookie that keeps
failing is locked out itself), and a client address is only ever slowed down, never refused: behind a
proxy, or a shared network, one address is many people.
"""

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite

from failforward import clock
from failforward.accounts.models import RateCounter, User
from failforward.extensions import db
from failforward.signing import LinkError, sign, unsign

DEVICE_COOKIE = "device"
FIRST_DELAY_SECONDS = 0.25  # after one failure from an address; it doubles with each further one, up to the cap
_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Throttled(Exception):
    """Too many requests of one kind for now, with the sentence to show beside the form."""


def pause(seconds: float) -> None:
    """Hold this request back: the one place throttling sleeps, so tests record it instead of waiting."""
    time.sleep(seconds)


# --- counters -------------------------------------------------------------------------------------

def count(key: str, window: timedelta) -> int:
    """Count one more hit for `key` and return the hits in its window (a new window starts when the old one
    has ended). One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: concurrent requests each get their own
    number, on SQLite and PostgreSQL alike."""
    now = clock.now()
    table = RateCounter.__table__
    insert = _INSERT[db.session.get_bind().dialect.name](table)
    ended = table.c.expires_at <= now
    statement = insert.values(key=key, hits=1, expires_at=now + window).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"hits": case((ended, 1), else_=table.c.hits + 1),
              "expires_at": case((ended, insert.excluded.expires_at), else_=table.c.expires_at)},
    ).returning(table.c.hits)
    return db.session.execute(statement).scalar_one()


def hits(key: str) -> int:
    """The hits counted for `key` in its current window."""
    return db.session.scalar(db.select(RateCounter.hits).where(
        RateCounter.key == key, RateCounter.expires_at > clock.now())) or 0


def forget_expired() -> None:
    """Delete the counters whose window has ended (the caller commits)."""
    db.session.execute(db.delete(RateCounter).where(RateCounter.expires_at <= clock.now()))


# --- signing in -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInAttempt:
    """A reserved sign-in attempt: the counter it was reserved on, and its client address's counter."""

    key: str
    address_key: str


def device_token(user: User) -> str:
    """The value of a new device cookie: this browser has signed in to `user`."""
    return sign("device", {"u": user.id, "n": secrets.token_urlsafe(16)})


def device_cookie_days() -> int:
    """How long a device cookie lasts, and is honoured."""
    return current_app.config["DEVICE_COOKIE_DAYS"]


def _trusted_device(token: str | None, user: User | None) -> str | None:
    """The nonce of a valid device cookie that signed in to `user` before; None for an untrusted client."""
    if not token or user is None:
        return None
    try:
        payload = unsign("device", token, device_cookie_days() * 86400)
    except LinkError:
        return None
    nonce = payload.get("n") if payload.get("u") == user.id else None
    return str(nonce) if nonce else None


def delay_after(failures: int) -> float:
    """Seconds to hold a sign-in back after this many recent failures from its client address."""
    if failures <= 0:
        return 0.0
    return min(current_app.config["LOGIN_DELAY_MAX_SECONDS"], FIRST_DELAY_SECONDS * 2 ** min(failures - 1, 32))


def _login_window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def begin_sign_in(email: str, user: User | None, address: str, device: str | None) -> SignInAttempt:
    """Reserve this attempt before its password is checked, on the device cookie's own counter when it is a
    valid one for `user`, else on the account's counter for untrusted clients; raise Throttled past the limit.
    Then hold the request back by its address's recent failures. Ends the transaction first: neither the
    wait nor argon2 may hold SQLite's write lock."""
    nonce = _trusted_device(device, user)
    attempt = SignInAttempt(f"device:{nonce}" if nonce else f"account:{email}", f"address:{address[:64]}")
    reserved = count(attempt.key, _login_window())
    failures = hits(attempt.address_key)
    db.session.commit()
    if reserved > current_app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]:
        minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
        raise Throttled(f"Too many attempts. Wait {minutes} minutes, sign in from a browser you have used "
                        "here before, or reset your password.")
    delay = delay_after(failures)
    if delay:
        pause(delay)
    return attempt


def sign_in_failed(attempt: SignInAttempt) -> None:
    """The password was wrong: the reservation stands as a failure, and the client address gets one more."""
    count(attempt.address_key, _login_window())
    db.session.commit()


def sign_in_succeeded(attempt: SignInAttempt) -> None:
    """The password was right: start the counter the attempt was reserved on afresh."""
    db.session.execute(db.delete(RateCounter).where(RateCounter.key == attempt.key))
    db.session.commit()


# --- mail without an account ----------------------------------------------------------------------

def limit_mail(recipient: str, client: str | None) -> None:
    """Count a mail asked for without an account (sign-up, reset, invite) against its recipient and its
    client's address (None outside a request); raise Throttled past either limit. Ends the transaction,
    so the count stands when refused and no password is hashed under SQLite's write lock."""
    config = current_app.config
    window = timedelta(minutes=config["MAIL_LIMIT_WINDOW_MINUTES"])
    over = count(f"mail-to:{recipient}", window) > config["MAIL_LIMIT_PER_RECIPIENT"]
    if client is not None:
        over = count(f"mail-from:{client[:64]}", window) > config["MAIL_LIMIT_PER_CLIENT"] or over
    db.session.commit()
    if over:
        raise Throttled(f"Too many emails were asked for recently, to this address or from your connection. "
                        f"Try again in {config['MAIL_LIMIT_WINDOW_MINUTES']} minutes.")
