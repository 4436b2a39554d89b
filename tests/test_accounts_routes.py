"""Account pages: forms keep text on errors (422), links act only on POST, sessions rotate."""

from failforward.accounts.models import User
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
