"""Account rules: sign-up by link, sign-in throttling, reset links, session versions, deletion."""

from datetime import UTC, datetime, timedelta

import pytest

from failforward.accounts import services, throttle
from failforward.accounts.models import PendingSignup, User
from failforward.accounts.passwords import password_problem, verify_password
from failforward.extensions import db
from failforward.signing import LinkError
from tests.conftest import PASSWORD


def link_in(inbox, address: str) -> str:
    body = inbox.body(inbox.last_to(address))
    return next(word for word in body.split() if word.startswith("http://localhost/"))


def test_sign_up_emails_a_link_and_creates_the_account_only_when_it_is_opened(app, inbox):
    services.start_sign_up("Ada", "Ada@Example.com ", "a long enough password", "Europe/Paris", None)
    assert db.session.scalar(db.select(User).where(User.email == "ada@example.com")) is None
    url = link_in(inbox, "ada@example.com")
    user, _next = services.finish_sign_up(url.rsplit("/", 1)[1])
    assert (user.name, user.email, user.timezone) == ("Ada", "ada@example.com", "Europe/Paris")
    assert verify_password(user.password_hash, "a long enough password")
    with pytest.raises(LinkError, match="used already"):
        services.finish_sign_up(url.rsplit("/", 1)[1])


def test_sign_up_with_a_known_email_tells_the_owner_instead_of_the_visitor(app, inbox, make_user):
    owner = make_user(email="owner@example.com")
    services.start_sign_up("Mallory", "owner@example.com", "a long enough password", "UTC", None)
    assert "already have one" in inbox.body(inbox.last_to("owner@example.com"))
    assert db.session.scalar(db.select(db.func.count()).select_from(PendingSignup)) == 0
    assert db.session.get(User, owner.id).name != "Mallory"


def test_wrong_password_and_unknown_email_get_the_same_answer(app, make_user):
    user = make_user()
    with pytest.raises(services.AccountError) as wrong:
        services.authenticate(user.email, "not the password", "10.0.0.1")
    with pytest.raises(services.AccountError) as unknown:
        services.authenticate("nobody@example.com", "not the password", "10.0.0.1")
    assert str(wrong.value) == str(unknown.value)


def test_sign_in_is_throttled_per_account_then_allowed_after_the_window(app, make_user, clock):
    start = clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    user = make_user()
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"]):
        with pytest.raises(services.AccountError, match="do not match"):
            services.authenticate(user.email, "wrong", "10.0.0.1")
    with pytest.raises(throttle.Throttled, match="Too many attempts"):
        services.authenticate(user.email, PASSWORD, "10.0.0.2")
    clock.set(start + timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"], seconds=1))
    assert services.authenticate(user.email, PASSWORD, "10.0.0.2").id == user.id


def test_a_device_that_signed_in_before_is_spared_the_accounts_lockout(app, make_user):
    user = make_user()
    device = throttle.device_token(user)
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_ACCOUNT"] + 1):
        with pytest.raises((services.AccountError, throttle.Throttled)):
            services.authenticate(user.email, "wrong", "10.0.0.1")
    assert services.authenticate(user.email, PASSWORD, "10.0.0.3", device).id == user.id
    with pytest.raises(throttle.Throttled):
        services.authenticate(user.email, PASSWORD, "10.0.0.3", throttle.device_token(make_user()))


def test_failures_from_one_address_slow_its_sign_ins_down_but_never_refuse_them(app, make_user, pauses):
    users = [make_user() for _ in range(8)]
    for user in users[:7]:
        with pytest.raises(services.AccountError, match="do not match"):
            services.authenticate(user.email, "wrong", "10.9.9.9")
    assert services.authenticate(users[7].email, PASSWORD, "10.9.9.9").id == users[7].id
    assert pauses == [0.25, 0.5, 1, 2, 4, 4, 4]  # doubling, up to LOGIN_DELAY_MAX_SECONDS
    assert services.authenticate(users[7].email, PASSWORD, "10.1.1.1").id == users[7].id
    assert len(pauses) == 7  # another address waits for nobody


def test_reset_link_works_once_and_signs_out_old_sessions(app, inbox, make_user):
    user = make_user()
    version = user.session_version
    services.request_password_reset(user.email)
    token = link_in(inbox, user.email).rsplit("/", 1)[1]
    services.reset_password(token, "a brand new passphrase")
    assert verify_password(user.password_hash, "a brand new passphrase")
    assert user.session_version == version + 1
    with pytest.raises(LinkError, match="used already"):
        services.reset_password(token, "yet another passphrase")


def test_reset_for_an_unknown_email_says_there_is_no_account_and_holds_no_link(app, inbox):
    services.request_password_reset("Nobody@example.com")
    body = inbox.body(inbox.last_to("nobody@example.com"))
    assert "no account with this address" in body and "/reset/" not in body


def test_change_email_needs_the_password_and_waits_for_the_link(app, inbox, make_user):
    user = make_user(email="old@example.com")
    with pytest.raises(services.AccountError) as refused:
        services.request_email_change(user, "wrong", "new@example.com")
    assert refused.value.field == "current_password"
    assert services.request_email_change(user, PASSWORD, "New@Example.com") == "new@example.com"
    assert user.email == "old@example.com"
    token = link_in(inbox, "new@example.com").rsplit("/", 1)[1]
    assert services.change_email(token).email == "new@example.com"
    assert "new@example.com" in inbox.body(inbox.last_to("old@example.com"))


def test_change_email_refuses_an_address_in_use(app, make_user):
    make_user(email="taken@example.com")
    user = make_user()
    with pytest.raises(services.AccountError) as refused:
        services.request_email_change(user, PASSWORD, "taken@example.com")
    assert refused.value.field == "email"


def test_delete_account_removes_the_person(app, make_user):
    user = make_user()
    user_id = user.id
    services.delete_account(user, PASSWORD)
    assert db.session.get(User, user_id) is None


def test_old_session_ids_stop_loading_after_a_version_bump(app, make_user):
    user = make_user()
    services.start_session(user)
    old_id = user.get_id()
    assert services.load_user(old_id).id == user.id
    services.sign_out_everywhere(user)
    assert services.load_user(old_id) is None
    services.start_session(user)
    assert services.load_user(user.get_id()).id == user.id
    assert services.load_user("garbage") is None


def test_a_signed_out_session_id_no_longer_loads_even_when_replayed(app, make_user):
    # A copied cookie used to keep working after a plain sign-out (ASVS V7.4.1).
    user = make_user()
    services.start_session(user)
    this_browser = user.get_id()
    services.start_session(user)
    other_browser = user.get_id()
    services.end_session(services.load_user(this_browser))
    assert services.load_user(this_browser) is None
    assert services.load_user(other_browser).id == user.id


@pytest.mark.parametrize(
    ("password", "ok"),
    [("short", False), ("password123", False), ("aaaaaaaaaaaa", False), ("x" * 300, False),
     ("a sentence I will remember", True), ("🔥 emoji passwords count too 🔥", True), ("كلمة مرور طويلة", True)],
)
def test_password_rules(password, ok):
    assert (password_problem(password) is None) is ok


def test_password_may_not_contain_the_persons_name():
    assert "name" in password_problem("ada-lovelace-rules", "Lovelace", "ada@example.com")
