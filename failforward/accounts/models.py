"""People and the records that guard their sign-in."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.database import UtcDateTime
from failforward.extensions import db


class User(UserMixin, db.Model):
    """A person: always a learner, and a coach as soon as they invite someone."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Part of the login id in the session cookie: bumping it signs out every old cookie.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    checkin_weekday: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = Monday
    checkin_hour: Mapped[int] = mapped_column(SmallInteger, default=8)
    email_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    # Send the weekly check-in even in a week with no practice at all.
    checkin_always: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    # Read-only: written through accounts.services; the sweep loads them with selectinload for a batch.
    email_switches: Mapped[list["EmailSwitch"]] = relationship(viewonly=True)

    # The signed-in session this object was loaded for (set at sign-in and by the loader).
    session_token = ""

    def get_id(self) -> str:
        """Flask-Login's id: user, session version and this session's token, so old cookies stop
        working after signing out (this session) or a version bump (every session)."""
        return f"{self.id}:{self.session_version}:{self.session_token}"


class UserSession(db.Model):
    """A signed-in browser. Signing out deletes it, so a copied cookie stops working too."""

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class OperatorGrant(db.Model):
    """An account that may open the operator pages (the outbox). Granted and revoked only from the
    command line, and held by the account: no change of address can confer or carry it elsewhere."""

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class RateCounter(db.Model):
    """How often one thing happened in its current window: sign-in attempts per account, device cookie or
    client address, and mails sent without an account per recipient or client (accounts.throttle)."""

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # When the window ends: the next hit after it starts a new window at 1, and the sweep forgets it.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PendingSignup(db.Model):
    """A sign-up waiting for its owner to open the link we emailed; the account is made then."""

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class UsedLink(db.Model):
    """A single-use signed link that has been used; using it again is refused."""

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


# The kinds of email a person can switch off, each with its own one-click unsubscribe link.
OPTIONAL_KINDS = {
    "feedback-request": "A learner asks me for feedback (coaches)",
    "feedback-reminder": "A feedback request falls due unanswered (coaches)",
    "feedback-digest": "One morning digest of open requests instead of single emails (coaches)",
    "weekly-checkin": "My weekly check-in",
    "safety-pulse": "The safety pulse every four weeks: how my coaching feels",
    "check-30": "30-day checks: did the change work?",
    "cycle-ended": "A small test (PDSA cycle) ended: what the rule says",
    "tripwire": "A tripwire from a pre-mortem fired",
    "follow-up-due": "A contract threshold fired: a lesson or review is due",
    "action-due": "A fix from a blameless review is due",
    "action-check": "A fix from a review reaches its check date: did it work?",
}
OFF_BY_DEFAULT = frozenset({"feedback-digest"})


class EmailSwitch(db.Model):
    """A person's choice for one kind of email, where it differs from the default."""

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
