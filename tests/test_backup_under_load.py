"""A backup taken by a real `flask backup` process while 8 clients log reps over HTTP into a real SQLite
file (on the PostgreSQL run, a fresh PostgreSQL database: pg_dump), restored by a real `flask restore` into
a new instance: every table's rows and checksum match the manifest, no rep the clients saved is lost, and
the restored app serves the same people their reps."""

import http.client
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from failforward import create_app
from failforward.accounts.models import User
from failforward.backup import services as backup
from failforward.database import normalise_url
from failforward.extensions import db
from tests import scale_database
from tests.conftest import PASSWORD, PASSWORD_HASH
from tests.factories import make_drill, make_goal

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
MOST_REPS = 400  # per client: the loop ends by itself even if the test's waits go wrong


def database(folder: Path) -> str:
    """A new, empty database for the instance in `folder`: a SQLite file there, or on the PostgreSQL run a
    database beside the suite's, named after the folder."""
    suite = os.environ.get("DATABASE_URL")
    if suite:
        return normalise_url(scale_database.create_beside(suite, f"load_{folder.name}"))
    return f"sqlite:///{folder / 'ff.sqlite3'}"


def app_spec(folder: Path, url: str) -> dict:
    """The settings of an instance living in `folder`, with its database at `url`."""
    return {"INSTANCE_PATH": str(folder / "instance"), "SQLALCHEMY_DATABASE_URI": url,
            "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "MAIL_TRANSPORT": "file"}


def flask(folder: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    """Run `flask --app app ARGS` as an operator would, in its own process, on the instance in `folder`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    factory = f"failforward:create_app({app_spec(folder, url)!r})"
    return subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", factory, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def query(url: str, sql: str, **values) -> list:
    """The rows of one query on the database at `url`, read by a connection of its own."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), values))
    finally:
        engine.dispose()


def rep_count(url: str) -> int:
    return query(url, "SELECT count(*) FROM rep")[0][0]


class Client(threading.Thread):
    """One person on a phone: signs in, then logs reps one after another until told to stop."""

    def __init__(self, port: int, email: str, drill_id: int, tally: "Tally"):
        super().__init__(daemon=True)
        self.port, self.email, self.drill_id, self.tally = port, email, drill_id, tally
        self.cookies = SimpleCookie()
        self.errors: list[str] = []

    def post(self, path: str, fields: dict) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())
            connection.request("POST", path, urllib.parse.urlencode(fields),
                               {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            response = connection.getresponse()
            response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(header)
            return response.status
        finally:
            connection.close()

    def run(self) -> None:
        if self.post("/login", {"email": self.email, "password": PASSWORD}) != 303:
            self.errors.append("sign-in failed")
            return
        for n in range(MOST_REPS):
            if self.tally.stop.is_set():
                return
            status = self.post("/reps", {"drill_id": self.drill_id, "value": str(3 + n % 5),
                                         "idempotency_key": uuid.uuid4().hex})
            if status != 303:
                self.errors.append(f"rep {n}: {status}")
                return
            self.tally.saved()


class Tally:
    """Reps saved by all clients, and a way to wait (without sleeping) until there are enough."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def saved(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count or self.stop.is_set(), timeout=60)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_backup_under_load_restores_every_row_and_serves_the_same_pages(tmp_path):
    live, restored, backups = tmp_path / "live", tmp_path / "restored", tmp_path / "backups"
    live_url, restored_url = database(live), database(restored)
    try:
        under_load(live, live_url, restored, restored_url, backups)
    finally:
        for url in (live_url, restored_url):
            if url.startswith("postgresql"):
                scale_database.drop(url.replace("+psycopg", ""))


def under_load(live: Path, live_url: str, restored: Path, restored_url: str, backups: Path) -> None:
    migrated = flask(live, live_url, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    app = create_app({**app_spec(live, live_url), "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        people = []
        for n in range(CLIENTS):
            user = User(name=f"Client {n}", email=f"client{n}@example.com", password_hash=PASSWORD_HASH,
                        timezone="UTC")
            db.session.add(user)
            db.session.commit()
            people.append((user.email, make_drill(make_goal(user)).id))
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tally = Tally()
    clients = [Client(server.server_port, email, drill_id, tally) for email, drill_id in people]
    try:
        for client in clients:
            client.start()
        assert tally.wait_for(CLIENTS * 5), "the clients saved too little before the backup"
        before = rep_count(live_url)
        made = flask(live, live_url, "backup", str(backups))
        after = rep_count(live_url)
        assert made.returncode == 0, made.stderr
        assert tally.wait_for(tally.count + CLIENTS * 5), "the clients stopped during the backup"
    finally:
        tally.stop.set()
        for client in clients:
            client.join(timeout=60)
        server.shutdown()
    assert [error for client in clients for error in client.errors] == []
    with app.app_context():
        db.engine.dispose()  # the live server's connections: PostgreSQL drops the database afterwards
    assert rep_count(live_url) == tally.count  # nothing the clients were told was saved got lost

    archive = next(backups.glob("failforward-backup-*.tar.gz"))
    manifest = backup.read_archive(archive)[0]
    assert manifest["database"] == live_url.split(":")[0].split("+")[0]  # sqlite, or postgresql: pg_dump
    assert before <= manifest["tables"]["rep"]["rows"] <= after < tally.count
    done = flask(restored, restored_url, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert "every table's checksum matches" in done.stdout
    engine = create_engine(restored_url)
    with engine.connect() as connection:
        assert backup.describe(connection) == manifest["tables"]
    engine.dispose()
    assert rep_count(restored_url) == manifest["tables"]["rep"]["rows"]
    assert (restored / "instance" / "secret_key").read_text() == (live / "instance" / "secret_key").read_text()

    served = create_app({**app_spec(restored, restored_url), "TESTING": True, "WTF_CSRF_ENABLED": False})
    with served.app_context():
        # The first client's browser, still signed in from before the backup: the restored key accepts its cookie.
        browser = served.test_client()
        for name, morsel in clients[0].cookies.items():
            browser.set_cookie(name, morsel.value)
        mine = browser.get("/ledger")
        assert mine.status_code == 200 and "Client 0" in mine.get_data(as_text=True)
        ids = {row[0] for row in query(restored_url, "SELECT rep.id FROM rep JOIN users ON users.id = rep.learner_id "
                                               "WHERE users.email = :email", email=clients[0].email)}
        assert ids and ids == {int(n) for n in re.findall(r'id="rep-(\d+)"', mine.get_data(as_text=True))}
        other = served.test_client()
        assert other.post("/login", data={"email": clients[1].email, "password": PASSWORD}).status_code == 303
        assert other.get("/ledger").status_code == 200
        db.session.remove()
        db.engine.dispose()
