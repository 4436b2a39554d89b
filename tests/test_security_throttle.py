"""Throttling that slows attackers without locking anyone out: client addresses behind a proxy, device
cookies, atomic attempt counts, limits on mail sent without an account, and a reset form that does the
same work for every address."""

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import request_started
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event

from failforward import tasks
from failforward.accounts import throttle
from failforward.accounts.models import PendingSignup, RateCounter
from failforward.extensions import db
from tests.conftest import PASSWORD, PASSWORD_HASH

WRONG = "not the password at all"
TOO_MANY = "Too many attempts"
MAIL_LIMIT = "Too many emails"


def sign_in(client, email: str, password: str, client_address: str | None = None):
    headers = {"X-Forwarded-For": client_address} if client_address else {}
    return client.post("/login", data={"email": email, "password": password}, headers=headers)


def text(response) -> str:
    return response.get_data(as_text=True)


def page_for_any(response, address: str) -> str:
    """The page with the address it names and its CSRF token (signed with the time) taken out."""
    page = text(response)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    return page.replace(token, "TOKEN").replace(address, "ADDRESS")


def assert_grows_and_is_capped(delays: list[float], cap: float) -> None:
    assert delays == sorted(delays) and delays[0] < delays[1] < cap
    assert max(delays) == cap and delays[-3:] == [cap] * 3


# --- item 2: behind a reverse proxy, one client must not lock everyone out ---------------------

@pytest.mark.parametrize("proxies, address, secure", [
    pytest.param(0, "127.0.0.1", False, id="no proxy: the headers are ignored"),
    pytest.param(1, "203.0.113.7", True, id="one proxy: its hop is trusted",
                 marks=pytest.mark.app_config(PROXY_COUNT=1)),
])
def test_the_client_address_and_scheme_come_from_the_trusted_hops_only(app, client, proxies, address, secure):
    assert app.config["PROXY_COUNT"] == proxies
    seen = []

    def record(_sender, **_extra):
        from flask import request

        seen.append((request.remote_addr, request.is_secure))

    with request_started.connected_to(record, app):
        client.get("/login", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == [(address, secure)]


@pytest.mark.app_config(PROXY_COUNT=1)
def test_failures_from_one_client_behind_the_proxy_do_not_slow_another(app, client, learner, pauses):
    for n in range(8):
        assert sign_in(client, f"guess{n}@example.com", WRONG, "203.0.113.7").status_code == 422
    assert len(pauses) == 7 and pauses[-1] > 0
    pauses.clear()
    assert sign_in(app.test_client(), learner.email, PASSWORD, "198.51.100.20").status_code == 303
    assert pauses == []


@pytest.mark.app_config(PROXY_COUNT=1)
def test_thirty_failures_from_one_address_never_refuse_a_correct_password(app, client, learner, pauses):
    for n in range(31):
        refused = sign_in(client, f"guess{n}@example.com", WRONG, "203.0.113.7")
        assert refused.status_code == 422 and "do not match" in text(refused)
    assert sign_in(client, learner.email, PASSWORD, "203.0.113.7").status_code == 303
    assert_grows_and_is_capped(pauses, app.config["LOGIN_DELAY_MAX_SECONDS"])
    assert len(pauses) == 31  # every attempt after the first failure waited, the correct one too


def test_without_proxy_count_the_forwarded_header_cannot_dodge_the_delay(app, client, learner, pauses):
    for n in range(6):
        sign_in(client, f"guess{n}@example.com", WRONG, f"198.51.100.{n}")
    pauses.clear()
    assert sign_in(app.test_client(), learner.email, PASSWORD, "192.0.2.99").status_code == 303
    assert pauses and pauses[0] > 0  # the header is ignored: every request came from 127.0.0.1


# --- item 6: knowing someone's address must not lock them out -----------------------------------

def test_the_owners_browser_signs_in_while_an_attacker_has_locked_the_account(app, client, learner, login):
    login(learner)  # the owner's browser signed in before: it carries a device cookie
    client.post("/logout")
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]):
        assert "do not match" in text(sign_in(attacker, learner.email, WRONG))
    assert TOO_MANY in text(sign_in(attacker, learner.email, PASSWORD))
    untrusted = sign_in(app.test_client(), learner.email, PASSWORD)
    assert untrusted.status_code == 422 and TOO_MANY in text(untrusted)
    assert sign_in(client, learner.email, PASSWORD).status_code == 303


def test_a_device_cookie_that_keeps_failing_is_locked_out_itself(app, client, learner, login):
    login(learner)
    client.post("/logout")
    other_device = app.test_client()
    login(learner, other_device)
    other_device.post("/logout")
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]):
        assert "do not match" in text(sign_in(client, learner.email, WRONG))
    assert TOO_MANY in text(sign_in(client, learner.email, PASSWORD))
    # Its failures were its own: the owner's other browser, and even a new one, still sign in.
    assert sign_in(other_device, learner.email, PASSWORD).status_code == 303
    assert sign_in(app.test_client(), learner.email, PASSWORD).status_code == 303


def test_a_device_cookie_of_another_account_or_a_forged_one_is_untrusted(app, client, learner, coach, login):
    login(coach)
    client.post("/logout")
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]):
        sign_in(app.test_client(), learner.email, WRONG)
    assert TOO_MANY in text(sign_in(client, learner.email, PASSWORD))  # Casey's browser is not Lee's
    forged = app.test_client()
    forged.set_cookie(throttle.DEVICE_COOKIE, client.get_cookie(throttle.DEVICE_COOKIE).value[:-2] + "xx")
    assert TOO_MANY in text(sign_in(forged, learner.email, PASSWORD))


def device_cookie_header(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{throttle.DEVICE_COOKIE}="))


@pytest.mark.parametrize("secure", [
    pytest.param(False, id="plain http in development"),
    pytest.param(True, id="secure cookies", marks=pytest.mark.app_config(SESSION_COOKIE_SECURE=True)),
])
def test_the_device_cookie_is_httponly_lax_long_lived_and_secure_with_the_session(client, learner, login, secure):
    header = device_cookie_header(login(learner))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert int(re.search(r"Max-Age=(\d+)", header).group(1)) >= 365 * 86400
    assert ("Secure" in header) is secure


@pytest.fixture
def checked_passwords(monkeypatch) -> list[str]:
    """Every password argon2 checked against a real account's hash (not the dummy one for unknown emails)."""
    checked: list[str] = []
    verify = PasswordHasher.verify

    def counting(self, hash_, password):
        if hash_ == PASSWORD_HASH:
            checked.append(password)
        return verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return checked


def test_forty_concurrent_wrong_guesses_check_at_most_five_passwords(app, learner, checked_passwords):
    """Threads against the real database (an SQLite file, or PostgreSQL when DATABASE_URL is set)."""
    email = learner.email
    db.session.commit()
    start = threading.Barrier(40)
    answers: list[int] = []

    def guess(n: int) -> None:
        browser = FlaskClient(app, app.response_class)  # a plain client: each thread is its own request
        start.wait()
        answers.append(sign_in(browser, email, f"{WRONG} {n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [422] * 40
    assert 1 <= len(checked_passwords) <= app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]


# --- item 8: mail sent without an account is limited per recipient and per client ----------------

@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password argon2 hashed."""
    hashed: list[str] = []
    hash_ = PasswordHasher.hash

    def counting(self, password, **kwargs):
        hashed.append(password)
        return hash_(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting)
    return hashed


def sign_up(client, email: str, name: str = "Mallory says hi", client_address: str | None = None):
    headers = {"X-Forwarded-For": client_address} if client_address else {}
    return client.post("/signup", data={"name": name, "email": email, "password": "a long enough password",
                                        "timezone": "UTC"}, headers=headers)


def reset(client, email: str, client_address: str | None = None):
    headers = {"X-Forwarded-For": client_address} if client_address else {}
    return client.post("/reset", data={"email": email}, headers=headers)


def test_reset_mail_to_one_address_is_limited_alike_for_known_and_unknown_addresses(client, inbox, make_user):
    make_user(email="known@example.com")
    refusals = []
    for address in ("known@example.com", "unknown@example.com"):
        for _ in range(3):
            assert reset(client, address).status_code == 200
        refused = reset(client, address)
        assert refused.status_code == 422 and f'value="{address}"' in text(refused)
        refusals.append(page_for_any(refused, address))
    assert MAIL_LIMIT in refusals[0] and refusals[0] == refusals[1]
    assert len(inbox.to("known@example.com")) == len(inbox.to("unknown@example.com")) == 3


def test_sign_up_mail_to_one_address_is_limited_before_any_hashing(client, inbox, make_user, hashes):
    make_user(email="known@example.com")
    for address in ("victim@example.com", "known@example.com"):
        for _ in range(3):
            assert sign_up(client, address).status_code == 303
        hashed = len(hashes)
        refused = sign_up(client, address)
        assert refused.status_code == 422 and MAIL_LIMIT in text(refused)
        assert 'value="Mallory says hi"' in text(refused) and f'value="{address}"' in text(refused)
        assert len(hashes) == hashed
    assert len(inbox.to("victim@example.com")) == len(inbox.to("known@example.com")) == 3


@pytest.mark.app_config(PROXY_COUNT=1)
def test_one_client_asking_mail_for_many_addresses_is_limited_and_others_are_not(app, client, inbox, hashes):
    for n in range(app.config["MAIL_LIMIT_PER_CLIENT"]):
        asked = (reset if n % 2 else sign_up)(client, f"person{n}@example.com", client_address="203.0.113.7")
        assert asked.status_code in (200, 303)
    hashed = len(hashes)
    refused = sign_up(client, "one.more@example.com", client_address="203.0.113.7")
    assert refused.status_code == 422 and MAIL_LIMIT in text(refused) and len(hashes) == hashed
    assert reset(client, "one.more@example.com", client_address="203.0.113.7").status_code == 422
    assert sign_up(client, "one.more@example.com", client_address="198.51.100.20").status_code == 303
    assert len(inbox.messages) == app.config["MAIL_LIMIT_PER_CLIENT"] + 1


def test_coach_invites_sent_to_an_address_are_limited(client, coach, login, inbox):
    login(coach)
    for _ in range(3):
        assert client.post("/coaching/invites", data={"email": "victim@example.com"}).status_code == 303
    refused = client.post("/coaching/invites", data={"email": "victim@example.com"})
    assert refused.status_code == 422 and MAIL_LIMIT in text(refused)
    assert 'value="victim@example.com"' in text(refused)
    assert len(inbox.to("victim@example.com")) == 3
    assert client.post("/coaching/invites", data={"email": ""}).status_code == 303  # a link only: no mail


def test_the_sweep_forgets_expired_sign_ups_and_counts(app, client, clock, inbox):
    start = clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    sign_up(client, "early@example.com")
    clock.set(start + timedelta(hours=2))
    sign_up(client, "later@example.com")
    clock.set(start + timedelta(hours=24, minutes=1))
    db.session.commit()
    tasks.sweep.call_local()
    db.session.expire_all()
    assert list(db.session.scalars(db.select(PendingSignup.email))) == ["later@example.com"]
    assert db.session.scalar(db.select(db.func.count()).select_from(RateCounter)) == 0  # their hour is over


# --- item 10: the reset form does the same work for known and unknown addresses -----------------

@pytest.fixture
def work(monkeypatch):
    """Count what a request does: SQL statements by kind and table, argon2 hashes and checks, signatures."""
    done: Counter = Counter()

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        words = statement.split()
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
        done[f"{words[0].upper()} {table.group(1) if table else ''}".strip()] += 1

    def counted(name, method):
        def wrapper(*args, **kwargs):
            done[name] += 1
            return method(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(PasswordHasher, "hash", counted("argon2 hash", PasswordHasher.hash))
    monkeypatch.setattr(PasswordHasher, "verify", counted("argon2 verify", PasswordHasher.verify))
    monkeypatch.setattr(URLSafeTimedSerializer, "dumps", counted("sign", URLSafeTimedSerializer.dumps))
    event.listen(db.engine, "before_cursor_execute", record)
    yield done
    event.remove(db.engine, "before_cursor_execute", record)


def test_the_reset_form_does_the_same_work_for_known_and_unknown_addresses(app, make_user, inbox, work):
    make_user(email="known@example.com")
    reset(app.test_client(), "warm.up@example.com")
    seen = {}
    for address in ("known@example.com", "unknown@example.com"):
        work.clear()
        answer = reset(app.test_client(), address)  # each from a new browser, as an attacker timing it would
        seen[address] = (answer.status_code, page_for_any(answer, address), dict(work))
    assert seen["known@example.com"] == seen["unknown@example.com"]
    assert seen["known@example.com"][2]["INSERT outbox_message"] == 1  # the work is real: a mail each
    assert len(inbox.to("known@example.com")) == len(inbox.to("unknown@example.com")) == 1
