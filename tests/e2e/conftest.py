"""Browser-test plumbing: Debian's Chromium, a phone-sized context, a live server with CSRF on, mail links."""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import BaseWSGIServer, make_server

from failforward.accounts.models import User
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink
from failforward.extensions import db
from tests.conftest import PASSWORD, PASSWORD_HASH, Inbox, make_test_app

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
# Playwright's own timeouts are 30 s; a page of this app answers in milliseconds, so fail sooner.
ACTION_TIMEOUT_MS = 10_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test in this folder `e2e` (this hook sees the whole session's items, so filter)."""
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium; Playwright never downloads a browser here. No Chromium is a failure."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. "
            "Install it (Debian/Ubuntu: sudo apt-get install chromium, or `make chromium`) and run again.",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def base_url() -> None:
    """No fixed base URL: each test's live server has its own port.

    This also replaces pytest-playwright's fallback `base_url`, a session fixture defined as an
    instance method, which pytest 9.2 deprecates with a warning (an error under filterwarnings).
    """
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """Every page is a phone unless a test asks otherwise: 390 x 844, touch, a 2x screen."""
    return {**browser_context_args, **PHONE}


@dataclass
class LiveServer:
    """The app served over real HTTP on 127.0.0.1, and factories for its data."""

    app: Flask
    url: str

    def make_user(self, name: str, email: str) -> User:
        """An account made directly (no email round trip); its password is tests.conftest.PASSWORD."""
        with self.app.app_context():
            user = User(name=name, email=email, password_hash=PASSWORD_HASH, timezone="UTC")
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def link(self, coach: User, learner: User) -> int:
        """Link coach and learner through a real invite, as accepting it would; return the link id."""
        with self.app.app_context():
            invite = coaching.create_invite(db.session.get(User, coach.id), None)
            link = coaching.accept_invite(coaching.invite_token(invite), db.session.get(User, learner.id))
            return link.id

    def invite_url(self, coach: User, email: str | None = None) -> str:
        """Make an invite from `coach` (for anyone, or emailed to `email`) and return its link."""
        with self.app.app_context():
            invite = coaching.create_invite(db.session.get(User, coach.id), email)
            return coaching.invite_url(invite)

    def accept_contract(self, link_id: int) -> None:
        """The learner accepts the link's current contract."""
        with self.app.app_context():
            link = db.session.get(CoachingLink, link_id)
            contract = coaching.current_contract(link)
            coaching.accept_contract(link.learner, link, contract.version)


def _not_ready(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@pytest.fixture
def live_server(tmp_path, smtp_server, inbox) -> Iterator[LiveServer]:
    """A threaded Werkzeug server with CSRF on, a real database and the test SMTP server."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # The server is bound first so that the app is built knowing its own URL (emailed links use it).
    app = make_test_app(tmp_path / "live", smtp_server, WTF_CSRF_ENABLED=True, BASE_URL=url)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@dataclass
class Watch:
    """What a page did that a person must never see: dialogs, CSP violations, script errors, requests off-site."""

    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        """Only the kinds of trouble that happened."""
        return {name: found for name, found in vars(self).items() if found}


def watch(page: Page, base_url: str) -> Watch:
    """Record every dialog (dismissed at once), CSP violation, uncaught error and off-site request of `page`."""
    seen = Watch()

    def on_dialog(dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            seen.csp_violations.append(message.text)

    def on_request(request) -> None:
        if not (request.url.startswith(f"{base_url}/") or request.url.startswith("data:")):
            seen.offsite_requests.append(request.url)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.script_errors.append(str(error)))
    page.on("request", on_request)
    return seen


class PageOpener:
    """Opens pages, each in its own browser context (a separate person), and watches every one."""

    def __init__(self, browser: Browser, context_args: dict, base_url: str):
        self._browser = browser
        self._context_args = context_args
        self._base_url = base_url
        self._contexts: list[BrowserContext] = []
        self._watches: dict[int, Watch] = {}

    def __call__(self, js: bool = True, **context_args) -> Page:
        """A fresh page; `js=False` turns JavaScript off; other arguments override the context's (e.g. viewport)."""
        context = self._browser.new_context(**{**self._context_args, **context_args, "java_script_enabled": js})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        self._contexts.append(context)
        page = context.new_page()
        self._watches[id(page)] = watch(page, self._base_url)
        return page

    def problems(self, page: Page) -> dict[str, list[str]]:
        """The trouble one page saw so far (empty when all is well)."""
        return self._watches[id(page)].problems()

    def close(self) -> list[dict[str, list[str]]]:
        """Close every context; return the trouble any page saw."""
        for context in self._contexts:
            context.close()
        return [w.problems() for w in self._watches.values() if w.problems()]


@pytest.fixture
def open_page(browser: Browser, browser_context_args: dict, live_server) -> Iterator[PageOpener]:
    """`open_page()` gives a page in a new browser context; `open_page(js=False)` one with JavaScript off.

    Every page is watched: a dialog, a CSP violation, a script error or a request off-site fails the test.
    """
    opener = PageOpener(browser, browser_context_args, live_server.url)
    yield opener
    problems = opener.close()
    assert not problems, f"the browser saw trouble: {problems}"


def mail_link(inbox: Inbox, address: str) -> str:
    """The first link in the newest mail to `address` (delivery is synchronous in tests)."""
    body = Inbox.body(inbox.last_to(address))
    found = re.search(r"https?://\S+", body)
    assert found, f"no link in the mail to {address}:\n{body}"
    return found.group(0)


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and wait for the home page."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def log_misses(page: Page, drill: str, values: tuple[str, ...]) -> None:
    """Log reps of `values` minutes from the home page's quick-log card, each one a miss of the goal's target."""
    for value in values:
        page.get_by_label("Value").fill(value)
        page.get_by_role("button", name="Save rep").click()
        expect(page.get_by_text(f"Saved: {value} min on {drill} (miss;")).to_be_visible()


def go_to(page: Page, name: str) -> None:
    """Follow the menu to a place: from the bar when it shows the link (a laptop, or a phone's short bar), else
    through "More", the page that lists every place."""
    bar = page.get_by_role("navigation", name="Main")
    link = bar.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        bar.get_by_role("link", name="More", exact=True).click()
        link = page.get_by_role("navigation", name="Every place").get_by_role("link", name=name, exact=True)
    link.click()
