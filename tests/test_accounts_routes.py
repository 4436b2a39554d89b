"""Account pages: forms keep text on errors (422), links act only on POST, sessions rotate."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous.timed import TimestampSigner

from failforward.accounts.models import User
from failforward.accounts.passwords import verify_password
from failforward.extensions import db
from tests.conftest import PASSWORD


def test_sign_up_round_trip_through_the_emailed_link(client, inbox):
    response = client.post("/signup", data={"name": "Ada", "email": "ada@example.com",
                                            "password": "a long enough password", "timezone": "Asia/Tokyo"})
    assert response.status_code == 303
    assert "Check your email" in client.get(response.location).get_data(as_text=True)
    url = next(w for w in inbox.body(inbox.last_to("ada@example.com")).split() if w.startswith("http"))
    path = url.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200 and "Create my account" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(User).where(User.email == "ada@example.com")) is None
    created = client.post(path)
    assert created.status_code == 303
    assert "Start here, Ada" in client.get("/").get_data(as_text=True)


def test_sign_up_answers_the_same_for_a_known_email(client, make_user):
    make_user(email="known@example.com")
    data = {"name": "X", "password": "a long enough password", "timezone": "UTC"}
    known = client.post("/signup", data={**data, "email": "known@example.com"})
    unknown = client.post("/signup", data={**data, "email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == 303
    assert known.location.split("email=")[0] == unknown.location.split("email=")[0]


def test_invalid_sign_up_keeps_the_text_and_says_why_beside_the_field(client):
    response = client.post("/signup", data={"name": "مرحبا 👋", "email": "not-an-email", "password": "short",
                                            "timezone": "Mars/Olympus"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="مرحبا 👋"' in html and 'value="not-an-email"' in html
    assert "Enter an email address" in html and "at least 8 characters" in html
    assert 'aria-invalid="true"' in html


@pytest.mark.parametrize(("email", "domain"), [("ada@lab.test", "lab.test"), ("ada@x.invalid", "x.invalid"),
                                             ("ada@site.example", "site.example"), ("ada@localhost", "localhost"),
                                             ("ada@box.localhost", "box.localhost")])
def test_sign_up_at_a_reserved_domain_says_no_mail_can_reach_it(client, inbox, email, domain):
    response = client.post("/signup", data={"name": "Ada", "email": email, "password": "a long enough password",
                                            "timezone": "UTC"})
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert f"“{domain}” is reserved for testing: no mail can reach it." in page and f'value="{email}"' in page
    assert "like name@example.com" not in page and not inbox.messages


def test_sign_up_at_example_com_works_but_says_its_link_will_not_arrive(client, inbox):
    response = client.post("/signup", data={"name": "Ada", "email": "ada@example.com",
                                            "password": "a long enough password", "timezone": "UTC"})
    assert response.status_code == 303 and inbox.last_to("ada@example.com")  # the demo's domain keeps working
    assert "example.com is reserved for examples" in client.get(response.location).get_data(as_text=True)
    signed_in = client.post("/login", data={"email": "ada@mail.example.org", "password": "x"})
    assert "reserved" not in signed_in.get_data(as_text=True)
    elsewhere = client.get("/signup/sent?email=ada@gmail.com").get_data(as_text=True)
    assert "Check your email" in elsewhere and "reserved" not in elsewhere


def test_an_account_made_at_a_reserved_domain_still_signs_in_and_asks_for_resets(client, make_user, inbox):
    user = make_user(email="ada@bench.example")  # made before the rule (an operator's, the bench data set)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    client.post("/logout")
    assert client.post("/reset", data={"email": user.email}).status_code == 200 and inbox.last_to(user.email)


def test_login_page_and_wrong_password(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "nope"})
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)
    assert f'value="{user.email}"' in response.get_data(as_text=True)


def test_login_redirects_only_to_same_site_paths(client, make_user):
    user = make_user()
    evil = client.post("/login?next=https://evil.example/x", data={"email": user.email, "password": PASSWORD})
    assert evil.location == "/"
    client.post("/logout")
    good = client.post("/login?next=/coaching", data={"email": user.email, "password": PASSWORD})
    assert good.location == "/coaching"


def test_pages_need_sign_in(client):
    for path in ("/settings", "/coaching", "/account/delete", "/settings/password"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


def test_old_cookie_stops_working_after_logout_everywhere(app, client, make_user, login):
    user = make_user()
    login(user)
    other_device = app.test_client()
    login(user, other_device)
    assert other_device.get("/settings").status_code == 200
    client.post("/logout-everywhere")
    assert other_device.get("/settings").status_code == 302
    assert client.get("/settings").status_code == 302


def test_password_change_keeps_this_session_and_ends_others(app, client, make_user, login):
    user = make_user()
    login(user)
    other_device = app.test_client()
    login(user, other_device)
    response = client.post("/settings/password", data={"current_password": PASSWORD,
                                                       "password": "another fine passphrase"})
    assert response.status_code == 303
    assert client.get("/settings").status_code == 200
    assert other_device.get("/settings").status_code == 302


def test_password_change_with_wrong_current_password_is_422(client, make_user, login):
    login(make_user())
    response = client.post("/settings/password", data={"current_password": "wrong",
                                                       "password": "another fine passphrase"})
    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)


def test_reset_link_get_shows_a_form_and_changes_nothing(client, make_user, inbox):
    user = make_user()
    assert client.post("/reset", data={"email": user.email}).status_code == 200
    url = next(w for w in inbox.body(inbox.last_to(user.email)).split() if w.startswith("http"))
    path = url.replace("http://localhost", "")
    before = user.password_hash
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200  # a mail scanner's visit uses nothing up
    db.session.refresh(user)
    assert user.password_hash == before
    assert client.post(path, data={"password": "a new long passphrase"}).status_code == 303
    reused = client.get(path)
    assert reused.status_code == 400 and "used already" in reused.get_data(as_text=True)


def test_tampered_and_wrong_purpose_links_are_refused_with_their_own_message(app, client, make_user):
    from failforward.signing import sign

    user = make_user()
    tampered = client.get("/reset/not-a-real-token")
    assert tampered.status_code == 400 and "damaged" in tampered.get_data(as_text=True)
    with app.test_request_context():
        other_purpose = sign("coach-invite", {"u": user.id, "n": "x"})
    wrong = client.get(f"/reset/{other_purpose}")
    assert wrong.status_code == 400 and "meant for something else" in wrong.get_data(as_text=True)


def test_expired_reset_link_is_refused(app, client, make_user, inbox, clock):
    from datetime import UTC, datetime, timedelta

    user = make_user()
    client.post("/reset", data={"email": user.email})
    url = next(w for w in inbox.body(inbox.last_to(user.email)).split() if w.startswith("http"))
    import itsdangerous.timed

    real_time = itsdangerous.timed.time.time
    itsdangerous.timed.time.time = lambda: real_time() + 3601
    try:
        expired = client.get(url.replace("http://localhost", ""))
    finally:
        itsdangerous.timed.time.time = real_time
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert clock.set(datetime.now(UTC) + timedelta(0))  # the app clock is untouched by this test


def test_settings_save_and_validate(client, make_user, login):
    user = make_user()
    login(user)
    saved = client.post("/settings", data={"name": "New name", "timezone": "Pacific/Auckland",
                                           "checkin_weekday": "4", "checkin_hour": "18"})
    assert saved.status_code == 303
    db.session.refresh(user)
    assert (user.name, user.timezone, user.checkin_weekday, user.checkin_hour, user.email_opt_in) == (
        "New name", "Pacific/Auckland", 4, 18, False)
    bad = client.post("/settings", data={"name": "", "timezone": "Nowhere/Else", "checkin_weekday": "x",
                                         "checkin_hour": "99"})
    assert bad.status_code == 422


def test_delete_account_asks_first_then_deletes(client, make_user, login):
    user = make_user()
    user_id = user.id
    login(user)
    page = client.get("/account/delete")
    assert "cannot be undone" in page.get_data(as_text=True)
    assert client.post("/account/delete", data={"current_password": "wrong"}).status_code == 422
    assert client.post("/account/delete", data={"current_password": PASSWORD}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user_id) is None


def test_a_copied_cookie_stops_working_after_signing_out(app, client, make_user, login):
    user = make_user()
    login(user)
    with client.session_transaction() as session:
        copied = dict(session)
    client.post("/logout")
    with client.session_transaction() as session:
        session.update(copied)  # the old cookie, replayed
    assert client.get("/settings").status_code == 302


# --- changing the email address waits for the new address ---------------------------------------

def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def link_path(inbox, address: str) -> str:
    """The path of the newest link mailed to `address`."""
    body = inbox.body(inbox.last_to(address))
    return next(word for word in body.split() if word.startswith("http://localhost/")).removeprefix("http://localhost")


def ask_to_move(client, to: str = "new@example.com"):
    response = client.post("/settings/email", data={"email": to, "current_password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def email_of(user_id: int) -> str:
    db.session.expire_all()
    return db.session.get(User, user_id).email


def test_a_new_email_address_takes_effect_only_when_its_link_is_opened(app, client, make_user, login, inbox):
    user = make_user(name="Ola", email="old@example.com")
    login(user)
    other_device = app.test_client()
    login(user, other_device)

    response = ask_to_move(client, "New@Example.com")

    assert "We sent a link to new@example.com; your address changes when you open it." in text(
        client.get(response.location))
    assert email_of(user.id) == "old@example.com"
    assert inbox.to("old@example.com") == []
    path = link_path(inbox, "new@example.com")
    for _scanner in range(2):  # a mail scanner's visit changes nothing
        page = client.get(path)
        assert page.status_code == 200 and "new@example.com" in text(page) and "Ola" in text(page)
    assert email_of(user.id) == "old@example.com"

    switched = client.post(path)

    assert switched.status_code == 303 and switched.location == "/settings"
    settings = client.get("/settings")
    assert settings.status_code == 200  # this browser stays signed in
    assert "Your email address is now new@example.com." in text(settings)
    assert email_of(user.id) == "new@example.com"
    assert other_device.get("/settings").status_code == 302  # every other session is signed out
    told = inbox.body(inbox.last_to("old@example.com"))
    assert "changed to new@example.com" in told
    used = client.post(path)
    assert used.status_code == 400 and "used already" in text(used)


def test_an_email_link_opened_in_another_browser_switches_and_asks_to_sign_in(app, client, make_user, login, inbox):
    user = make_user(email="old@example.com")
    login(user)
    ask_to_move(client)
    phone = app.test_client()

    switched = phone.post(link_path(inbox, "new@example.com"))

    assert switched.status_code == 303 and switched.location.startswith("/login")
    assert "Sign in with new@example.com" in text(phone.get(switched.location))
    assert client.get("/settings").status_code == 302  # the browser that asked is signed out too
    assert phone.post("/login", data={"email": "new@example.com", "password": PASSWORD}).status_code == 303


def test_a_wrong_password_sends_no_link(client, make_user, login, inbox):
    login(make_user(email="old@example.com"))
    response = client.post("/settings/email", data={"email": "new@example.com", "current_password": "wrong"})
    assert response.status_code == 422
    assert "not your current password" in text(response) and 'value="new@example.com"' in text(response)
    assert inbox.to("new@example.com") == []


# What can happen between asking for a new address and opening its link, and what the link then says.
MEANWHILE = {
    "another account took the address": (
        lambda client, make_user: make_user(email="new@example.com"), "Another account uses new@example.com now"),
    "the password changed": (
        lambda client, make_user: client.post("/settings/password", data={
            "current_password": PASSWORD, "password": "another fine passphrase"}),
        "password or sign-in has changed since this link was sent"),
    "every device was signed out": (
        lambda client, make_user: client.post("/logout-everywhere"),
        "password or sign-in has changed since this link was sent"),
}


@pytest.mark.parametrize("meanwhile", sorted(MEANWHILE))
def test_an_email_link_is_refused_with_its_reason_when_the_account_changed_meanwhile(
        client, make_user, login, inbox, meanwhile):
    happen, reason = MEANWHILE[meanwhile]
    user = make_user(email="old@example.com")
    login(user)
    ask_to_move(client)
    path = link_path(inbox, "new@example.com")
    happen(client, make_user)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert reason in text(response)
    assert email_of(user.id) == "old@example.com"


def test_an_email_link_expires_after_24_hours(client, make_user, login, inbox, monkeypatch):
    login(make_user(email="old@example.com"))
    ask_to_move(client)
    path = link_path(inbox, "new@example.com")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 24 * 3600 - 60)
    assert client.get(path).status_code == 200
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 24 * 3600 + 1)
    expired = client.post(path)
    assert expired.status_code == 400 and "expired" in text(expired)


# --- a reset link is bound to the password it would replace -------------------------------------

def reset_to(client, path: str, password: str):
    return client.post(path, data={"password": password})


def test_a_second_reset_link_stops_working_once_the_first_was_used(client, make_user, inbox):
    user = make_user()
    client.post("/reset", data={"email": user.email})
    first = link_path(inbox, user.email)
    client.post("/reset", data={"email": user.email})
    second = link_path(inbox, user.email)
    assert first != second
    assert reset_to(client, first, "a first new passphrase").status_code == 303

    for response in (client.get(second), reset_to(client, second, "a second new passphrase")):
        assert response.status_code == 400
        assert "Your password has changed since this link was sent." in text(response)
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, "a first new passphrase")


def test_a_reset_link_sent_before_a_password_change_in_settings_is_refused(app, client, make_user, login, inbox):
    user = make_user()
    client.post("/reset", data={"email": user.email})
    path = link_path(inbox, user.email)
    login(user)
    assert client.post("/settings/password", data={"current_password": PASSWORD,
                                                   "password": "another fine passphrase"}).status_code == 303
    refused = app.test_client().get(path)
    assert refused.status_code == 400 and "Your password has changed since this link was sent." in text(refused)


# --- sessions end at an absolute age and after idling -------------------------------------------

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_session_ends_at_its_absolute_age_even_when_used_every_day(client, make_user, login, clock):
    clock.set(START)
    login(make_user())
    for day in range(1, 30):
        clock.set(START + timedelta(days=day))
        assert client.get("/settings").status_code == 200, day
    clock.set(START + timedelta(days=30, minutes=-1))
    assert client.get("/settings").status_code == 200
    clock.set(START + timedelta(days=30, minutes=1))
    assert client.get("/settings").status_code == 302


def test_a_session_idle_past_the_idle_age_ends_and_one_in_use_stays(app, client, make_user, login, clock):
    clock.set(START)
    user = make_user()
    login(user)
    busy = app.test_client()
    login(user, busy)
    clock.set(START + timedelta(days=13))
    assert busy.get("/settings").status_code == 200
    clock.set(START + timedelta(days=14, minutes=1))
    assert client.get("/settings").status_code == 302  # idle for 14 days
    assert busy.get("/settings").status_code == 200
    clock.set(START + timedelta(days=26))
    assert busy.get("/settings").status_code == 200  # used within both ages


def test_session_ages_come_from_the_settings(app, client, make_user, login, clock):
    app.config.update(SESSION_MAX_DAYS=3, SESSION_IDLE_DAYS=1)
    clock.set(START)
    login(make_user())
    for hours in (23, 46, 69):
        clock.set(START + timedelta(hours=hours))
        assert client.get("/settings").status_code == 200, hours
    clock.set(START + timedelta(days=3, minutes=1))
    assert client.get("/settings").status_code == 302
