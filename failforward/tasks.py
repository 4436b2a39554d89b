"""The Huey queue and every task; each task is one call into an idempotent service.

The database is the source of truth for what is due; Huey only executes. Delivery is queued after
the commit that wrote the mail, and a sweep every minute queues anything due, held or stranded
(a killed worker's leased messages), so a missed tick or a dead worker delays but loses nothing.
"""

import functools
from pathlib import Path

from flask import Flask, current_app, g, has_app_context
from huey import RedisHuey, SqliteHuey, crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from failforward import settings
from failforward.accounts import services as accounts
from failforward.backup import services as backup
from failforward.checkins import services as checkins
from failforward.cycles import services as cycles
from failforward.feedback import services as feedback
from failforward.ledger import services as ledger
from failforward.lessons import services as lessons
from failforward.mail import services as mail
from failforward.premortems import services as premortems
from failforward.pulse import services as pulse
from failforward.reviews import services as reviews
from failforward.thresholds import services as thresholds

INSTANCE = Path(__file__).resolve().parent.parent / "instance"
BATCH = 50  # messages per delivery task: one SMTP connection, one lease each


def _make_huey():
    """SQLite queue in instance/ by default; Redis when REDIS_URL is set (several machines).

    Built from the deployment's settings before any app exists: `huey_consumer` imports this module
    and polls the queue at once, and it builds the app only when a task runs."""
    INSTANCE.mkdir(exist_ok=True)
    config = settings.read(str(INSTANCE))
    if config["REDIS_URL"]:
        return RedisHuey("failforward", url=config["REDIS_URL"])
    return SqliteHuey("failforward", filename=config["HUEY_FILE"])


huey = _make_huey()
_worker_app: Flask | None = None


def configure(app: Flask) -> None:
    """Take immediate mode from config (unit tests run tasks in-process, in memory), and deliver the
    mail a transaction wrote once that transaction has committed."""
    huey.immediate = bool(app.config["HUEY_IMMEDIATE"])
    for name, listener in (("after_commit", _deliver_after_commit), ("after_rollback", _forget_after_rollback)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _app() -> Flask:
    """The app to run tasks in: the current one (immediate mode), else one built once per worker."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from failforward import create_app  # the worker builds the app lazily, never at import

        _worker_app = create_app()
    return _worker_app


def in_app_context(fn):
    """Run a task body inside a fresh app context (and so a fresh database session)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _app().app_context():
            g.in_task = True  # its transactions write: see database.writes_now
            return fn(*args, **kwargs)

    return wrapper


def _in_batches(ids: list[int]) -> None:
    for start in range(0, len(ids), BATCH):
        deliver_mail(ids[start:start + BATCH])


@huey.task(retries=2, retry_delay=10)
@in_app_context
def deliver_mail(message_ids: list[int]) -> int:
    """Deliver outbox messages that are still due; failures are rescheduled in the outbox itself."""
    return mail.deliver(message_ids)


@huey.task()
@huey.lock_task("sweep")
@in_app_context
def sweep() -> int:
    """Create what has fallen due (check-ins, safety pulses, reminders, digests), purge old mail bodies, then
    queue every deliverable message."""
    checkins.create_due()
    pulse.create_due()
    feedback.create_due_reminders()
    lessons.create_due_checks()
    cycles.study_due_cycles()
    premortems.evaluate_tripwires()
    thresholds.fire_due()
    reviews.create_due_notices()
    mail.purge_old_bodies()
    accounts.purge_expired()
    ids = mail.due_for_delivery()
    _in_batches(ids)
    return len(ids)


@huey.periodic_task(crontab(minute="*"))
def sweep_every_minute() -> None:
    """The minute tick; the sweep itself holds the lock, so ticks never overlap."""
    sweep()


@huey.periodic_task(crontab(minute="7"))
@in_app_context
def refresh_goals() -> int:
    """Hourly: mark goals reached whose rule started to hold when a week ended."""
    return ledger.refresh_all_goals()


@huey.periodic_task(crontab(hour="3", minute="17"), retries=2, retry_delay=300)
@huey.lock_task("nightly-backup")
@in_app_context
def nightly_backup() -> str | None:
    """Nightly, when BACKUP_DIR is set: a dated archive there, and those older than BACKUP_KEEP days removed."""
    archive = backup.nightly()
    return str(archive) if archive else None


@huey.on_startup()
def _sweep_after_restart() -> None:
    """A worker that starts (or restarts after a crash) sweeps once the old leases have run out."""
    if not huey.immediate:
        with _app().app_context():
            delay = current_app.config["MAIL_LEASE_SECONDS"] + 1
        sweep.schedule(delay=delay)


def _deliver_after_commit(session: Session) -> None:
    """Queue delivery of mail written in a transaction only once that transaction has committed."""
    if session.get_nested_transaction() is not None:
        return  # a SAVEPOINT was released; the outer transaction is still open
    ids = session.info.pop(mail.PENDING_KEY, [])
    if ids:
        _in_batches(ids)


def _forget_after_rollback(session: Session) -> None:
    """Mail written in a rolled-back transaction was never stored: forget it."""
    session.info.pop(mail.PENDING_KEY, None)
