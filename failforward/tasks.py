"""The Huey queue and every task; each task is one call into an idempotent service."""

import functools
import os
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from failforward.mail import services as mail

INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _make_huey():
    """SQLite queue in instance/ by default; Redis when REDIS_URL is set (several machines)."""
    if os.environ.get("REDIS_URL"):
        return RedisHuey("failforward", url=os.environ["REDIS_URL"])
    INSTANCE.mkdir(exist_ok=True)
    path = os.environ.get("FAILFORWARD_HUEY_FILE", str(INSTANCE / "huey.sqlite3"))
    return SqliteHuey("failforward", filename=path)


huey = _make_huey()
_worker_app: Flask | None = None


def configure(app: Flask) -> None:
    """Take immediate mode from config (unit tests run tasks in-process, in memory)."""
    huey.immediate = bool(app.config["HUEY_IMMEDIATE"])


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
            return fn(*args, **kwargs)

    return wrapper


@huey.task(retries=8, retry_delay=30)
@in_app_context
def deliver_mail(message_id: int) -> bool:
    """Deliver one outbox message; a temporary failure raises so Huey retries it."""
    return mail.deliver(message_id)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("sweep")
@in_app_context
def sweep() -> int:
    """Queue again every pending message without a live lease (lost, or its worker killed)."""
    ids = mail.due_for_retry()
    for message_id in ids:
        deliver_mail(message_id)
    return len(ids)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    """Queue delivery of mail written in a transaction only once that transaction has committed."""
    for message_id in session.info.pop(mail.PENDING_KEY, []):
        deliver_mail(message_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    """Mail written in a rolled-back transaction was never stored: forget it."""
    session.info.pop(mail.PENDING_KEY, None)
