"""Attacks on accounts: taking an operator's address, stale reset links, sessions that never end."""

import html
from datetime import UTC, datetime, timedelta

from failforward.accounts.models import User
from failforward.extensions import db
from tests.conftest import PASSWORD

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def link_path(inbox, address: str) -> str:
    """The path of the newest link mailed to `address`."""
    body = inbox.body(inbox.last_to(address))
    return next(word for word in body.split() if word.startswith("http://localhost/")).removeprefix("http://localhost")


def operators(runner, *args: str):
    return runner.invoke(args=["operators", *args])


# --- operator rights belong to an account, granted on the command line --------------------------

def test_taking_an_address_listed_in_admin_emails_gives_no_operator_rights(app, client, make_user, login, inbox):
    app.config["ADMIN_EMAILS"] = ["ops@example.com"]
    mallory = make_user(name="Mallory", email="mallory@example.com")
    login(mallory)

    asked = client.post("/settings/email", data={"email": "ops@example.com", "current_password": PASSWORD})

    assert asked.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, mallory.id).email == "mallory@example.com"  # nothing switches on her word
    assert client.get("/ops/outbox").status_code == 404
    # Even once the address is hers (she opened the link it got), the string confers nothing.
    assert client.post(link_path(inbox, "ops@example.com")).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, mallory.id).email == "ops@example.com"
    assert client.get("/ops/outbox").status_code == 404
    assert client.post("/ops/outbox/1/retry").status_code == 404


def test_a_granted_account_reaches_the_outbox_and_a_revoked_one_no_longer(app, client, runner, make_user, login):
    olga = make_user(name="Olga Ops", email="olga@example.com")
    login(olga)
    assert client.get("/ops/outbox").status_code == 404

    granted = operators(runner, "grant", "Olga@Example.com ")

    assert granted.exit_code == 0 and "olga@example.com is an operator now." in granted.output
    assert client.get("/ops/outbox").status_code == 200
    listed = operators(runner, "list")
    assert listed.exit_code == 0 and "olga@example.com" in listed.output

    revoked = operators(runner, "revoke", "olga@example.com")

    assert revoked.exit_code == 0 and "olga@example.com is no longer an operator." in revoked.output
    assert client.get("/ops/outbox").status_code == 404
    assert "olga@example.com" not in operators(runner, "list").output


def test_operator_rights_follow_the_account_not_its_address(app, client, runner, make_user, login, inbox):
    olga = make_user(email="olga@example.com")
    assert operators(runner, "grant", "olga@example.com").exit_code == 0
    login(olga)
    client.post("/settings/email", data={"email": "olga@elsewhere.example.org", "current_password": PASSWORD})
    client.post(link_path(inbox, "olga@elsewhere.example.org"))
    newcomer = make_user(email="olga@example.com")  # someone else signs up with the old address
    stranger = app.test_client()
    login(newcomer, stranger)
    assert stranger.get("/ops/outbox").status_code == 404
    assert client.get("/ops/outbox").status_code == 200
    assert "olga@elsewhere.example.org" in operators(runner, "list").output


def test_granting_an_address_without_an_account_is_refused(app, runner):
    refused = operators(runner, "grant", "nobody@example.com")
    assert refused.exit_code != 0 and "No account uses nobody@example.com." in refused.output
    assert "nobody@example.com" not in operators(runner, "list").output


def test_admin_emails_is_only_a_seed_applied_to_accounts_that_exist(app, client, runner, make_user, login):
    app.config["ADMIN_EMAILS"] = ["Ops@Example.com", "later@example.com"]
    ops = make_user(email="ops@example.com")
    login(ops)
    assert client.get("/ops/outbox").status_code == 404  # the setting alone grants nothing

    seeded = operators(runner, "grant", "--from-config")

    assert seeded.exit_code == 0
    assert "ops@example.com is an operator now." in seeded.output
    assert "No account uses later@example.com." in seeded.output
    assert client.get("/ops/outbox").status_code == 200
    later = make_user(email="later@example.com")  # an account made afterwards is not an operator
    newcomer = app.test_client()
    login(later, newcomer)
    assert newcomer.get("/ops/outbox").status_code == 404


# --- a reset link dies with the password it was sent for -----------------------------------------

def test_an_old_reset_link_cannot_undo_a_password_the_owner_set_since(app, client, make_user, login, inbox):
    victim = make_user(email="victim@example.com")
    client.post("/reset", data={"email": victim.email})  # a link the attacker later finds in the mailbox
    stale = link_path(inbox, victim.email)
    login(victim)
    client.post("/settings/password", data={"current_password": PASSWORD, "password": "the owner's new one"})

    attacker = app.test_client()
    response = attacker.post(stale, data={"password": "the attacker's choice"})

    assert response.status_code == 400 and "Your password has changed since this link was sent." in text(response)
    assert client.get("/settings").status_code == 200  # the owner stays signed in


# --- a session cookie does not live for ever -----------------------------------------------------

def test_a_replayed_old_cookie_looks_idle_since_it_was_copied(app, client, make_user, login, clock):
    clock.set(START)
    login(make_user())
    copied = client.get_cookie("session").value
    for day in range(1, 16):  # the owner goes on using the session every day
        clock.set(START + timedelta(days=day))
        assert client.get("/settings").status_code == 200
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/settings").status_code == 302
    assert client.get("/settings").status_code == 200
