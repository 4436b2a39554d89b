"""CSRF on every POST: refused without its token (nothing changes), accepted with the htmx header, and an
expired token keeps the text."""

import html
import re

import pytest
from itsdangerous.timed import TimestampSigner

from failforward.forms import CSRF_MESSAGE
from tests.conftest import PASSWORD, FreshRequestClient
from tests.security_world import (
    CSRF_EXEMPT,
    POSTS,
    build_full_world,
    build_world,
    contract_form,
    csrf_token_of,
    dump,
    rules,
    sign_in,
    signed_in_as,
)

# Every test here runs with CSRF checks on, as in production.
pytestmark = pytest.mark.app_config(WTF_CSRF_ENABLED=True)


def test_every_post_route_has_a_csrf_case(app):
    posts = {rule.endpoint for rule in rules(app, "POST")}
    assert posts - CSRF_EXEMPT.keys() - POSTS.keys() == set(), "add a Post to POSTS for these endpoints"
    assert (POSTS.keys() | CSRF_EXEMPT.keys()) - posts == set(), "these endpoints are gone: remove them"


def browser_for(app, w, who: str | None) -> FreshRequestClient:
    client = app.test_client()
    if who:
        sign_in(client, getattr(w, who))
    return client


@pytest.mark.parametrize("endpoint", sorted(POSTS))
def test_a_post_without_its_own_csrf_token_changes_nothing(app, endpoint):
    w = build_full_world()
    post = POSTS[endpoint]
    client = browser_for(app, w, post.who)
    before, who_before = dump(), signed_in_as(client)
    for token in (None, csrf_token_of(app.test_client()), "garbage"):  # missing, another browser's, forged
        data = dict(post.data(w))
        if token:
            data["csrf_token"] = token

        response = client.post(post.path(w), data=data)

        assert response.status_code in (302, 303, 422), (token, response.status_code)
        if response.status_code == 422:
            assert html.escape(CSRF_MESSAGE) in response.get_data(as_text=True)
        assert dump() == before
        assert signed_in_as(client) == who_before
        assert not post.happened(w, client)


@pytest.mark.parametrize("endpoint", sorted(POSTS))
def test_a_post_with_the_htmx_csrf_header_works(app, endpoint):
    w = build_full_world()
    post = POSTS[endpoint]
    client = browser_for(app, w, post.who)
    headers = {"X-CSRFToken": csrf_token_of(client), "HX-Request": "true"}

    response = client.post(post.path(w), data=post.data(w), headers=headers)

    assert response.status_code in (200, 204, 302, 303), response.get_data(as_text=True)
    assert post.happened(w, client)


@pytest.fixture
def expired_csrf_tokens(monkeypatch):
    """Move itsdangerous's clock an hour and a second on: every CSRF token handed out before expires."""

    def move():
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 3601)

    return move


FORMS_WITH_TEXT = {
    "sign-up": (None, "/signup", "/signup",
                {"name": "Nöra ✍️", "email": "nora@example.com", "password": "a long enough password",
                 "timezone": "UTC"}, ["Nöra ✍️", "nora@example.com"]),
    "settings": ("learner", "/settings", "/settings",
                 {"name": "My new name", "timezone": "UTC", "checkin_weekday": "3", "checkin_hour": "7"},
                 ["My new name"]),
    "contract": ("coach", "/coaching/links/{link}/contract/edit", "/coaching/links/{link}/contract",
                 contract_form(commitments="We keep what we typed.\nEvery line of it."),
                 ["We keep what we typed.\nEvery line of it."]),
    "invite": ("coach", "/coaching", "/coaching/invites", {"email": "robin@example.com"}, ["robin@example.com"]),
    "email": ("learner", "/settings/email", "/settings/email",
              {"email": "moved@example.com", "current_password": PASSWORD}, ["moved@example.com"]),
    "reset request": (None, "/reset", "/reset", {"email": "lee@example.com"}, ["lee@example.com"]),
    "end link": ("learner", "/coaching/links/{link}/end", "/coaching/links/{link}/end", {}, []),
    "accept invite": ("newcomer", "/invite/{invite_token}", "/invite/{invite_token}", {}, []),
    "finish sign-up": (None, "/signup/finish/{signup_token}", "/signup/finish/{signup_token}", {}, []),
    "confirm email change": (None, "/email/confirm/{email_change_token}", "/email/confirm/{email_change_token}",
                             {}, []),
}


@pytest.mark.parametrize("form", sorted(FORMS_WITH_TEXT))
def test_an_expired_csrf_token_keeps_the_text_and_a_fresh_token_then_works(app, expired_csrf_tokens, form):
    w = build_world()
    who, page, action, data, kept = FORMS_WITH_TEXT[form]
    page, action = page.format(**vars(w)), action.format(**vars(w))
    client = browser_for(app, w, who)
    old_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get(page).get_data(as_text=True)).group(1)
    expired_csrf_tokens()
    before = dump()

    response = client.post(action, data={**data, "csrf_token": old_token})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.escape(CSRF_MESSAGE) in body
    for text in kept:
        assert html.escape(text, quote=False) in body
    assert dump() == before
    fresh_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    assert fresh_token != old_token
    again = client.post(action, data={**data, "csrf_token": fresh_token})
    assert again.status_code in (200, 303)
    assert dump() != before
