"""Fixtures: a fresh database per test, clients, a real SMTP server, a clock the tests move."""

import email
import email.policy
import os
import socket
import threading
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from flask import g, has_request_context
from flask.testing import FlaskClient
from sqlalchemy import event

from failforward import clock as app_clock
from failforward import create_app
from failforward.accounts import throttle
from failforward.accounts.models import User
from failforward.accounts.passwords import hash_password
from failforward.extensions import db
from tests import scale_database
from tests.factories import link, make_drill, make_goal

WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose


class Inbox:
    """An aiosmtpd handler that keeps every message it receives, parsed and as the raw bytes received."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []
        self.reply: str | None = None  # e.g. "451 try later" to refuse the next messages
        self.rcpt_reply: str | None = None  # e.g. "451 4.7.1 greylisted" to refuse each recipient
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.raw.append(envelope.content)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> email.message.EmailMessage:
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]

    @staticmethod
    def body(message: email.message.EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on 127.0.0.1 for the whole run."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server):
    """The messages the app sent during this test."""
    _controller, inbox = smtp_server
    inbox.messages.clear()
    inbox.raw.clear()
    inbox.reply = inbox.rcpt_reply = None
    return inbox


def pytest_configure(config) -> None:
    """Under pytest-xdist (`make test` runs one worker per core) each worker gets its own PostgreSQL
    database beside DATABASE_URL's, named after it; tests/scale_database.py drops them all afterwards.
    SQLite needs nothing: every test has its own file."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("DATABASE_URL")
    if worker and url:
        os.environ["DATABASE_URL"] = scale_database.create_beside(url, worker)


def database_url(tmp_path) -> str:
    """PostgreSQL when DATABASE_URL is set (the scale-out run), else a fresh SQLite file."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


def make_test_app(tmp_path, smtp_server, **overrides):
    """Build an app against a fresh database and the test SMTP server."""
    controller, _inbox = smtp_server
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "HUEY_IMMEDIATE": True,
        "MAIL_TRANSPORT": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": controller.port,
        "BASE_URL": "http://localhost",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        **overrides,
    }
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        event.listen(db.engine, "before_cursor_execute", _no_write_after_done)
    return app


def _no_write_after_done(_connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    """Fail any write once a request said its change was saved (database.writes_done): what follows
    reads in a deferred SQLite transaction, where a write could fail under concurrency."""
    if has_request_context() and g.get("writes_done") and statement.split(None, 1)[0].upper() in WRITES:
        raise AssertionError(f"a write after database.writes_done(): {statement[:120]}")


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts like a real one: empty `g`, nothing cached, no
    transaction open.

    The fixture keeps one app context open (service tests and assertions need it), and Flask reuses
    an open app context for requests; without this, Flask-Login's user cached in `g` would leak
    from one client (one browser) to the next.
    """

    last_response = None

    def open(self, *args, **kwargs):
        g.__dict__.clear()
        # No transaction left open by the test's own reads: the request begins its own, IMMEDIATE
        # for a POST (database.writes_now), as in production.
        db.session.commit()
        db.session.expire_all()
        self.last_response = super().open(*args, **kwargs)
        return self.last_response


@pytest.fixture
def app(request, tmp_path, smtp_server, inbox):
    """The app with a fresh database; CSRF off (its own tests turn it on). A test marked
    `@pytest.mark.app_config(NAME=value)` gets those settings too."""
    marker = request.node.get_closest_marker("app_config")
    app = make_test_app(tmp_path, smtp_server, **(marker.kwargs if marker else {}))
    app.test_client_class = FreshRequestClient
    with app.app_context():
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def pauses(monkeypatch) -> list[float]:
    """The delays sign-in throttling asked for, recorded instead of slept: no test ever waits."""
    asked: list[float] = []
    monkeypatch.setattr(throttle, "pause", asked.append)
    return asked


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def htmx_client(app):
    """A test client whose requests look like htmx's (targeted at #main)."""

    class HtmxClient(FreshRequestClient):
        def open(self, *args, **kwargs):
            headers = {"HX-Request": "true", "HX-Target": "main", **kwargs.pop("headers", {})}
            return super().open(*args, headers=headers, **kwargs)

    return HtmxClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def clock():
    """Move the app's clock: `clock.set(datetime)`; released after the test."""

    class Clock:
        def set(self, moment: datetime) -> datetime:
            app_clock.set_now(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
            return app_clock.now()

    yield Clock()
    app_clock.set_now(None)


@pytest.fixture
def make_user(app):
    """Create an account directly (no email round trip)."""
    count = iter(range(1, 10_000))

    def make(name: str | None = None, email: str | None = None, timezone: str = "UTC", **fields) -> User:
        n = next(count)
        user = User(name=name or f"Person {n}", email=email or f"person{n}@example.com",
                    password_hash=PASSWORD_HASH, timezone=timezone, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    return make


# The people most tests follow; a test file that needs them otherwise defines its own.
@pytest.fixture
def learner(make_user):
    return make_user(name="Lee Learner", email="lee@example.com")


@pytest.fixture
def coach(make_user):
    return make_user(name="Casey Coach", email="casey@example.com")


@pytest.fixture
def drill(learner):
    """A drill on a goal of Lee's."""
    return make_drill(make_goal(learner))


@pytest.fixture
def the_link(coach, learner):
    """Casey coaches Lee."""
    return link(coach, learner)


@pytest.fixture
def login(client):
    """Sign `user` in on the test client (through the real form)."""

    def do(user: User, the_client=None):
        response = (the_client or client).post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    return do
