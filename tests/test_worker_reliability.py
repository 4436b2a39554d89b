"""A real Huey consumer, a real SMTP server, a SIGKILL mid-run: every due email still arrives,
none twice beyond the documented window (a message SMTP accepted just before the kill)."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from failforward.extensions import db
from failforward.mail import services as mail
from failforward.mail.models import PENDING, SENT, OutboxMessage
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 200


class CountingInbox:
    """Records each Message-ID received and wakes the test at chosen counts (no sleeping)."""

    def __init__(self):
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.reached: dict[int, threading.Event] = {}
        self.all_unique = threading.Event()

    def wait_for(self, count: int) -> threading.Event:
        return self.reached.setdefault(count, threading.Event())

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.01)  # a server that takes a moment per message, so the kill lands mid-batch
        message_id = next(line.split(":", 1)[1].strip() for line in envelope.content.decode().splitlines()
                          if line.lower().startswith("message-id:"))
        with self.lock:
            self.ids.append(message_id)
            for count, event in self.reached.items():
                if len(self.ids) >= count:
                    event.set()
            if len(set(self.ids)) >= MESSAGES:
                self.all_unique.set()
        return "250 OK"


def start_consumer(env: dict, log: Path) -> subprocess.Popen:
    consumer = Path(sys.executable).with_name("huey_consumer")
    command = [str(consumer), "failforward.tasks.huey", "--workers", "2", "--worker-type", "thread", "--flush-locks"]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_killed_worker_loses_nothing_and_doubles_only_within_the_window(app, tmp_path):
    inbox = CountingInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        **os.environ,
        "FAILFORWARD_SECRET_KEY": app.config["SECRET_KEY"],
        "FAILFORWARD_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "FAILFORWARD_MAIL_TRANSPORT": "smtp",
        "FAILFORWARD_SMTP_HOST": "127.0.0.1",
        "FAILFORWARD_SMTP_PORT": str(smtp.port),
        # Long enough that a batch of 50 is sent well within its lease on a loaded machine (a lease that ran
        # out mid-batch would let the other thread send the rest again), short enough to keep the test quick.
        "FAILFORWARD_MAIL_LEASE_SECONDS": "10",
        "FAILFORWARD_HUEY_FILE": str(tmp_path / "huey.sqlite3"),
    }
    if os.environ.get("REDIS_URL"):
        from huey import RedisHuey

        RedisHuey("failforward", url=os.environ["REDIS_URL"]).flush()
    for n in range(MESSAGES):
        mail.queue_mail(f"reliability:{n}", f"learner{n}@example.com", f"Message {n}", f"Body {n}")
    db.session.info.pop(mail.PENDING_KEY)  # the consumer's start-up sweep must find them on its own
    db.session.commit()

    log = tmp_path / "consumer.log"
    first = start_consumer(env, log)
    try:
        assert inbox.wait_for(MESSAGES // 4).wait(timeout=60), "the first worker delivered too little"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        db.session.expire_all()
        in_flight = set(db.session.scalars(db.select(OutboxMessage.message_id).where(
            OutboxMessage.status == PENDING, OutboxMessage.lease_until.is_not(None))))
        db.session.rollback()  # end the read: an open transaction would hold SQLite's write lock
        received_before_restart = len(inbox.ids)
        assert received_before_restart < MESSAGES, "the kill came too late to prove anything"

        second = start_consumer(env, log)
        try:
            assert inbox.all_unique.wait(timeout=120), (
                f"only {len(set(inbox.ids))} of {MESSAGES} arrived; worker log:\n{log.read_text()[-3000:]}")
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        smtp.stop()

    db.session.expire_all()
    statuses = dict(db.session.execute(
        db.select(OutboxMessage.status, db.func.count()).group_by(OutboxMessage.status)).all())
    assert statuses == {SENT: MESSAGES}
    expected = set(db.session.scalars(db.select(OutboxMessage.message_id)))
    assert set(inbox.ids) == expected
    doubled = {mid for mid in inbox.ids if inbox.ids.count(mid) > 1}
    assert doubled <= in_flight, "a message went twice outside the window of the killed worker's leases"
