"""The promises of TRUST.md that every route keeps: who may call it, CSRF, headers, safe GETs, sessions."""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from itsdangerous.timed import TimestampSigner

from failforward.accounts import services as accounts
from failforward.accounts.models import PendingSignup, User
from failforward.accounts.passwords import verify_password
from failforward.accounts.services import start_session
from failforward.coaching import access
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.extensions import db
from failforward.forms import CSRF_MESSAGE
from failforward.mail.models import OutboxMessage
from failforward.signing import sign
from failforward.web import safe_next
from tests import setback_world
from tests.conftest import PASSWORD, PASSWORD_HASH, FreshRequestClient, make_test_app

NEW_PASSWORD = "a brand new passphrase"

# --- the route inventory ------------------------------------------------------------------------

# Who may call each endpoint. Every endpoint in app.url_map must be here; what everyone else gets
# is fixed per kind in WHAT_OTHERS_GET and checked by test_outsiders_get_what_the_inventory_says.
WHO_MAY_CALL = {
    "static": "public",
    "home.index": "public",
    # accounts
    "accounts.new": "public",
    "accounts.create": "public",
    "accounts.sign_up_sent": "public",
    "accounts.confirm_sign_up": "link-holder",
    "accounts.finish_sign_up": "link-holder",
    "accounts.login": "public",
    "accounts.authenticate": "public",
    "accounts.logout": "public",
    "accounts.logout_everywhere": "signed-in",
    "accounts.reset_request": "public",
    "accounts.send_reset": "public",
    "accounts.reset": "link-holder",
    "accounts.update_password_from_link": "link-holder",
    "accounts.settings": "signed-in",
    "accounts.update_settings": "signed-in",
    "accounts.edit_password": "signed-in",
    "accounts.update_password": "signed-in",
    "accounts.edit_email": "signed-in",
    "accounts.update_email": "signed-in",
    "accounts.confirm_email_change": "link-holder",
    "accounts.finish_email_change": "link-holder",
    "accounts.confirm_delete": "signed-in",
    "accounts.delete": "signed-in",
    "accounts.confirm_unsubscribe": "link-holder",
    "accounts.unsubscribe": "link-holder",
    # coaching
    "coaching.index": "signed-in",
    "coaching.create_invite": "signed-in",
    "coaching.withdraw_invite": "coach-only",
    "coaching.show_invite": "link-holder",
    "coaching.accept_invite": "signed-in-link-holder",
    "coaching.show": "learner-or-coach",
    "coaching.accept_contract": "learner-of-link",
    "coaching.edit_contract": "coach-only",
    "coaching.update_contract": "coach-only",
    "coaching.confirm_end": "learner-or-coach",
    "coaching.end": "learner-or-coach",
    # goals and drills
    "goals.new": "signed-in",
    "goals.create": "signed-in",
    "goals.edit": "learner-only",
    "goals.update": "learner-only",
    "goals.update_status": "learner-only",
    "goals.new_drill": "learner-only",
    "goals.create_drill": "learner-only",
    "goals.copy_drill": "learner-only",
    "goals.edit_drill": "learner-only",
    "goals.update_drill": "learner-only",
    "goals.archive_drill": "learner-only",
    "goals.restore_drill": "learner-only",
    # the ledger
    "ledger.new": "signed-in",
    "ledger.create": "signed-in",
    "ledger.edit": "learner-only",
    "ledger.update": "learner-only",
    "ledger.confirm_delete": "learner-only",
    "ledger.delete": "learner-only",
    "ledger.index": "signed-in",
    "ledger.goals_index": "signed-in",
    "ledger.goal": "learner-or-coach",
    "ledger.learner_goals": "learner-or-coach",
    # feedback
    "feedback.new": "learner-only",
    "feedback.create": "learner-only",
    "feedback.index": "signed-in",
    "feedback.show": "learner-or-coach",
    "feedback.queue": "signed-in",
    "feedback.answer": "coach-only",
    "feedback.follow_up": "learner-only",
    "feedback.rate": "learner-only",
    # weekly check-ins
    "checkins.answer_from_link": "link-holder",
    "checkins.save_from_link": "link-holder",
    "checkins.index": "signed-in",
    "checkins.of_learner": "learner-or-coach",
    "checkins.edit": "learner-only",
    "checkins.update": "learner-only",
    # study reviews
    "study.index": "signed-in",
    "study.update_settings": "signed-in",
    "study.session": "signed-in",
    "study.learner": "learner-or-coach",
    "study.new_deck": "learner-or-coach",
    "study.create_deck": "learner-or-coach",
    "study.show_deck": "learner-or-coach",
    "study.new_item": "learner-or-coach",
    "study.create_item": "learner-or-coach",
    "study.edit_item": "learner-or-coach",
    "study.update_item": "learner-or-coach",
    "study.new_import": "learner-or-coach",
    "study.preview_import": "learner-or-coach",
    "study.confirm_import": "learner-or-coach",
    "study.export": "learner-or-coach",
    "study.answer": "learner-only",
    "study.rate": "learner-only",
    "study.share_leech": "learner-only",
    "study.stats": "learner-or-coach",
    # operators
    "ops.outbox": "operator",
    "ops.retry": "operator",
}
WHO_MAY_CALL.update(setback_world.WHO_MAY_CALL)

WHAT_OTHERS_GET = {
    "public": "nobody is an outsider; no input gives a 5xx",
    "link-holder": "a damaged link: 400 with the reason",
    "signed-in": "a visitor: a redirect to sign in",
    "signed-in-link-holder": "a visitor: a redirect to sign in; a damaged link: 400",
    "learner-or-coach": "a visitor: sign in; anyone but the learner and their active coach: 404",
    "learner-only": "a visitor: sign in; anyone but the learner, their coach too: 404",
    "coach-only": "a visitor: sign in; anyone but the coach, the learner too: 404",
    "learner-of-link": "a visitor: sign in; a stranger: 404; the coach: refused, nothing changes",
    "operator": "a visitor: sign in; any account without an operator grant (whatever its address): 404",
}

# POSTs that take no CSRF token, and why.
CSRF_EXEMPT = {
    "accounts.unsubscribe": "RFC 8058 one-click: the mail provider posts without our token; the signed link acts",
}


def build_world() -> SimpleNamespace:
    """A coach linked to a learner, a stranger, a newcomer with an open invite, and live signed links."""

    def person(name: str, email: str) -> User:
        user = User(name=name, email=email, password_hash=PASSWORD_HASH)
        db.session.add(user)
        return user

    coach, learner = person("Casey Coach", "casey@example.com"), person("Lee Learner", "lee@example.com")
    stranger, newcomer = person("Sam Stranger", "sam@example.com"), person("Nico Newcomer", "nico@example.com")
    operator = person("Olive Operator", "ops@example.com")
    db.session.commit()
    link = coaching.accept_invite(coaching.invite_token(coaching.create_invite(coach, None)), learner)
    invite = coaching.create_invite(coach, None)
    nonce = "pending-sign-up"
    db.session.add(PendingSignup(nonce=nonce, email="nova@example.com", name="Nova", password_hash=PASSWORD_HASH,
                                 timezone="UTC"))
    db.session.commit()
    return SimpleNamespace(
        coach=coach.id, learner=learner.id, stranger=stranger.id, newcomer=newcomer.id, operator=operator.id,
        emails={"coach": coach.email, "learner": learner.email, "stranger": stranger.email,
                "newcomer": newcomer.email},
        link=link.id, invite=invite.id,
        invite_token=coaching.invite_token(invite),
        signup_token=sign("sign-up", {"n": nonce}),
        reset_token=accounts.password_reset_token(learner, "reset-nonce"),
        email_change_token=accounts.email_change_token(learner, "moved@example.com", "email-change-nonce"),
    )


def build_full_world() -> SimpleNamespace:
    """The world, plus the learner's goals, drills, reps, a feedback request, a check-in and failed mail."""
    from datetime import date

    from failforward.checkins import services as checkins
    from failforward.checkins.models import WeeklyCheckin
    from failforward.feedback import services as feedback
    from failforward.goals import services as goals
    from failforward.mail.models import FAILED, OutboxMessage
    from failforward.mail.services import queue_mail
    from failforward.study import answering
    from failforward.study import services as study
    from tests import factories

    w = build_world()
    learner = db.session.get(User, w.learner)
    deck = study.create_deck(learner, learner, "Capitals", "")
    item = study.create_item(learner, deck, {"prompt": "Capital of France?", "answer": "Paris"})
    for _ in range(4):  # a leech
        answering.rate(learner, answering.answer(learner, item, "Lyon", 4), 1, "related", "")
    peru = study.create_item(learner, deck, {"prompt": "Peru?", "answer": "Lima"})
    review = answering.answer(learner, peru, "Lima", 3)
    goal, other_goal = factories.make_goal(learner), factories.make_goal(learner, title="Write every day")
    drill, archived_drill = factories.make_drill(goal), factories.make_drill(goal, name="Old drill")
    goals.set_archived(archived_drill, True)
    rep, spare_rep = factories.log(learner, drill, 7.0), factories.log(learner, drill, 6.0)
    request = feedback.ask(learner, rep, "Was my triage order right?")
    feedback.answer(db.session.get(User, w.coach), request, "Triage first, then fix.")
    checkin = WeeklyCheckin(user_id=learner.id, iso_week="2026-W10", reviewed_week=date(2026, 3, 2))
    db.session.add(checkin)
    message = db.session.get(OutboxMessage, queue_mail("security-test", "someone@example.com", "A message", "Body"))
    db.session.commit()
    message.status = FAILED
    db.session.commit()
    accounts.grant_operator("ops@example.com")
    w.__dict__.update(
        goal=goal.id, other_goal=other_goal.id, drill=drill.id, archived_drill=archived_drill.id, rep=rep.id,
        spare_rep=spare_rep.id, request=request.id, deck=deck.id, item=item.id, review=review.id,
        checkin=checkin.id, message=message.id,
        checkin_token=checkins.answer_token(checkin),
        unsubscribe_token=accounts.unsubscribe_token(learner, "weekly-checkin"),
    )
    setback_world.add_to_world(w)
    return w


def url_values(endpoint: str, w: SimpleNamespace) -> dict:
    """Values for a rule's arguments: a real object of the learner's, or a live signed token."""
    tokens = {"accounts.confirm_sign_up": "signup_token", "accounts.finish_sign_up": "signup_token",
              "accounts.reset": "reset_token", "accounts.update_password_from_link": "reset_token",
              "accounts.confirm_email_change": "email_change_token",
              "accounts.finish_email_change": "email_change_token",
              "coaching.show_invite": "invite_token", "coaching.accept_invite": "invite_token",
              "accounts.confirm_unsubscribe": "unsubscribe_token", "accounts.unsubscribe": "unsubscribe_token",
              "checkins.answer_from_link": "checkin_token", "checkins.save_from_link": "checkin_token"}
    ids = {"link_id": "link", "invite_id": "invite", "goal_id": "goal", "drill_id": "drill", "rep_id": "rep",
           "request_id": "request", "checkin_id": "checkin", "learner_id": "learner", "message_id": "message",
           "deck_id": "deck", "item_id": "item", "review_id": "review",
           **setback_world.IDS}
    values = {argument: getattr(w, name) for argument, name in ids.items() if hasattr(w, name)}
    values["filename"] = "app.css"
    if endpoint in tokens and hasattr(w, tokens[endpoint]):
        values["token"] = getattr(w, tokens[endpoint])
    return values


def path_for(app, rule, w: SimpleNamespace, **override) -> str:
    values = {name: value for name, value in url_values(rule.endpoint, w).items() if name in rule.arguments}
    missing = rule.arguments - values.keys()
    assert not missing, f"url_values() has no value for {missing} of {rule.endpoint}"
    return app.url_map.bind("localhost").build(rule.endpoint, {**values, **override})


def rules(app, method: str) -> list:
    return [rule for rule in app.url_map.iter_rules() if method in rule.methods]


def dump() -> dict:
    """Every row of every table, to compare before and after (less the signed-in sessions, which
    signing a test browser in writes on purpose)."""
    db.session.expire_all()
    return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
            for table in db.metadata.sorted_tables if table.name != "user_session"}


def signed_in_as(client) -> str | None:
    """The name in the page footer, or None when the browser is signed out."""
    found = re.search(r"Signed in as (.*?)</span>", client.get("/").get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


def csrf_token_of(client, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def sign_in(client, user_id: int) -> None:
    """Put the person's login id in the browser's session, as signing in does (without argon2's wait)."""
    user = db.session.get(User, user_id)
    start_session(user)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


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


# --- CSRF ---------------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(tmp_path, smtp_server, inbox):
    """The app with CSRF checks on, as in production."""
    app = make_test_app(tmp_path, smtp_server, WTF_CSRF_ENABLED=True)
    app.test_client_class = FreshRequestClient
    with app.app_context():
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def contract_form(**changes) -> dict:
    return {**coaching.DEFAULT_CONTRACT, "feedback_due_hours": "24", **changes}


def user(w, who: str) -> User | None:
    db.session.expire_all()
    return db.session.get(User, getattr(w, who))


@dataclass(frozen=True)
class Post:
    """One POST endpoint: who sends it, where, what, and how to tell that it took effect."""

    who: str | None
    path: Callable[[SimpleNamespace], str]
    data: Callable[[SimpleNamespace], dict]
    happened: Callable[[SimpleNamespace, FreshRequestClient], bool]


POSTS = {
    "accounts.create": Post(
        None, lambda w: "/signup",
        lambda w: {"name": "Fresh", "email": "fresh@example.com", "password": "a long enough password",
                   "timezone": "UTC"},
        lambda w, c: db.session.scalar(db.select(PendingSignup).filter_by(email="fresh@example.com")) is not None),
    "accounts.finish_sign_up": Post(
        None, lambda w: f"/signup/finish/{w.signup_token}", lambda w: {},
        lambda w, c: accounts.user_by_email("nova@example.com") is not None),
    "accounts.authenticate": Post(
        None, lambda w: "/login", lambda w: {"email": w.emails["learner"], "password": PASSWORD},
        lambda w, c: signed_in_as(c) == "Lee Learner"),
    "accounts.logout": Post(
        "learner", lambda w: "/logout", lambda w: {}, lambda w, c: signed_in_as(c) is None),
    "accounts.logout_everywhere": Post(
        "learner", lambda w: "/logout-everywhere", lambda w: {}, lambda w, c: user(w, "learner").session_version == 2),
    "accounts.send_reset": Post(
        None, lambda w: "/reset", lambda w: {"email": w.emails["learner"]},
        lambda w, c: db.session.scalar(db.select(OutboxMessage).where(
            OutboxMessage.key.startswith("password-reset:"))) is not None),
    "accounts.update_password_from_link": Post(
        None, lambda w: f"/reset/{w.reset_token}", lambda w: {"password": NEW_PASSWORD},
        lambda w, c: verify_password(user(w, "learner").password_hash, NEW_PASSWORD)),
    "accounts.update_settings": Post(
        "learner", lambda w: "/settings",
        lambda w: {"name": "Renamed", "timezone": "Asia/Tokyo", "checkin_weekday": "2", "checkin_hour": "9"},
        lambda w, c: user(w, "learner").name == "Renamed"),
    "accounts.update_password": Post(
        "learner", lambda w: "/settings/password", lambda w: {"current_password": PASSWORD, "password": NEW_PASSWORD},
        lambda w, c: verify_password(user(w, "learner").password_hash, NEW_PASSWORD)),
    "accounts.update_email": Post(
        "learner", lambda w: "/settings/email",
        lambda w: {"email": "moved@example.com", "current_password": PASSWORD},
        lambda w, c: db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.key.startswith("email-change:"),
                                                                      OutboxMessage.recipient == "moved@example.com"))
        is not None),
    "accounts.finish_email_change": Post(
        None, lambda w: f"/email/confirm/{w.email_change_token}", lambda w: {},
        lambda w, c: user(w, "learner").email == "moved@example.com"),
    "accounts.delete": Post(
        "learner", lambda w: "/account/delete", lambda w: {"current_password": PASSWORD},
        lambda w, c: user(w, "learner") is None),
    "coaching.create_invite": Post(
        "coach", lambda w: "/coaching/invites", lambda w: {"email": "next@example.com"},
        lambda w, c: db.session.scalar(db.select(Invite).filter_by(email="next@example.com")) is not None),
    "coaching.withdraw_invite": Post(
        "coach", lambda w: f"/coaching/invites/{w.invite}/withdraw", lambda w: {},
        lambda w, c: db.session.get(Invite, w.invite) is None),
    "coaching.accept_invite": Post(
        "newcomer", lambda w: f"/invite/{w.invite_token}", lambda w: {},
        lambda w, c: access.active_link(w.coach, w.newcomer) is not None),
    "coaching.accept_contract": Post(
        "learner", lambda w: f"/coaching/links/{w.link}/contract/accept", lambda w: {"version": "1"},
        lambda w, c: coaching.accepted_contract(db.session.get(CoachingLink, w.link)) is not None),
    "coaching.update_contract": Post(
        "coach", lambda w: f"/coaching/links/{w.link}/contract", lambda w: contract_form(feedback_due_hours="12"),
        lambda w, c: db.session.scalar(db.select(Contract).filter_by(version=2)) is not None),
    "coaching.end": Post(
        "learner", lambda w: f"/coaching/links/{w.link}/end", lambda w: {},
        lambda w, c: not db.session.get(CoachingLink, w.link).active),
}


def fresh(model, row_id: int):
    db.session.expire_all()
    return db.session.get(model, row_id)


def domain_models():
    from failforward.checkins.models import WeeklyCheckin
    from failforward.feedback.models import FeedbackMessage, FeedbackRequest
    from failforward.goals.models import Drill, Goal
    from failforward.ledger.models import Rep
    from failforward.study.models import Deck, StudyItem, StudyReview, StudySettings

    return SimpleNamespace(WeeklyCheckin=WeeklyCheckin, FeedbackMessage=FeedbackMessage,
                           FeedbackRequest=FeedbackRequest, Drill=Drill, Goal=Goal, Rep=Rep, Deck=Deck,
                           StudyItem=StudyItem, StudyReview=StudyReview, StudySettings=StudySettings)


def exists(model_name: str, **where) -> bool:
    db.session.expire_all()
    return db.session.scalar(db.select(getattr(domain_models(), model_name)).filter_by(**where).limit(1)) is not None


GOAL_FORM = {"title": "Answer pages faster", "bottleneck": "First response takes too long", "metric_name": "time",
             "unit": "min", "direction": "lower", "baseline": "10", "target": "5", "aggregation": "median",
             "weeks_required": "2"}
DRILL_FORM = {"name": "Pager drill", "practises": "Triage", "feedback_source": "coach", "planned_reps_per_week": "5"}
CHECKIN_FORM = {"went_well": "Practised every day", "failed": "Missed Friday", "try_next": "Shorter reps"}

POSTS.update({
    "goals.create": Post(
        "learner", lambda w: "/goals", lambda w: {**GOAL_FORM, "title": "A goal from this test"},
        lambda w, c: exists("Goal", title="A goal from this test")),
    "goals.update": Post(
        "learner", lambda w: f"/goals/{w.goal}", lambda w: {**GOAL_FORM, "title": "Renamed goal"},
        lambda w, c: fresh(domain_models().Goal, w.goal).title == "Renamed goal"),
    "goals.update_status": Post(
        "learner", lambda w: f"/goals/{w.goal}/status", lambda w: {"status": "paused"},
        lambda w, c: fresh(domain_models().Goal, w.goal).status == "paused"),
    "goals.create_drill": Post(
        "learner", lambda w: f"/goals/{w.goal}/drills", lambda w: {**DRILL_FORM, "name": "A drill from this test"},
        lambda w, c: exists("Drill", name="A drill from this test")),
    "goals.copy_drill": Post(
        "learner", lambda w: f"/goals/{w.other_goal}/drills/copy", lambda w: {"drill_id": str(w.drill)},
        lambda w, c: exists("Drill", goal_id=w.other_goal)),
    "goals.update_drill": Post(
        "learner", lambda w: f"/drills/{w.drill}", lambda w: {**DRILL_FORM, "name": "Renamed drill"},
        lambda w, c: fresh(domain_models().Drill, w.drill).name == "Renamed drill"),
    "goals.archive_drill": Post(
        "learner", lambda w: f"/drills/{w.drill}/archive", lambda w: {},
        lambda w, c: fresh(domain_models().Drill, w.drill).archived_at is not None),
    "goals.restore_drill": Post(
        "learner", lambda w: f"/drills/{w.archived_drill}/restore", lambda w: {},
        lambda w, c: fresh(domain_models().Drill, w.archived_drill).archived_at is None),
    "ledger.create": Post(
        "learner", lambda w: "/reps",
        lambda w: {"drill_id": str(w.drill), "value": "4", "idempotency_key": "key-from-this-test"},
        lambda w, c: exists("Rep", idempotency_key="key-from-this-test")),
    "ledger.update": Post(
        "learner", lambda w: f"/reps/{w.spare_rep}",
        lambda w: {"drill_id": str(w.drill), "value": "3.5", "idempotency_key": "key-from-this-test"},
        lambda w, c: fresh(domain_models().Rep, w.spare_rep).value == 3.5),
    "ledger.delete": Post(
        "learner", lambda w: f"/reps/{w.spare_rep}/delete", lambda w: {},
        lambda w, c: fresh(domain_models().Rep, w.spare_rep) is None),
    "feedback.create": Post(
        "learner", lambda w: f"/reps/{w.spare_rep}/feedback", lambda w: {"question": "Better this time?"},
        lambda w, c: exists("FeedbackRequest", rep_id=w.spare_rep)),
    "feedback.answer": Post(
        "coach", lambda w: f"/feedback/{w.request}/answer", lambda w: {"body": "Good triage order."},
        lambda w, c: exists("FeedbackMessage", request_id=w.request, body="Good triage order.")),
    "feedback.follow_up": Post(
        "learner", lambda w: f"/feedback/{w.request}/follow-up", lambda w: {"body": "Why that order?"},
        lambda w, c: exists("FeedbackMessage", request_id=w.request, body="Why that order?")),
    "feedback.rate": Post(
        "learner", lambda w: f"/feedback/{w.request}/helpful", lambda w: {"helpful": "yes"},
        lambda w, c: fresh(domain_models().FeedbackRequest, w.request).helpful is True),
    "checkins.save_from_link": Post(
        None, lambda w: f"/checkins/answer/{w.checkin_token}", lambda w: {**CHECKIN_FORM},
        lambda w, c: fresh(domain_models().WeeklyCheckin, w.checkin).answered_at is not None),
    "checkins.update": Post(
        "learner", lambda w: f"/checkins/{w.checkin}", lambda w: {**CHECKIN_FORM},
        lambda w, c: fresh(domain_models().WeeklyCheckin, w.checkin).answered_at is not None),
    "study.update_settings": Post(
        "learner", lambda w: "/study/settings", lambda w: {"new_per_day": "7", "desired_retention": "0.85"},
        lambda w, c: exists("StudySettings", user_id=w.learner, new_per_day=7)),
    "study.create_deck": Post(
        "learner", lambda w: f"/study/learners/{w.learner}/decks", lambda w: {"name": "Verbs"},
        lambda w, c: exists("Deck", name="Verbs")),
    "study.create_item": Post(
        "learner", lambda w: f"/study/decks/{w.deck}/items",
        lambda w: {"prompt": "Capital of Chile?", "answer": "Santiago"},
        lambda w, c: exists("StudyItem", answer="Santiago")),
    "study.update_item": Post(
        "learner", lambda w: f"/study/items/{w.item}", lambda w: {"prompt": "Capital of France?", "answer": "PARIS"},
        lambda w, c: exists("StudyItem", answer="PARIS")),
    "study.preview_import": Post(
        "learner", lambda w: f"/study/decks/{w.deck}/import", lambda w: {"text": "one,1"},
        # A preview saves nothing: what it does is show the page that asks to confirm.
        lambda w, c: "Nothing is saved until you confirm" in c.last_response.get_data(as_text=True)),
    "study.confirm_import": Post(
        "learner", lambda w: f"/study/decks/{w.deck}/import/confirm", lambda w: {"text": "one,1"},
        lambda w, c: exists("StudyItem", prompt="one")),
    "study.answer": Post(
        "learner", lambda w: f"/study/items/{w.item}/answer", lambda w: {"given_answer": "Nice", "confidence": "2"},
        lambda w, c: exists("StudyReview", item_id=w.item, given_answer="Nice")),
    "study.rate": Post(
        "learner", lambda w: f"/study/reviews/{w.review}/rate", lambda w: {"rating": "3"},
        lambda w, c: fresh(domain_models().StudyReview, w.review).rating == 3),
    "study.share_leech": Post(
        "learner", lambda w: f"/study/items/{w.item}/share", lambda w: {},
        lambda w, c: fresh(domain_models().StudyItem, w.item).leech_shared_at is not None),
    "ops.retry": Post(
        "operator", lambda w: f"/ops/outbox/{w.message}/retry", lambda w: {},
        lambda w, c: fresh(OutboxMessage, w.message).status != "failed"),
})


POSTS.update({endpoint: Post(*spec) for endpoint, spec in setback_world.posts().items()})


def test_every_post_route_has_a_csrf_case(csrf_app):
    posts = {rule.endpoint for rule in rules(csrf_app, "POST")}
    assert posts - CSRF_EXEMPT.keys() - POSTS.keys() == set(), "add a Post to POSTS for these endpoints"
    assert (POSTS.keys() | CSRF_EXEMPT.keys()) - posts == set(), "these endpoints are gone: remove them"


def browser_for(app, w, who: str | None) -> FreshRequestClient:
    client = app.test_client()
    if who:
        sign_in(client, getattr(w, who))
    return client


@pytest.mark.parametrize("endpoint", sorted(POSTS))
def test_a_post_without_its_own_csrf_token_changes_nothing(csrf_app, endpoint):
    w = build_full_world()
    post = POSTS[endpoint]
    client = browser_for(csrf_app, w, post.who)
    before, who_before = dump(), signed_in_as(client)
    for token in (None, csrf_token_of(csrf_app.test_client()), "garbage"):  # missing, another browser's, forged
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
def test_a_post_with_the_htmx_csrf_header_works(csrf_app, endpoint):
    w = build_full_world()
    post = POSTS[endpoint]
    client = browser_for(csrf_app, w, post.who)
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
def test_an_expired_csrf_token_keeps_the_text_and_a_fresh_token_then_works(csrf_app, expired_csrf_tokens, form):
    w = build_world()
    who, page, action, data, kept = FORMS_WITH_TEXT[form]
    page, action = page.format(**vars(w)), action.format(**vars(w))
    client = browser_for(csrf_app, w, who)
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
