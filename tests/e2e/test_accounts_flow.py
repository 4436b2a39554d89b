"""Accounts in a browser: resetting a forgotten password, and a sign-up form with bad input."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import mail_link, sign_in

NEW_PASSWORD = "lanterns over the harbour"


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_password_reset_by_emailed_link_then_sign_in_with_the_new_password(live_server, open_page, inbox, js):
    live_server.make_user("Rita Reset", "rita@example.com")
    page = open_page(js=js)

    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()

    page.goto(mail_link(inbox, "rita@example.com"))
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    expect(page.get_by_text("Signed in as Rita Reset", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()

    sign_in(page, live_server.url, "rita@example.com", NEW_PASSWORD)
    expect(page.get_by_text("Signed in as Rita Reset", exact=True)).to_be_visible()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_sign_up_with_bad_email_and_short_password_shows_errors_beside_the_fields(live_server, open_page, inbox, js):
    page = open_page(js=js)
    page.goto(f"{live_server.url}/signup")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada-at-example")
    page.get_by_label("Password").fill("short")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Create account").click()
    assert answer.value.status == 422

    email, password = page.get_by_label("Email"), page.get_by_label("Password")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("Enter an email address like name@example.com."))
    email_field = page.locator(".field").filter(has=email)
    expect(email_field.get_by_text("Enter an email address like name@example.com.")).to_be_visible()

    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("Use at least 8 characters."))
    password_field = page.locator(".field").filter(has=password)
    expect(password_field.get_by_text("Use at least 8 characters.")).to_be_visible()

    expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Your name")).not_to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("ada-at-example")
    assert inbox.messages == []
