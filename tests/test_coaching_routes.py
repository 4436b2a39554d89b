"""Coaching pages: invites, the learning contract, ending a link, and 404 for everyone else."""

import html
import re
import threading

import pytest
from flask.testing import FlaskClient

from failforward.accounts.services import start_session
from failforward.coaching import services
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.extensions import db
from tests.conftest import PASSWORD
from tests.factories import without_csrf_token


@pytest.fixture
def link(coach, learner):
    return services.accept_invite(services.invite_token(services.create_invite(coach, None)), learner)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def link_in_mail(inbox, address: str, prefix: str) -> str:
    """The path of the first link in the newest mail to `address` that starts with `prefix`."""
    body = inbox.body(inbox.last_to(address))
    url = next(word for word in body.split() if word.startswith(f"http://localhost{prefix}"))
    return url.removeprefix("http://localhost")


def contract_form(**changes) -> dict:
    return {**services.DEFAULT_CONTRACT, "feedback_due_hours": "24", **changes}


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


# --- pages --------------------------------------------------------------------------------------

def test_coaching_page_lists_learners_coaches_and_open_invites(client, login, coach, learner, link):
    services.create_invite(coach, "next@example.com")
    login(coach)
    page = client.get("/coaching")
    assert page.status_code == 200
    body = text_of(page)
    assert "Lee Learner" in body and "next@example.com" in body and "Create invite link" in body
    assert "No coach yet" in body


def test_link_page_shows_the_contract_to_both_sides(app, client, login, coach, learner, link):
    login(learner)
    page = client.get(f"/coaching/links/{link.id}")
    assert page.status_code == 200
    assert "Coached by Casey Coach" in text_of(page) and "I accept this contract" in text_of(page)
    assert re.search(r'<input[^>]*name="version"[^>]*type="hidden"[^>]*value="1"', text_of(page))

    coach_client = app.test_client()
    login(coach, coach_client)
    page = coach_client.get(f"/coaching/links/{link.id}")
    assert page.status_code == 200
    assert "Coaching Lee Learner" in text_of(page) and "Waiting for Lee Learner to accept" in text_of(page)
    assert "I accept this contract" not in text_of(page)
    for sub_page in ("contract/edit", "end"):
        assert coach_client.get(f"/coaching/links/{link.id}/{sub_page}").status_code == 200


def test_learner_accepts_the_contract_and_the_coach_sees_it(app, client, login, coach, learner, link):
    login(learner)
    response = client.post(f"/coaching/links/{link.id}/contract/accept", data={"version": "1"})
    assert response.status_code == 303 and response.location == "/"  # on to the practice, not a dead end
    home = text_of(client.get(response.location))
    assert "Contract accepted" in home and "Set your first goal" in home
    assert "Back to your practice" in text_of(client.get(f"/coaching/links/{link.id}"))
    coach_client = app.test_client()
    login(coach, coach_client)
    assert "Accepted by Lee Learner" in text_of(coach_client.get(f"/coaching/links/{link.id}"))


def test_accepting_an_outdated_version_says_so_and_accepts_nothing(client, login, coach, learner, link):
    services.propose_contract(coach, link, {**services.DEFAULT_CONTRACT, "feedback_due_hours": 12})
    login(learner)
    response = client.post(f"/coaching/links/{link.id}/contract/accept", data={"version": "1"}, follow_redirects=True)
    assert "changed while you were reading" in text_of(response)
    assert services.accepted_contract(link) is None


@pytest.mark.parametrize("version", ["", "two", "²", "9" * 5000, "-1", "1.0"])
def test_accepting_with_a_broken_version_accepts_nothing(client, login, learner, link, version):
    login(learner)
    response = client.post(f"/coaching/links/{link.id}/contract/accept", data={"version": version})
    assert response.status_code == 303
    assert services.accepted_contract(link) is None


def test_coach_proposes_a_change_and_the_learner_must_accept_again(client, login, coach, learner, link):
    services.accept_contract(learner, link, 1)
    login(coach)
    edit = client.get(f"/coaching/links/{link.id}/contract/edit")
    assert services.DEFAULT_CONTRACT["near_miss"] in text_of(edit)  # the form starts from the current terms
    response = client.post(f"/coaching/links/{link.id}/contract",
                           data=contract_form(feedback_due_hours="48", commitments="We answer within two days."))
    assert response.status_code == 303
    page = text_of(client.get(response.location))
    assert "version 2" in page and "We answer within two days." in page
    assert "Version 1 stays in force" in page
    assert services.feedback_due_hours(link) == 24


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"experiment": ""}, "Write a definition."),
        ({"experiment": "x" * 10_000}, "2000"),
        ({"commitments": "   "}, "Write the commitments"),
        ({"feedback_due_hours": "twelve"}, "Enter a whole number, like 4."),
        ({"feedback_due_hours": "0"}, "between 1 hour and 336 hours"),
        ({"feedback_due_hours": "9999"}, "between 1 hour and 336 hours"),
        ({"feedback_due_hours": ""}, "Enter a number of hours."),
        ({"review_thresholds": "a\x00b"}, "control characters"),
    ],
)
def test_bad_contract_input_is_422_with_every_text_kept(client, login, coach, link, changes, message):
    login(coach)
    data = contract_form(failure="Our own word for failure, «kept» ✓", **changes)
    response = client.post(f"/coaching/links/{link.id}/contract", data=data)
    body = text_of(response)
    assert response.status_code == 422
    assert message in body
    assert 'aria-invalid="true"' in body
    assert html.escape("Our own word for failure, «kept» ✓") in body
    for name, value in changes.items():
        if name == "feedback_due_hours":
            assert f'value="{value}"' in body
        elif value.strip():
            assert html.escape(value) in body
    assert count(Contract) == 1


def test_ending_a_link_asks_first_then_the_coach_loses_access(app, client, login, coach, learner, link):
    login(learner)
    assert "End the link" in text_of(client.get(f"/coaching/links/{link.id}/end"))
    response = client.post(f"/coaching/links/{link.id}/end")
    assert response.status_code == 303 and response.location == "/coaching"
    assert "The coaching link is ended" in text_of(client.get("/coaching"))
    coach_client = app.test_client()
    login(coach, coach_client)
    assert "Lee Learner" not in text_of(coach_client.get("/coaching"))
    page = coach_client.get(f"/coaching/links/{link.id}")
    assert page.status_code == 200 and "This link ended on" in text_of(page)
    assert coach_client.get(f"/coaching/links/{link.id}/contract/edit").status_code == 404
    assert coach_client.post(f"/coaching/links/{link.id}/contract", data=contract_form()).status_code == 404


def test_invite_created_through_the_form_is_listed_and_emailed(client, login, coach, inbox):
    login(coach)
    response = client.post("/coaching/invites", data={"email": "New.Person@Example.com"})
    assert response.status_code == 303 and response.location == "/coaching#invites"
    page = text_of(client.get("/coaching"))
    assert "Invite emailed to new.person@example.com" in page
    mailed = link_in_mail(inbox, "new.person@example.com", "/invite/").rsplit("/", 1)[1]
    shown = re.search(r'value="http://localhost/invite/([^"]+)"', page).group(1)
    assert services.invite_from_token(shown).id == services.invite_from_token(mailed).id  # signed a moment apart


def test_invite_created_through_htmx_redirects_the_page(htmx_client, login, coach):
    login(coach, htmx_client)
    response = htmx_client.post("/coaching/invites", data={"email": ""})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/coaching#invites"
    assert count(Invite) == 1


def test_a_bad_invite_address_is_422_with_the_text_kept(client, login, coach):
    login(coach)
    response = client.post("/coaching/invites", data={"email": "not an address"})
    assert response.status_code == 422
    assert 'value="not an address"' in text_of(response) and "Enter an email address" in text_of(response)
    assert count(Invite) == 0


def test_withdrawing_an_invite_stops_its_link(client, login, coach):
    invite = services.create_invite(coach, None)
    path = f"/invite/{services.invite_token(invite)}"
    login(coach)
    response = client.post(f"/coaching/invites/{invite.id}/withdraw")
    assert response.status_code == 303
    refused = client.get(path)
    assert refused.status_code == 400 and "withdrawn" in text_of(refused)


# --- another person's link is 404 --------------------------------------------------------------

LINK_GETS = ("", "/contract/edit", "/end")
LINK_POSTS = ("/contract/accept", "/contract", "/end")


def test_another_person_gets_404_on_a_link_and_its_sub_pages(client, login, make_user, link):
    login(make_user())
    for suffix in LINK_GETS:
        response = client.get(f"/coaching/links/{link.id}{suffix}")
        assert response.status_code == 404, suffix
        assert "Lee Learner" not in text_of(response) and "Casey Coach" not in text_of(response)
    for suffix in LINK_POSTS:
        assert client.post(f"/coaching/links/{link.id}{suffix}", data=contract_form(version="1")).status_code == 404
    assert link.active and services.current_contract(link).accepted_at is None
    assert count(Contract) == 1


def test_a_missing_link_and_a_foreign_link_look_the_same(client, login, make_user, link):
    login(make_user())
    foreign = client.get(f"/coaching/links/{link.id}")
    missing = client.get("/coaching/links/999999")
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf_token(text_of(foreign)) == without_csrf_token(text_of(missing))


def test_the_learner_cannot_open_the_coachs_contract_form(client, login, learner, link):
    login(learner)
    assert client.get(f"/coaching/links/{link.id}/contract/edit").status_code == 404
    assert client.post(f"/coaching/links/{link.id}/contract", data=contract_form()).status_code == 404
    assert count(Contract) == 1


def test_another_coach_cannot_withdraw_an_invite(client, login, coach, make_user):
    invite = services.create_invite(coach, None)
    login(make_user())
    assert client.post(f"/coaching/invites/{invite.id}/withdraw").status_code == 404
    assert db.session.get(Invite, invite.id) is not None


# --- opening an invite --------------------------------------------------------------------------

def dump_coaching() -> list:
    db.session.expire_all()
    return [(i.id, i.used_at, i.used_by_id) for i in db.session.scalars(db.select(Invite))] + [
        (c.id, c.ended_at) for c in db.session.scalars(db.select(CoachingLink))]


def test_opening_an_invite_changes_nothing(app, client, login, coach, learner):
    token = services.invite_token(services.create_invite(coach, None))
    before = dump_coaching()
    assert client.get(f"/invite/{token}").status_code == 200  # a mail scanner, or a visitor
    login(learner)
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200 and "Accept Casey Coach as my coach" in text_of(page)
    assert client.get(f"/invite/{token}").status_code == 200
    assert dump_coaching() == before


def test_the_invite_page_offers_sign_up_and_sign_in_that_come_back_to_it(client, coach):
    token = services.invite_token(services.create_invite(coach, None))
    page = text_of(client.get(f"/invite/{token}"))
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    assert f"/signup?next=/invite/{token}" in hrefs
    assert f"/login?next=/invite/{token}" in hrefs
    assert "Accept" not in page
    header = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page.split("</header>")[0])]
    assert f"/signup?next=/invite/{token}" in header and f"/login?next=/invite/{token}" in header
    # and on from there: the sign-up page's header still carries the invite
    signup = text_of(client.get(f"/signup?next=/invite/{token}")).split("</header>")[0]
    assert f"/login?next=/invite/{token}" in [html.unescape(h) for h in re.findall(r'href="([^"]+)"', signup)]
    assert 'href="/signup"' in text_of(client.get("/login"))  # elsewhere, plain links


def test_signing_in_from_the_invite_page_comes_back_to_it(client, coach, learner):
    token = services.invite_token(services.create_invite(coach, None))
    login_page = text_of(client.get(f"/login?next=/invite/{token}"))
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', login_page).group(1))
    response = client.post(action, data={"email": learner.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location == f"/invite/{token}"


def test_the_invite_page_tells_a_signed_in_person_why_they_cannot_accept(client, login, coach):
    token = services.invite_token(services.create_invite(coach, None))
    login(coach)
    page = text_of(client.get(f"/invite/{token}"))
    assert "This is your own invite" in page and "Accept Casey Coach" not in page
    response = client.post(f"/invite/{token}", follow_redirects=True)
    assert "This is your own invite" in text_of(response)
    assert count(CoachingLink) == 0


def test_a_used_or_broken_invite_link_is_refused_with_a_reason(client, login, coach, learner, make_user):
    token = services.invite_token(services.create_invite(coach, None))
    login(learner)
    assert client.post(f"/invite/{token}").status_code == 303
    login(make_user())
    for path, reason in ((f"/invite/{token}", "used already"), ("/invite/garbage", "damaged")):
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 400 and reason in text_of(response)
    assert count(CoachingLink) == 1


@pytest.mark.parametrize("second", ["another person", "a double tap"])
def test_one_invite_accepted_twice_at_the_same_moment_makes_one_link(app, coach, learner, make_user, second):
    """Two requests race (two people, or one person's double tap): one link, the other is told it was used."""
    token = services.invite_token(services.create_invite(coach, None))
    people = [learner, make_user() if second == "another person" else learner]
    browsers = []
    for person in people:
        browser = FlaskClient(app, app.response_class, use_cookies=True)  # each request gets its own context
        start_session(person)
        with browser.session_transaction() as session:
            session["_user_id"] = person.get_id()
        browsers.append(browser)
    db.session.commit()  # nothing of this test may hold the database while the two requests race
    start, answers = threading.Barrier(len(browsers)), []

    def accept(browser) -> None:
        start.wait()
        answers.append(browser.post(f"/invite/{token}"))

    threads = [threading.Thread(target=accept, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [303, 400]
    assert "used already" in next(text_of(a) for a in answers if a.status_code == 400)
    assert count(CoachingLink) == 1


def test_accepting_an_invite_needs_sign_in(client, coach):
    token = services.invite_token(services.create_invite(coach, None))
    response = client.post(f"/invite/{token}")
    assert response.status_code == 302 and "/login" in response.location
    assert count(CoachingLink) == 0


# --- the whole flow, with a browser for each person ----------------------------------------------

def test_coach_invites_a_new_learner_who_signs_up_accepts_and_both_see_each_other(app, client, inbox, coach):
    coach_browser = client
    learner_browser = app.test_client()

    assert coach_browser.post("/login", data={"email": coach.email, "password": PASSWORD}).status_code == 303
    assert coach_browser.post("/coaching/invites", data={"email": "robin@example.com"}).status_code == 303
    invite_path = link_in_mail(inbox, "robin@example.com", "/invite/")

    invite_page = text_of(learner_browser.get(invite_path))
    assert "Casey Coach invites you" in invite_page
    sign_up_href = html.unescape(re.search(r'href="(/signup\?next=[^"]+)"', invite_page).group(1))
    sign_up_page = text_of(learner_browser.get(sign_up_href))
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', sign_up_page).group(1))
    sent = learner_browser.post(action, data={"name": "Robin Rookie", "email": "robin@example.com",
                                              "password": "a long enough password", "timezone": "Europe/Oslo"})
    assert sent.status_code == 303
    finish_path = link_in_mail(inbox, "robin@example.com", "/signup/finish/")
    assert "Create my account" in text_of(learner_browser.get(finish_path))
    created = learner_browser.post(finish_path)
    assert created.status_code == 303 and created.location == invite_path

    accepted = learner_browser.post(invite_path)
    assert accepted.status_code == 303
    link_page = learner_browser.get(accepted.location)
    assert "Casey Coach is now your coach" in text_of(link_page)
    assert learner_browser.post(f"{accepted.location}/contract/accept", data={"version": "1"}).status_code == 303

    learner_view = text_of(learner_browser.get("/coaching"))
    coach_view = text_of(coach_browser.get("/coaching"))
    assert re.search(r"Your coaches</h2>\s*<ul.*?Casey Coach", learner_view, re.S)
    assert re.search(r"Your learners</h2>\s*<ul.*?Robin Rookie", coach_view, re.S)
    assert "Accepted by Robin Rookie" in text_of(coach_browser.get(accepted.location))
    assert "Anyone with the link" not in coach_view and "robin@example.com ·" not in coach_view


# --- fields are described to screen readers correctly ---------------------------------------------

def assert_fields_described_correctly(page: str) -> None:
    """aria-describedby names elements on the page; aria-invalid appears only as "true", beside an error."""
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    for described in re.findall(r'aria-describedby="([^"]*)"', page):
        assert described.split() and set(described.split()) <= ids, described
    assert set(re.findall(r'aria-invalid="([^"]*)"', page)) <= {"true"}
    for field_id in re.findall(r'<(?:input|textarea|select)[^>]*aria-invalid="true"[^>]*\bid="([^"]+)"', page):
        assert f'id="{field_id}-error"' in page


def test_form_fields_are_described_correctly_with_and_without_errors(app, client, login, coach, link):
    pages = [client.get("/signup"), client.post("/signup", data={"name": "", "email": "x"})]
    login(coach)
    bad_contract = contract_form(experiment="", feedback_due_hours="0")
    pages += [client.get("/settings"), client.get("/coaching"), client.get(f"/coaching/links/{link.id}/contract/edit"),
              client.post(f"/coaching/links/{link.id}/contract", data=bad_contract)]
    assert [page.status_code for page in pages] == [200, 422, 200, 200, 200, 422]
    for page in pages:
        assert_fields_described_correctly(text_of(page))
    assert text_of(pages[-1]).count('aria-invalid="true"') == 2
