"""Queue emails in the outbox and deliver them, once, over the configured transport.

The database decides what is sent; Huey only executes. A message is claimed with a short lease,
sent, then marked sent. If a worker dies after the SMTP server accepted a message and before the
row was marked, the sweep sends it again after the lease: the only window in which a message can
go twice, and it then carries the same Message-ID.
"""

import functools
import html
import logging
import re
import smtplib
from collections.abc import Callable
from datetime import datetime, time, timedelta
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import Connection, bindparam, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from failforward import clock
from failforward.extensions import db
from failforward.mail.models import (
    ACCOUNT,
    CANCELLED,
    FAILED,
    FORGOTTEN,
    PENDING,
    SENT,
    STATUSES,
    OutboxMessage,
)

log = logging.getLogger(__name__)

PENDING_KEY = "outbox_pending_ids"
MAX_ATTEMPTS = 8
QUIET_START, QUIET_END = time(21, 0), time(7, 0)
_URL = re.compile(r"https?://[^\s<>\"]+")
ACCESS_RULE = "failforward.mail.may_see_learner"
NO_LONGER_ALLOWED = "cancelled: the recipient may no longer see this learner's data"


class TemporaryMailError(Exception):
    """Delivery failed in a way that may pass (4xx answer, connection refused): retry later."""


def one_line(text: str) -> str:
    """Flatten user text for a mail header: no CR, LF or other control characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def quiet_until(now: datetime, zone: ZoneInfo) -> datetime | None:
    """When quiet hours (21:00-07:00 local) end, if `now` falls inside them; else None."""
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() + timedelta(days=1) if local.time() >= QUIET_START else local.date()
    return datetime.combine(day, QUIET_END, tzinfo=zone)


def _after_quiet_hours(message: OutboxMessage, moment: datetime) -> datetime | None:
    """`moment`, or the end of quiet hours when it falls inside them for this message's recipient."""
    if message.quiet_zone is None:
        return moment
    return quiet_until(moment, ZoneInfo(message.quiet_zone)) or moment


def init_app(app: Flask, may_see_learner: Callable[[int, int], bool]) -> None:
    """Register the access rule (viewer id, learner id) that mail about a learner is re-checked against
    when it is sent.

    The rule lives in coaching, which sits above mail (it queues mail), so mail cannot import it without
    a cycle; the app factory, which knows both, hands it down instead.
    """
    app.extensions[ACCESS_RULE] = may_see_learner


@functools.cache
def _sender_domain(mail_from: str, base_url: str) -> str:
    """MAIL_FROM's domain; BASE_URL's host when that is a bare name like the default's `localhost`."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2].lower()
    if "." in domain:
        return domain
    return urlsplit(base_url).hostname or domain or "localhost"


# --- queueing ---------------------------------------------------------------------------------------

def html_from_text(text: str) -> str:
    """The HTML part: the plain text's paragraphs, with links made clickable."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(block)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return ('<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">'
            + "\n".join(paragraphs) + "</body></html>")


@functools.cache
def _insert_outbox(dialect: str):
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id, built once per database kind (SQLite, PostgreSQL)."""
    table = OutboxMessage.__table__
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=[table.c.key]).returning(table.c.id)


def queue_mail(key: str, recipient: str, subject: str, text_body: str, *, kind: str = ACCOUNT,
               html_body: str | None = None, unsubscribe_url: str | None = None,
               quiet_zone: ZoneInfo | None = None, recipient_id: int | None = None,
               about_id: int | None = None) -> int | None:
    """Add an email to the outbox in the caller's transaction and return its id; a key already there
    is a no-op (None), even when another process writes the same key at the same moment.

    With `quiet_zone`, a message that falls in quiet hours (21:00-07:00 there) waits until 07:00.
    `recipient_id` is the recipient's account, if any; `about_id` the learner whose data the message
    shows, when that is not the recipient: it goes only while the recipient may still see that learner.
    One INSERT ... ON CONFLICT DO NOTHING: a check, a SAVEPOINT and an ORM flush per message cost the
    sweep more than composing the email (bench/fanout.py).
    """
    domain = _sender_domain(current_app.config["MAIL_FROM"], current_app.config["BASE_URL"])
    not_before = quiet_until(clock.now(), quiet_zone) if quiet_zone else None
    message_id = db.session.execute(_insert_outbox(db.session.get_bind().dialect.name), dict(
        key=key,
        kind=kind,
        recipient=one_line(recipient),
        recipient_id=recipient_id,
        about_id=about_id,
        subject=one_line(subject)[:300],
        text_body=text_body,
        html_body=html_body or html_from_text(text_body),
        unsubscribe_url=unsubscribe_url,
        message_id=make_msgid(domain=domain),
        not_before=not_before,
        quiet_zone=quiet_zone.key if quiet_zone else None,
    )).scalar()
    if message_id is not None and not_before is None:
        db.session.info.setdefault(PENDING_KEY, []).append(message_id)
    return message_id


# --- delivery -----------------------------------------------------------------------------------

class _LiteralHeader(UnstructuredHeader):
    """A header that mail systems read as written, like List-Unsubscribe's `<https://...>`.

    Python folds a header longer than 78 characters and, finding no whitespace to fold at, rewrites it as
    RFC 2047 encoded words, which RFC 2047 section 5 forbids in structured fields: a strict client (or a
    mailbox provider's one-click unsubscribe) then finds no URL. So these fold at whitespace only, within
    RFC 5322's hard limit of 998 characters a line.
    """

    def fold(self, *, policy):
        return super().fold(policy=policy.clone(max_line_length=998))


def _policy() -> EmailPolicy:
    """email.policy.default, with List-Unsubscribe kept literal."""
    headers = HeaderRegistry()
    headers.map_to_type("list-unsubscribe", _LiteralHeader)
    return EmailPolicy(header_factory=headers)


_POLICY = _policy()


def compose(message: OutboxMessage) -> EmailMessage:
    """Build the MIME message: plain text and an HTML alternative."""
    email = EmailMessage(policy=_POLICY)
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = message.created_at  # a datetime, not its text: parsing the text back cost a third of compose()
    # RFC 3834: every message here is written by the app, not a person; vacation responders stay quiet.
    email["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    return email


def _deliverable(now: datetime):
    return db.and_(OutboxMessage.status == PENDING,
                   or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                   or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now))


def _still_allowed(message: OutboxMessage) -> bool:
    """May the recipient still see the learner this message is about? Asked when it is sent, since
    quiet hours, a backoff or an operator's retry can send it long after it was written."""
    if message.about_id is None:
        return True
    return message.recipient_id is not None and current_app.extensions[ACCESS_RULE](
        message.recipient_id, message.about_id)


def claim(message_ids: list[int]) -> list[tuple[int, EmailMessage]]:
    """Lease the deliverable ones (so no other worker sends them meanwhile) and compose them; cancel
    those whose recipient may no longer see the learner they are about.

    Returns with no transaction open: nothing may hold SQLite's write lock while SMTP talks.
    """
    now = clock.now()
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), _deliverable(now))
        .values(lease_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).all()
    db.session.commit()
    if not claimed:
        return []
    composed, withdrawn = [], []
    for message in db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)):
        if _still_allowed(message):
            composed.append((message.id, compose(message)))
        else:
            withdrawn.append(message.id)
    if withdrawn:
        _cancel(withdrawn)
    db.session.rollback()  # end the read
    return composed


def _cancel(message_ids: list[int]) -> None:
    """Settle messages that must not go: cancelled, their private text dropped at once."""
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(message_ids))
        .values(status=CANCELLED, lease_until=None, text_body=None, html_body=None, last_error=NO_LONGER_ALLOWED)
        .execution_options(synchronize_session=False))
    db.session.commit()
    log.info("mail %s cancelled: %s", message_ids, NO_LONGER_ALLOWED)


_MARK = (update(OutboxMessage.__table__).where(OutboxMessage.__table__.c.id == bindparam("message"))
         .values(lease_until=None, status=bindparam("status"), sent_at=bindparam("sent_at"),
                 last_error=bindparam("last_error")))


def _mark(marks: Connection, message_id: int, status: str, sent_at: datetime | None = None,
          last_error: str | None = None) -> None:
    """Settle one message in its own short transaction (so at most the message in flight can go twice).

    On the batch's own connection, with one statement built once, rather than the session: a Session
    commit per message cost more than the UPDATE itself (ORM bookkeeping, a pool check-out and ping each time).
    """
    with marks.begin():
        marks.execute(_MARK, {"message": message_id, "status": status, "sent_at": sent_at, "last_error": last_error})


def deliver(message_ids: list[int]) -> int:
    """Send the given outbox messages that are still due, over one connection; return how many went."""
    messages = claim(message_ids)
    if not messages:
        return 0
    sent: set[int] = set()
    deferred: dict[int, str] = {}  # refused for now by the recipient's server (greylisting): this one later
    try:
        with db.engine.connect() as marks, _transport() as send:
            for message_id, email in messages:
                try:
                    send(email)
                except smtplib.SMTPResponseException as error:
                    if 400 <= error.smtp_code < 500:
                        raise TemporaryMailError(f"{error.smtp_code} {error.smtp_error!r}") from error
                    _failed(marks, message_id, f"{error.smtp_code} {error.smtp_error!r}")
                    sent.add(message_id)  # settled: not to be retried
                    continue
                except smtplib.SMTPRecipientsRefused as error:
                    # A 4xx at RCPT (451 greylisting, a full mailbox) is temporary for this address only:
                    # the connection stays good for the rest of the batch. Only a 5xx is permanent.
                    if all(400 <= code < 500 for code, _ in error.recipients.values()):
                        deferred[message_id] = str(error)
                    else:
                        _failed(marks, message_id, str(error))
                        sent.add(message_id)
                    continue
                except smtplib.SMTPException as error:
                    # Refused before any answer code, e.g. an address that needs SMTPUTF8 from a server
                    # without it: retrying cannot help, and raising would strand the rest of the batch.
                    _failed(marks, message_id, f"{type(error).__name__}: {error}")
                    sent.add(message_id)
                    continue
                _mark(marks, message_id, status=SENT, sent_at=clock.now(), last_error=None)
                sent.add(message_id)
    except TemporaryMailError as error:
        deferred |= {message_id: str(error) for message_id, _ in messages
                     if message_id not in sent and message_id not in deferred}
    if deferred:
        _retry_later(deferred)
    return len(sent)


def _failed(marks: Connection, message_id: int, reason: str) -> None:
    _mark(marks, message_id, status=FAILED, last_error=reason[:1000])
    log.warning("mail %s failed permanently: %s", message_id, reason)


def _retry_later(reasons: dict[int, str]) -> None:
    """Back off exponentially (30 s, 1 min, 2 min ... up to an hour); give up after MAX_ATTEMPTS."""
    now = clock.now()
    for message in db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.id.in_(reasons))):
        message.last_error, message.lease_until = reasons[message.id][:1000], None
        if message.attempts >= MAX_ATTEMPTS:
            message.status = FAILED
        else:
            message.not_before = _after_quiet_hours(
                message, now + timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600)))
    db.session.commit()
    log.info("mail delivery deferred for %d message(s): %s", len(reasons), next(iter(reasons.values())))


class _transport:
    """A context manager yielding a `send(EmailMessage)` for the configured transport."""

    def __enter__(self):
        config = current_app.config
        if config["MAIL_TRANSPORT"] == "file":
            folder = Path(config["MAIL_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            self.smtp = None
            return lambda email: self._write(folder, email)
        try:
            self.smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"])
            if config["SMTP_STARTTLS"]:
                self.smtp.starttls()
            if config["SMTP_USERNAME"]:
                self.smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryMailError(str(error) or type(error).__name__) from error
        return self._send

    def _send(self, email: EmailMessage) -> None:
        try:
            self.smtp.send_message(email)
        except (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionError) as error:
            raise TemporaryMailError(str(error) or type(error).__name__) from error

    @staticmethod
    def _write(folder: Path, email: EmailMessage) -> None:
        name = email["Message-ID"].strip("<>").replace("/", "_").replace("@", "_at_")
        path = folder / f"{name}.eml"
        path.write_bytes(bytes(email))
        log.info("mail to %s written to %s", email["To"], path)

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()


def due_for_delivery(limit: int = 10_000) -> list[int]:
    """Ids of pending messages that may go now (no live lease, not held): the sweep queues them."""
    ids = list(db.session.scalars(
        db.select(OutboxMessage.id).where(_deliverable(clock.now())).order_by(OutboxMessage.id).limit(limit)))
    db.session.commit()  # end the read: the deliveries it triggers need the write lock
    return ids


def retry(message_id: int) -> bool:
    """Put a failed message back in the queue (ops page, `flask outbox retry`), unless its body was purged.
    It is re-checked against the access rule when it is sent, like any other."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != FAILED or message.text_body is None:
        return False
    message.status, message.attempts, message.lease_until = PENDING, 0, None
    message.not_before = _after_quiet_hours(message, clock.now())
    db.session.info.setdefault(PENDING_KEY, []).append(message.id)
    db.session.commit()
    return True


def listing(status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The newest outbox messages, optionally of one status."""
    query = db.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.scalars(query))


def counts() -> dict[str, int]:
    """How many messages are pending, sent, failed and cancelled."""
    rows = db.session.execute(db.select(OutboxMessage.status, db.func.count()).group_by(OutboxMessage.status))
    return dict.fromkeys(STATUSES, 0) | dict(rows.all())


# --- what concerns a person: withdrawing, forgetting, purging --------------------------------------

def withdraw(recipient_id: int, about_id: int) -> None:
    """Remove the pending mail to this person about this learner (their link ended); the caller commits."""
    db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status == PENDING, OutboxMessage.recipient_id == recipient_id,
        OutboxMessage.about_id == about_id))


def forget(user_id: int, email: str) -> None:
    """An account is being deleted: remove pending mail to or about the person, and strip what was
    sent or failed of their address, the subject and the bodies, keeping the envelope (key, status,
    dates) for the outbox page. Mail to their address counts even if queued before the account
    existed (a sign-up link). The caller commits."""
    to_them = or_(OutboxMessage.recipient_id == user_id, OutboxMessage.recipient == email)
    concerns = or_(to_them, OutboxMessage.about_id == user_id)
    db.session.execute(delete(OutboxMessage).where(concerns, OutboxMessage.status == PENDING))
    db.session.execute(
        update(OutboxMessage).where(concerns)
        .values(recipient=case((to_them, FORGOTTEN), else_=OutboxMessage.recipient), subject=FORGOTTEN,
                text_body=None, html_body=None, unsubscribe_url=None, last_error=None)
        .execution_options(synchronize_session=False))


def purge_old_bodies() -> int:
    """Drop the bodies (links with tokens, private text) of messages settled and queued MAIL_KEEP_DAYS
    ago or more, keeping the envelope for the outbox page. One UPDATE, over a partial index of the
    bodies still kept, so the sweep can run it every minute; purging twice changes nothing."""
    cutoff = clock.now() - timedelta(days=current_app.config["MAIL_KEEP_DAYS"])
    purged = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.text_body.is_not(None), OutboxMessage.created_at <= cutoff,
               OutboxMessage.status != PENDING)
        .values(text_body=None, html_body=None, unsubscribe_url=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return purged
