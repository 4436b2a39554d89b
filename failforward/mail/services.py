"""Queue emails in the outbox and deliver them, once, over the configured transport."""

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from failforward import clock
from failforward.extensions import db
from failforward.mail.models import FAILED, PENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
PENDING_KEY = "outbox_pending_ids"


class TemporaryMailError(Exception):
    """Delivery failed in a way that may pass (4xx answer, connection refused): retry later."""


def one_line(text: str) -> str:
    """Flatten user text for a mail header: no CR, LF or other control characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def queue_mail(
    key: str,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    unsubscribe_url: str | None = None,
) -> OutboxMessage | None:
    """Add an email to the outbox in the caller's transaction; a key already there is a no-op."""
    if db.session.scalar(db.select(OutboxMessage.id).where(OutboxMessage.key == key)):
        return None
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(" >") or "localhost"
    message = OutboxMessage(
        key=key,
        recipient=one_line(recipient),
        subject=one_line(subject)[:300],
        text_body=text_body,
        html_body=html_body,
        unsubscribe_url=unsubscribe_url,
        message_id=make_msgid(domain=domain),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        # Another process wrote the same key between our check and our insert.
        return None
    db.session.info.setdefault(PENDING_KEY, []).append(message.id)
    return message


def compose(message: OutboxMessage) -> EmailMessage:
    """Build the MIME message: plain text and, when given, an HTML alternative."""
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    return email


def claim(message_id: int) -> OutboxMessage | None:
    """Take a short lease on a pending message so no other worker sends it meanwhile."""
    now = clock.now()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == PENDING,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .values(lease_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
    ).rowcount
    db.session.commit()
    return db.session.get(OutboxMessage, message_id) if claimed else None


def deliver(message_id: int) -> bool:
    """Send one outbox message if it is still pending; True when it went out now."""
    message = claim(message_id)
    if message is None:
        return False
    try:
        _transport(compose(message))
    except TemporaryMailError as error:
        message.last_error = str(error)[:1000]
        message.lease_until = None
        db.session.commit()
        raise
    except smtplib.SMTPResponseException as error:
        message.status, message.last_error = FAILED, f"{error.smtp_code} {error.smtp_error!r}"[:1000]
        db.session.commit()
        log.warning("mail %s failed permanently: %s", message.key, message.last_error)
        return False
    message.status, message.sent_at, message.last_error = SENT, clock.now(), None
    db.session.commit()
    return True


def _transport(email: EmailMessage) -> None:
    """Hand the message to the configured transport, mapping failures to temporary or permanent."""
    config = current_app.config
    if config["MAIL_TRANSPORT"] == "file":
        folder = Path(config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").replace("/", "_").replace("@", "_at_")
        path = folder / f"{name}.eml"
        path.write_bytes(bytes(email))
        log.info("mail to %s written to %s", email["To"], path)
        return
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(email)
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            raise TemporaryMailError(f"{error.smtp_code} {error.smtp_error!r}") from error
        raise
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            raise TemporaryMailError(str(error)) from error
        raise smtplib.SMTPResponseException(codes[0], b"recipient refused") from error
    except (TimeoutError, OSError, smtplib.SMTPServerDisconnected) as error:
        raise TemporaryMailError(str(error) or type(error).__name__) from error


def due_for_retry() -> list[int]:
    """Ids of pending messages with no live lease: the sweep queues them again."""
    now = clock.now()
    return list(
        db.session.scalars(
            db.select(OutboxMessage.id).where(
                OutboxMessage.status == PENDING,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            )
        )
    )
