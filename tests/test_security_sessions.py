"""Old session cookies stop working: after signing out, everywhere, a password change or reset, an email change."""



from tests.conftest import PASSWORD
from tests.security_world import NEW_PASSWORD, build_world, sign_in, signed_in_as

# --- old session cookies stop working ------------------------------------------------------------

def cookie_of(client) -> str:
    return client.get_cookie("session").value


def browser_with(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def test_signing_out_ends_the_session_in_this_browser(app, client):
    w = build_world()
    sign_in(client, w.learner)
    assert client.post("/logout").status_code == 303
    assert signed_in_as(client) is None
    assert client.get("/settings").status_code == 302


def test_old_cookies_stop_working_after_signing_out_everywhere(app, client):
    w = build_world()
    sign_in(client, w.learner)
    old = cookie_of(client)
    client.post("/logout-everywhere")
    assert signed_in_as(client) is None
    assert browser_with(app, old).get("/settings").status_code == 302


def test_old_cookies_stop_working_after_a_password_change(app, client):
    w = build_world()
    sign_in(client, w.learner)
    old = cookie_of(client)
    response = client.post("/settings/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert signed_in_as(client) == "Lee Learner"  # this browser goes on
    assert cookie_of(client) != old
    assert browser_with(app, old).get("/settings").status_code == 302


def test_old_cookies_stop_working_after_a_password_reset(app, client):
    w = build_world()
    sign_in(client, w.learner)
    old = cookie_of(client)
    other_browser = app.test_client()
    assert other_browser.post(f"/reset/{w.reset_token}", data={"password": NEW_PASSWORD}).status_code == 303
    assert signed_in_as(other_browser) == "Lee Learner"
    assert browser_with(app, old).get("/settings").status_code == 302
    assert client.get("/settings").status_code == 302


def test_old_cookies_stop_working_after_an_email_change(app, client):
    w = build_world()
    sign_in(client, w.learner)
    old = cookie_of(client)
    response = client.post(f"/email/confirm/{w.email_change_token}")
    assert response.status_code == 303
    assert signed_in_as(client) == "Lee Learner"
    assert browser_with(app, old).get("/settings").status_code == 302


def test_a_forged_login_id_in_the_cookie_is_not_accepted(app, client):
    w = build_world()
    sign_in(client, w.learner)
    with client.session_transaction() as session:
        assert session["_user_id"].startswith(f"{w.learner}:1:")
        session["_user_id"] = f"{w.learner}"
    assert signed_in_as(client) is None
