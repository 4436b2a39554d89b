"""`make bench-fanout`: 10,000 weekly check-ins falling due in the same minute, sent by a real worker.

Per run (1 worker, then 2, each on a fresh SQLite database in a temp folder): bulk-insert 10,000
learners whose check-in moment is the same whole UTC hour (the current one, already past, so the
first sweep finds every one due; spread over a handful of zones, each at a local hour outside quiet
hours), start an aiosmtpd server on 127.0.0.1 that counts messages, then a real
`huey_consumer failforward.tasks.huey --workers N --worker-type thread --flush-locks`.

The clock starts when the worker logs that the first sweep is executing (the start-up sweep, or the
minute tick if it comes first) and stops when the SMTP server has accepted the 10,000th distinct
message. The worker's peak memory is its VmHWM (peak resident set) from /proc, read before it stops.
The issue's target: at least 200 messages a second, the worker under 200 MB.

The lease is shortened to 15 s (FAILFORWARD_MAIL_LEASE_SECONDS) only so that the start-up sweep, which
waits one lease, comes after 16 s instead of two minutes; a batch of 50 is claimed and sent well within it.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
USERS = 10_000
TARGET_RATE = 200.0  # messages a second
TARGET_MB = 200.0
RUN_LIMIT = 300.0  # seconds per run, consumer start to the last message
LEASE_SECONDS = 15
# Whole-hour offsets only (so every moment is the same UTC minute); those at a quiet local hour are dropped.
CANDIDATE_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Helsinki", "Asia/Dubai", "Asia/Shanghai",
                   "Asia/Tokyo", "Australia/Brisbane", "Pacific/Auckland", "Pacific/Honolulu", "America/Anchorage",
                   "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
                   "America/Sao_Paulo")
MAX_ZONES = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingInbox:
    """aiosmtpd handler: counts distinct Message-IDs and notes when the last one arrived."""

    def __init__(self, expected: int):
        self.expected = expected
        self.ids: set[str] = set()
        self.received = 0
        self.first_at: float | None = None
        self.done_at: float | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message_id = ""
        for line in envelope.content.split(b"\r\n" if b"\r\n" in envelope.content else b"\n"):
            if not line:
                break  # end of the headers
            if line[:11].lower() == b"message-id:":
                message_id = line[11:].strip().decode()
                break
        now = time.monotonic()
        with self.lock:
            self.received += 1
            self.first_at = self.first_at or now
            self.ids.add(message_id)
            if self.done_at is None and len(self.ids) >= self.expected:
                self.done_at = now
        return "250 OK"


def due_hour(now: datetime) -> tuple[datetime, list[tuple[str, int, int]]]:
    """The shared moment (this UTC hour, already past) and, per usable zone, the local weekday and hour."""
    moment = now.replace(minute=0, second=0, microsecond=0)
    zones = []
    for name in CANDIDATE_ZONES:
        local = moment.astimezone(ZoneInfo(name))
        # 08:00-19:00 local, so that neither the moment nor the next hour or so of sending is in quiet hours.
        if 8 <= local.hour <= 19:
            zones.append((name, local.weekday(), local.hour))
    return moment, zones[:MAX_ZONES]


def build_database(folder: Path, secret: str) -> dict:
    """A fresh SQLite database with USERS learners all due at the same moment; returns what was made."""
    from sqlalchemy import insert

    from failforward import create_app
    from failforward.accounts.models import User
    from failforward.accounts.passwords import hash_password
    from failforward.extensions import db

    uri = f"sqlite:///{folder / 'fanout.sqlite3'}"
    app = create_app({"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": uri, "INSTANCE_PATH": str(folder),
                      "TESTING": False})
    now = datetime.now(UTC)
    moment, zones = due_hour(now)
    if len(zones) < 2:
        raise SystemExit(f"no usable time zones for {moment:%H:%M} UTC")
    password_hash = hash_password("bench-fanout-password")
    created = now - timedelta(days=60)
    rows = []
    for n in range(USERS):
        zone, weekday, hour = zones[n % len(zones)]
        rows.append(dict(id=n + 1, email=f"learner{n}@fanout.example", name=f"Learner {n}",
                         password_hash=password_hash, timezone=zone, session_version=1, checkin_weekday=weekday,
                         checkin_hour=hour, email_opt_in=True, checkin_always=True, created_at=created))
    with app.app_context():
        db.create_all()
        db.session.execute(insert(User), rows)
        db.session.commit()
        db.engine.dispose()
    return {"uri": uri, "moment": moment.isoformat(), "zones": [z for z, _, _ in zones]}


def _peak_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def _log_times(log: str) -> dict:
    """Durations the worker logged: the first sweep, and how many deliveries ran."""
    sweeps = [float(s) for s in re.findall(r"failforward\.tasks\.sweep: \S+ executed in ([\d.]+)s", log)]
    return {"sweep_seconds": sweeps[0] if sweeps else None,
            "delivery_tasks": len(re.findall(r"failforward\.tasks\.deliver_mail: [^\n]*? executed in", log)),
            "errors": len(re.findall(r"(?m)^.*(ERROR|Traceback)", log))}


def run(workers: int) -> dict:
    """One fresh run with `workers` worker threads; returns its figures."""
    from aiosmtpd.controller import Controller

    secret = "bench-fanout-" + os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="failforward-fanout-") as tmp:
        folder = Path(tmp)
        print(f"-- {workers} worker(s): creating {USERS:,} learners ...", flush=True)
        made = build_database(folder, secret)
        print(f"   all due at {made['moment']} in {', '.join(made['zones'])}", flush=True)
        inbox = CountingInbox(USERS)
        smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
        smtp.start()
        env = {**os.environ,
               "FAILFORWARD_SECRET_KEY": secret,
               "FAILFORWARD_SQLALCHEMY_DATABASE_URI": made["uri"],
               "FAILFORWARD_MAIL_TRANSPORT": "smtp",
               "FAILFORWARD_SMTP_HOST": "127.0.0.1",
               "FAILFORWARD_SMTP_PORT": str(smtp.port),
               "FAILFORWARD_MAIL_LEASE_SECONDS": str(LEASE_SECONDS),
               "FAILFORWARD_HUEY_FILE": str(folder / "huey.sqlite3")}
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        log_path = folder / "consumer.log"
        consumer_bin = Path(sys.executable).with_name("huey_consumer")
        started = time.monotonic()
        with log_path.open("wb") as output:
            consumer = subprocess.Popen(
                [str(consumer_bin), "failforward.tasks.huey", "--workers", str(workers), "--worker-type", "thread",
                 "--flush-locks"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        sweep_at = peak = None
        failure = None
        try:
            while True:
                now = time.monotonic()
                if sweep_at is None and "Executing failforward.tasks.sweep" in log_path.read_text(errors="replace"):
                    sweep_at = now
                peak = _peak_mb(consumer.pid) or peak
                if inbox.done_at is not None:
                    break
                if consumer.poll() is not None:
                    failure = f"the worker exited with code {consumer.returncode}"
                    break
                if now - started > RUN_LIMIT:
                    failure = (f"gave up after {RUN_LIMIT:.0f} s: {len(inbox.ids):,} of {USERS:,} messages arrived"
                               + ("" if sweep_at else " (the sweep never started)"))
                    break
                time.sleep(0.05)
            peak = _peak_mb(consumer.pid) or peak
        finally:
            if consumer.poll() is None:
                consumer.send_signal(signal.SIGINT)
                try:
                    consumer.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    consumer.kill()
                    consumer.wait()
            smtp.stop()
        log = log_path.read_text(errors="replace")
    result = {"workers": workers, "messages": len(inbox.ids), "received": inbox.received, "peak_mb": peak,
              "moment": made["moment"], "zones": made["zones"], **_log_times(log)}
    if failure:
        print(f"   FAILED: {failure}\n   worker log (tail):\n{log[-2000:]}", flush=True)
        return result | {"error": failure}
    seconds = inbox.done_at - sweep_at
    result |= {"seconds": round(seconds, 2), "delivery_after_sweep_seconds": round(
                   seconds - (result["sweep_seconds"] or 0), 2), "rate": round(USERS / seconds, 1),
               "startup_to_sweep_seconds": round(sweep_at - started, 2),
               "first_message_after_sweep_seconds": round(inbox.first_at - sweep_at, 2)}
    result["meets_target"] = result["rate"] >= TARGET_RATE and (peak or 0) < TARGET_MB
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker threads per run (default 1 2)")
    args = parser.parse_args()
    # This process imports failforward.tasks too (create_app): keep its queue file out of instance/.
    scratch = tempfile.TemporaryDirectory(prefix="failforward-fanout-queue-")
    os.environ["FAILFORWARD_HUEY_FILE"] = str(Path(scratch.name) / "huey.sqlite3")
    os.environ.pop("REDIS_URL", None)
    load = os.getloadavg()[0]
    if load > 1.0:
        print(f"note: load average {load:.1f} on {os.cpu_count()} CPUs before the runs: other work will slow them down")
    results = []
    try:
        for workers in args.workers:
            results.append(run(workers))
            r = results[-1]
            if "error" not in r:
                print(f"   {r['messages']:,} messages in {r['seconds']:.1f} s from the sweep: {r['rate']:.0f} msg/s, "
                      f"peak {r['peak_mb']:.0f} MB (sweep itself {r['sweep_seconds']} s) ", flush=True)
    finally:
        scratch.cleanup()
    print(f"\nfan-out of {USERS:,} check-ins (target >= {TARGET_RATE:.0f} msg/s, worker < {TARGET_MB:.0f} MB):")
    print(f"{'workers':>8} {'seconds':>8} {'msg/s':>8} {'peak MB':>8}  target")
    for r in results:
        if "error" in r:
            print(f"{r['workers']:>8} {'-':>8} {'-':>8} {r['peak_mb'] or 0:>8.0f}  FAILED: {r['error']}")
        else:
            verdict = "met" if r["meets_target"] else "MISSED"
            print(f"{r['workers']:>8} {r['seconds']:>8.1f} {r['rate']:>8.0f} {r['peak_mb']:>8.0f}  {verdict}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"fanout-{stamp}.json"
    path.write_text(json.dumps({"bench": "fanout", "users": USERS, "target_rate": TARGET_RATE,
                                "target_mb": TARGET_MB, "cpus": os.cpu_count(), "load_before": round(load, 2),
                                "lease_seconds": LEASE_SECONDS,
                                "clock": "from the worker logging the first sweep to the last message accepted",
                                "runs": results}, indent=2))
    print(f"saved {path.relative_to(ROOT)}")
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
