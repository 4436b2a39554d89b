"""The route inventory and what every route promises: who may call it, GETs that change nothing, headers,
extra form fields ignored, next= on this site."""

import re
from urllib.parse import unquote

import pytest

from failforward.coaching import access
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from failforward.web import safe_next
from tests.conftest import PASSWORD, make_test_app
from tests.security_world import (
    POSTS,
    WHAT_OTHERS_GET,
    WHO_MAY_CALL,
    build_full_world,
    build_world,
    contract_form,
    dump,
    path_for,
    rules,
    sign_in,
    url_values,
    user,
)


def test_every_endpoint_is_in_the_route_inventory(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - WHO_MAY_CALL.keys() == set(), "add these endpoints to WHO_MAY_CALL"
    assert WHO_MAY_CALL.keys() - endpoints == set(), "these endpoints are gone: remove them from WHO_MAY_CALL"
    assert set(WHO_MAY_CALL.values()) <= WHAT_OTHERS_GET.keys()


# The one who may call it, and the people who must get a 404, per kind.
RIGHTFUL = {"learner-or-coach": "learner", "learner-only": "learner", "coach-only": "coach",
            "learner-of-link": "learner", "operator": "operator"}
GET_404 = {"learner-or-coach": ("stranger",), "learner-only": ("stranger", "coach"),
           "coach-only": ("stranger", "learner"), "learner-of-link": ("stranger",),
           "operator": ("stranger", "learner", "coach")}


@pytest.mark.parametrize("endpoint", sorted(WHO_MAY_CALL))
def test_outsiders_get_what_the_inventory_says(app, endpoint):
    w = build_full_world()
    kind = WHO_MAY_CALL[endpoint]
    rules_here = [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]
    assert rules_here, f"{endpoint} is in WHO_MAY_CALL but not in the app"
    for rule in rules_here:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = path_for(app, rule, w)
            before = dump()

            def call(who: str | None, url: str = path, method: str = method):
                client = app.test_client()
                if who:
                    sign_in(client, getattr(w, who))
                data = POSTS[endpoint].data(w) if method == "POST" and endpoint in POSTS else None
                response = client.open(url, method=method, data=data)
                response.close()  # a static file answers with an open file
                return response

            if kind == "public":
                assert call(None).status_code < 500
                continue
            if kind == "link-holder":
                damaged = call(None, path.replace(url_values(endpoint, w)["token"], "damaged-token"))
                assert damaged.status_code == 400 and "damaged" in damaged.get_data(as_text=True)
                assert dump() == before
                continue

            response = call(None)
            assert response.status_code == 302 and response.location.startswith("/login?next="), method
            if kind == "signed-in-link-holder":
                damaged = call("stranger", path.replace(w.invite_token, "damaged-token"))
                assert damaged.status_code == 400 and "damaged" in damaged.get_data(as_text=True)
            for outsider in GET_404.get(kind, ()):
                assert call(outsider).status_code == 404, f"{method} as {outsider}"
            if kind == "learner-of-link":
                refused = call("coach")
                assert refused.status_code == 303
            assert dump() == before
            if method == "GET" and kind in RIGHTFUL:  # and the one it is for gets the page
                assert call(RIGHTFUL[kind]).status_code == 200
                assert dump() == before


# --- every GET, as every role, changes nothing ---------------------------------------------------

@pytest.mark.parametrize("role", [None, "learner", "coach", "stranger", "operator"])
def test_every_get_route_leaves_the_database_unchanged(app, role):
    w = build_full_world()
    browser, htmx = app.test_client(), app.test_client()
    if role:
        sign_in(browser, getattr(w, role))
        sign_in(htmx, getattr(w, role))
    before = dump()
    for rule in rules(app, "GET"):
        path = path_for(app, rule, w)
        for client, headers in ((browser, {}), (htmx, {"HX-Request": "true", "HX-Target": "main"})):
            response = client.get(path, headers=headers)
            assert response.status_code < 500, path
            response.close()
    assert dump() == before


# --- headers on every kind of response -----------------------------------------------------------

def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def assert_security_headers(response, signed_in: bool) -> None:
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    every_source = [source for sources in csp.values() for source in sources]
    assert "'unsafe-inline'" not in every_source and "'unsafe-eval'" not in every_source
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin-when-cross-origin")
    if signed_in:
        assert "no-store" in response.headers.get("Cache-Control", "")


def test_security_headers_on_pages_errors_and_htmx_answers(app, client, htmx_client):
    w = build_world()
    link = f"/coaching/links/{w.link}"
    anonymous = [client.get("/"), client.get("/login"), client.get("/no-such-page"), client.get("/logout"),
                 client.post("/login", data={"email": "x"}), client.get("/reset/damaged"),
                 htmx_client.get("/login"), htmx_client.post("/signup", data={})]
    statuses = [r.status_code for r in anonymous]
    assert statuses == [200, 200, 404, 405, 422, 400, 200, 422]
    for response in anonymous:
        assert_security_headers(response, signed_in=False)

    sign_in(client, w.coach)
    sign_in(htmx_client, w.coach)
    signed_in = [client.get("/coaching"), client.get(link), client.get("/coaching/links/999999"),
                 client.post(f"{link}/contract", data=contract_form(feedback_due_hours="0")),
                 htmx_client.get("/coaching"), htmx_client.get("/no-such-page"),
                 htmx_client.post("/settings", data={"name": ""}),
                 htmx_client.post("/coaching/invites", data={"email": ""}),
                 htmx_client.get("/ledger"), htmx_client.post("/reps", data={"value": "x"})]
    statuses = [r.status_code for r in signed_in]
    assert statuses == [200, 200, 404, 422, 200, 404, 422, 204, 200, 422]
    assert all("<!doctype" not in r.get_data(as_text=True) for r in signed_in[-2:])  # fragments, not pages
    for response in signed_in:
        assert_security_headers(response, signed_in=True)


def test_a_crash_shows_the_generic_page_with_every_header(tmp_path, smtp_server, inbox):
    app = make_test_app(tmp_path, smtp_server)

    def crash():
        raise RuntimeError("secret detail from deep inside")

    app.add_url_rule("/crash", "crash", crash)
    with app.app_context():
        response = app.test_client().get("/crash")
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Something went wrong on our side" in body
        assert "secret detail" not in body and "Traceback" not in body
        assert_security_headers(response, signed_in=False)
        db.drop_all()
        db.engine.dispose()


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    w = build_world()
    sign_in(client, w.learner)
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


# --- extra form fields are ignored ---------------------------------------------------------------

FORGED = {"user_id", "learner_id", "coach_id", "id", "link_id", "proposed_by_id", "accepted_at", "used_by_id"}


def forged(w, **data) -> dict:
    return {**{name: str(w.stranger) for name in FORGED}, **data}


def test_extra_fields_on_account_forms_are_ignored(app, client):
    w = build_world()
    sign_in(client, w.learner)
    settings = forged(w, name="Renamed", timezone="UTC", checkin_weekday="1", checkin_hour="8",
                      session_version="99", email="stolen@example.com", password_hash="x")
    assert client.post("/settings", data=settings).status_code == 303
    learner, stranger = user(w, "learner"), user(w, "stranger")
    assert (learner.name, learner.email, learner.session_version) == ("Renamed", "lee@example.com", 1)
    assert (stranger.name, stranger.email) == ("Sam Stranger", "sam@example.com")
    assert client.post("/settings/email", data=forged(w, email="moved@example.com",
                                                      current_password=PASSWORD)).status_code == 303
    [link] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.key.startswith("email-change:")))
    assert link.recipient == "moved@example.com"
    assert client.post(re.search(r"http://localhost(/\S+)", link.text_body).group(1)).status_code == 303
    assert (user(w, "learner").email, user(w, "stranger").email) == ("moved@example.com", "sam@example.com")


def test_extra_fields_on_coaching_forms_are_ignored(app, client):
    w = build_world()
    sign_in(client, w.coach)
    assert client.post("/coaching/invites", data=forged(w, email="")).status_code == 303
    assert {i.coach_id for i in db.session.scalars(db.select(Invite))} == {w.coach}

    assert client.post(f"/coaching/links/{w.link}/contract", data=forged(w, **contract_form())).status_code == 303
    proposed = db.session.scalar(db.select(Contract).filter_by(version=2))
    assert (proposed.link_id, proposed.proposed_by_id, proposed.accepted_at) == (w.link, w.coach, None)

    newcomer = app.test_client()
    sign_in(newcomer, w.newcomer)
    assert newcomer.post(f"/invite/{w.invite_token}", data=forged(w)).status_code == 303
    link = access.active_link(w.coach, w.newcomer)
    assert link is not None and access.active_link(w.coach, w.stranger) is None

    learner = app.test_client()
    sign_in(learner, w.learner)
    assert learner.post(f"/coaching/links/{w.link}/contract/accept", data=forged(w, version="2")).status_code == 303
    assert coaching.accepted_contract(db.session.get(CoachingLink, w.link)).version == 2


# --- next= stays on this site --------------------------------------------------------------------

HOSTILE_NEXT = ["//evil.example", "https://evil.example/x", "/\\evil.example", "\\\\evil.example",
                "javascript:alert(1)", "JavaScript:alert(1)", "http:evil.example", " //evil.example",
                "/\t/evil.example", "%2F%2Fevil.example", "data:text/html,hi", "evil.example", "/" + "a" * 3000]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_anything_but_a_local_path(target):
    assert safe_next(unquote(target) if target.startswith("%") else target, "/") == "/"
    assert safe_next("/coaching#invites", "/") == "/coaching#invites"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_with_a_hostile_next_lands_on_this_site(app, client, target):
    w = build_world()
    response = client.post("/login", query_string={"next": target},
                           data={"email": w.emails["learner"], "password": PASSWORD})
    assert response.status_code == 303 and response.location == "/"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:x",
                                    "/" + "a" * 3000])
def test_sign_up_with_a_hostile_next_lands_on_this_site(app, client, inbox, target):
    response = client.post("/signup", query_string={"next": target},
                           data={"name": "Nova", "email": "nova2@example.com", "password": "a long enough password",
                                 "timezone": "UTC"})
    assert response.status_code == 303
    body = inbox.body(inbox.last_to("nova2@example.com"))
    path = next(word for word in body.split() if word.startswith("http://localhost/")).removeprefix("http://localhost")
    finished = client.post(path)
    assert finished.status_code == 303
    assert finished.location.startswith("/") and not finished.location.startswith("//")
    assert "evil" not in finished.location
