"""Start the bench app under gunicorn on loopback, configured from the environment like production."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Fixed, bench-only, and never a placeholder (the app refuses those outside debug and tests).
SECRET_KEY = "bench-only-secret-key-4f1c9d2e7a8b6c5d3e0f1a2b"
READY_TIMEOUT = 30


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def app_environment(database: Path, huey_file: Path) -> dict[str, str]:
    """The environment the app reads its settings from; the conventional URLs are removed so they cannot win."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "FAILFORWARD_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "FAILFORWARD_SECRET_KEY": SECRET_KEY,
        "FAILFORWARD_SESSION_COOKIE_SECURE": "false",
        "FAILFORWARD_REMEMBER_COOKIE_SECURE": "false",
        "FAILFORWARD_HUEY_FILE": str(huey_file),
    })
    return env


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where it listens, and its master process (whose children are the workers)."""

    port: int
    pid: int

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far: a figure other processes on the
        machine disturb much less than wall-clock throughput."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            if int(fields[1]) == self.pid:  # fields[1] is the parent's pid
                total += (int(fields[11]) + int(fields[12])) / tick
        return total


@contextmanager
def gunicorn(database: Path, folder: Path, workers: int = 2) -> Iterator[Server]:
    """Serve bench.app under gunicorn (sync workers) for the duration of the block."""
    port = free_port()
    log = folder / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
               "--log-level", "warning", "--error-logfile", str(log), "bench.app:create_bench_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=app_environment(database, folder / "huey.sqlite3"))
    try:
        _wait_until_ready(server, port, log)
        yield Server(port, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_ready(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/bench/bare", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT} s")
