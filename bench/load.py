"""The load generator: concurrent clients in their own processes, each a small cookie-keeping HTTP client.

Each client signs in like a browser (GET the form, POST it with its CSRF token), waits at a barrier
for the others, then sends requests back to back: a warm-up that is not recorded, then a fixed
measuring window. Only the standard library is used (http.client), so the client stays cheap and
the figures are the server's. It never imports the app.
"""

import http.client
import math
import multiprocessing
import queue
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF_FIELD = re.compile(r'<input [^>]*name="csrf_token"[^>]*value="([^"]+)"')
DRILL_CHOICE = re.compile(r'<input [^>]*name="drill_id"[^>]*value="(\d+)"')
SETUP_TIMEOUT = 120
REQUEST_TIMEOUT = 30
LOAD_KEY_PREFIX = "bench-load-"


@dataclass(frozen=True)
class Scenario:
    """One measured endpoint: who signs in, what each request is, and what a good answer is."""

    name: str
    label: str
    path: str
    role: str | None  # "learner", "coach" or None (anonymous)
    method: str = "GET"
    expect: str = ""  # a text every good page contains (a write is good when answered 2xx or 3xx)
    target: str = "page"  # "ceiling", "floor", "page" or "write"


SCENARIOS = (
    Scenario("bare", "bare route (ceiling)", "/bench/bare", None, expect="ok", target="ceiling"),
    Scenario("floor", "signed-in floor GET", "/bench/signed-in", "learner", expect="Signed in as", target="floor"),
    Scenario("write_floor", "signed-in floor POST", "/bench/signed-in-write", "learner", method="POST",
             target="floor"),
    Scenario("home", "learner home  GET /", "/", "learner", expect="Log a rep"),
    Scenario("ledger", "ledger        GET /ledger", "/ledger", "learner", expect="Ledger"),
    Scenario("queue", "coach queue   GET /queue", "/queue", "coach", expect="Feedback queue"),
    Scenario("progress", "progress      GET /progress", "/progress", "learner", expect="Focused practice"),
    Scenario("overview", "overview      GET /learners", "/learners", "coach", expect="Your learners"),
    Scenario("log_rep", "log a rep     POST /reps", "/reps", "learner", method="POST",
             target="write"),
)


@dataclass
class ClientResult:
    """What one client saw in the measuring window."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    saved_keys: list[str] = field(default_factory=list)
    sent_keys: int = 0
    max_cookie_bytes: int = 0
    sign_in_retries: int = 0
    error: str | None = None


class Browser:
    """A tiny browser: one connection per request (gunicorn's sync workers close it anyway) and a cookie jar."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            sent = {"Cookie": self.cookie_header(), **(headers or {})}
            body = None
            if form is not None:
                body = urlencode(form)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value == "" or morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, text
        finally:
            connection.close()

    def sign_in(self, email: str, password: str) -> int:
        """Sign in like a browser; a server error is retried once. Returns the number of retries."""
        for attempt in range(2):
            status, page = self.request("GET", "/login")
            token = CSRF_FIELD.search(page)
            if status != 200 or not token:
                raise RuntimeError(f"GET /login answered {status} without a CSRF token")
            status, page = self.request("POST", "/login", {"csrf_token": token.group(1), "email": email,
                                                           "password": password})
            if status == 303:
                return attempt
            if status < 500 or attempt:
                raise RuntimeError(f"signing in as {email} answered {status}")
            time.sleep(0.5)
        return 1


@dataclass
class Account:
    """A signed-in browser and what its home page offered: the CSRF token and the drills."""

    browser: Browser
    csrf_token: str = ""
    drill_ids: list[str] = field(default_factory=list)


def _accounts(scenario: Scenario, emails: list[str], password: str, host: str, port: int,
              result: ClientResult) -> list[Account]:
    accounts = []
    for email in emails if scenario.role else [None]:
        browser = Browser(host, port)
        account = Account(browser)
        if email:
            result.sign_in_retries += browser.sign_in(email, password)
        if scenario.method == "POST":
            status, page = browser.request("GET", "/")
            token = CSRF_FIELD.search(page)
            if status != 200 or not token:
                raise RuntimeError(f"the home page of {email} answered {status} without a CSRF token")
            account.csrf_token, account.drill_ids = token.group(1), DRILL_CHOICE.findall(page)
            if scenario.target == "write" and not account.drill_ids:
                raise RuntimeError(f"{email} has no drill to log a rep on")
        accounts.append(account)
    return accounts


def _one_request(scenario: Scenario, account: Account, client: int, rng: random.Random) -> tuple[int, str, str]:
    """Send one request; return the status, the body, and the idempotency key (for a rep)."""
    if scenario.method == "GET":
        status, body = account.browser.request("GET", scenario.path)
        return status, body, ""
    if scenario.target == "floor":
        status, body = account.browser.request("POST", scenario.path, {"csrf_token": account.csrf_token})
        return status, body, ""
    key = f"{LOAD_KEY_PREFIX}{client}-{secrets.token_hex(8)}"
    form = {"csrf_token": account.csrf_token, "drill_id": rng.choice(account.drill_ids),
            "value": f"{rng.uniform(5, 100):.1f}", "idempotency_key": key, "outcome": "",
            "duration_minutes": str(rng.randrange(5, 30)), "performed_at": "", "note": "", "adjustment": ""}
    # What htmx sends from the home page's quick-log card: the fragment comes back, no page load.
    headers = {"HX-Request": "true", "HX-Target": "quick-log", "HX-Current-URL": "http://127.0.0.1/"}
    status, body = account.browser.request("POST", scenario.path, form, headers)
    return status, body, key


def client_main(client: int, scenario: Scenario, emails: list[str], password: str, host: str, port: int,
                warmup: float, duration: float, barrier, results) -> None:
    """One client process: sign in, wait for the others, then send requests until the window closes."""
    result = ClientResult()
    try:
        accounts = _accounts(scenario, emails, password, host, port, result)
    except Exception as error:  # noqa: BLE001 - any setup failure must release the others and be reported
        barrier.abort()
        result.error = f"client {client}: {error}"
        results.put(result)
        return
    try:
        barrier.wait(SETUP_TIMEOUT)
    except threading.BrokenBarrierError:
        result.error = f"client {client}: another client failed to set up"
        results.put(result)
        return
    rng = random.Random(client)
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    turn = 0
    while True:
        began = time.monotonic()
        if began >= stop_at:
            break
        account = accounts[turn % len(accounts)]
        turn += 1
        result.max_cookie_bytes = max(result.max_cookie_bytes, len(account.browser.cookie_header()))
        try:
            status, body, key = _one_request(scenario, account, client, rng)
        except (OSError, http.client.HTTPException) as error:
            status, body, key = 0, repr(error), ""
        ended = time.monotonic()
        good = status == 200 and scenario.expect in body
        if scenario.method == "POST":
            good = 200 <= status < 400
            result.sent_keys += 1
            if good and key:
                result.saved_keys.append(key)  # every answered write, warm-up included, must be in the table
        if not measure_from <= ended <= stop_at:
            continue  # throughput counts the answers that arrive inside the window
        result.latencies.append(ended - began)
        result.statuses[status] += 1
        if not good and len(result.failures) < 3:
            result.failures.append(f"{status}: {body[:200]!r}")
    results.put(result)


@dataclass
class ScenarioResult:
    """All clients' figures for one endpoint."""

    scenario: Scenario
    duration: float
    requests: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    statuses: dict[str, int]
    failures: list[str]
    saved_keys: list[str]
    sent_writes: int
    max_cookie_bytes: int
    sign_in_retries: int
    server_cpu_seconds: float

    @property
    def server_cpu_ms_per_request(self) -> float:
        """Server CPU per answered request: the cost of the endpoint itself, whatever else the machine runs."""
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else float("nan")

    @property
    def good(self) -> int:
        wanted = (lambda s: 200 <= s < 400) if self.scenario.method == "POST" else (lambda s: s == 200)
        return sum(n for s, n in self.statuses.items() if wanted(int(s)))


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def run(scenario: Scenario, *, host: str, port: int, clients: int, accounts: list[list[str]], password: str,
        warmup: float, duration: float, server_cpu: Callable[[], float]) -> ScenarioResult:
    """Run one endpoint with `clients` processes (accounts[i] is the list client i signs in as).

    This process joins the clients' barrier too, to read the server's CPU time at the edges of the
    measuring window (sign-ins, with their deliberately slow password hashing, stay outside it)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients + 1)
    results = context.Queue()
    processes = [context.Process(target=client_main, daemon=True,
                                 args=(i, scenario, accounts[i], password, host, port, warmup, duration, barrier,
                                       results)) for i in range(clients)]
    for process in processes:
        process.start()
    collected: list[ClientResult] = []
    deadline = time.monotonic() + SETUP_TIMEOUT + warmup + duration + REQUEST_TIMEOUT + 30
    cpu_seconds = float("nan")
    try:
        barrier.wait(SETUP_TIMEOUT)
        start = time.monotonic()
        time.sleep(warmup)
        cpu_before = server_cpu()
        time.sleep(max(0.0, start + warmup + duration - time.monotonic()))
        cpu_seconds = server_cpu() - cpu_before
    except threading.BrokenBarrierError:
        pass  # a client failed to set up: its report says why
    try:
        while len(collected) < clients:
            collected.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
    except queue.Empty:
        raise RuntimeError(f"{scenario.name}: only {len(collected)} of {clients} clients reported") from None
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    errors = [c.error for c in collected if c.error]
    if errors:
        raise RuntimeError(f"{scenario.name}: " + "; ".join(errors))
    latencies = [t for c in collected for t in c.latencies]
    statuses: Counter = Counter()
    for c in collected:
        statuses.update(c.statuses)
    return ScenarioResult(
        scenario=scenario, duration=duration, requests=len(latencies),
        requests_per_second=len(latencies) / duration,
        p50_ms=percentile(latencies, 0.50) * 1000, p95_ms=percentile(latencies, 0.95) * 1000,
        statuses={str(k): v for k, v in sorted(statuses.items())},
        failures=[f for c in collected for f in c.failures][:5],
        saved_keys=[k for c in collected for k in c.saved_keys], sent_writes=sum(c.sent_keys for c in collected),
        max_cookie_bytes=max(c.max_cookie_bytes for c in collected),
        sign_in_retries=sum(c.sign_in_retries for c in collected), server_cpu_seconds=cpu_seconds)
