"""What the security tests share: the route inventory (who may call each endpoint), a world with every kind
of record and role, and a valid POST for every form."""

import html
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from flask import current_app

from failforward.accounts import services as accounts
from failforward.accounts.models import PendingSignup, User
from failforward.accounts.passwords import verify_password
from failforward.accounts.services import start_session
from failforward.coaching import access
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.export import importing
from failforward.extensions import db
from failforward.mail.models import OutboxMessage
from failforward.reflection.models import OwnPrompt
from failforward.signing import sign
from tests import cycles_world, premortem_world, pulse_world, reviews_world, setback_world
from tests.conftest import PASSWORD, PASSWORD_HASH, FreshRequestClient
from tests.thresholds_world import personal_contract_form

NEW_PASSWORD = "a brand new passphrase"

# --- the route inventory ------------------------------------------------------------------------

# Who may call each endpoint. Every endpoint in app.url_map must be here; what everyone else gets
# is fixed per kind in WHAT_OTHERS_GET and checked by test_outsiders_get_what_the_inventory_says.
WHO_MAY_CALL = {
    "static": "public",
    "favicon": "public",
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
    # the Progress page (the signed-in person's own figures; no one else's is reachable)
    "kpis.index": "signed-in",
    "kpis.download": "signed-in",
    "home.goal": "learner-or-coach",
    "ledger.learner_goals": "learner-or-coach",
    # feedback
    "feedback.new": "learner-only",
    "feedback.create": "learner-only",
    "feedback.index": "signed-in",
    "feedback.show": "learner-or-coach",
    "feedback.queue": "signed-in",
    "overview.index": "coach-only",
    "home.more": "signed-in",
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
    "export.download": "signed-in",
    "export.import_form": "signed-in",
    "export.dry_run": "signed-in",
    "export.apply": "signed-in",
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
    # the personal contract
    "thresholds.edit": "signed-in",
    "thresholds.update": "signed-in",
    # operators
    "ops.outbox": "operator",
    "ops.retry": "operator",
}
WHO_MAY_CALL.update(setback_world.WHO_MAY_CALL)
WHO_MAY_CALL.update(cycles_world.WHO_MAY_CALL)
WHO_MAY_CALL.update(premortem_world.WHO_MAY_CALL)
WHO_MAY_CALL.update(reviews_world.WHO_MAY_CALL)
WHO_MAY_CALL.update(pulse_world.WHO_MAY_CALL)

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
    cycles_world.add_to_world(w)
    premortem_world.add_to_world(w)
    reviews_world.add_to_world(w)
    pulse_world.add_to_world(w)
    return w


def url_values(endpoint: str, w: SimpleNamespace) -> dict:
    """Values for a rule's arguments: a real object of the learner's, or a live signed token."""
    tokens = {"accounts.confirm_sign_up": "signup_token", "accounts.finish_sign_up": "signup_token",
              "accounts.reset": "reset_token", "accounts.update_password_from_link": "reset_token",
              "accounts.confirm_email_change": "email_change_token",
              "accounts.finish_email_change": "email_change_token",
              "coaching.show_invite": "invite_token", "coaching.accept_invite": "invite_token",
              "accounts.confirm_unsubscribe": "unsubscribe_token", "accounts.unsubscribe": "unsubscribe_token",
              "checkins.answer_from_link": "checkin_token", "checkins.save_from_link": "checkin_token",
              **pulse_world.TOKENS}
    ids = {"link_id": "link", "invite_id": "invite", "goal_id": "goal", "drill_id": "drill", "rep_id": "rep",
           "request_id": "request", "checkin_id": "checkin", "learner_id": "learner", "message_id": "message",
           "deck_id": "deck", "item_id": "item", "review_id": "review",
           **setback_world.IDS, **cycles_world.IDS, **premortem_world.IDS, **reviews_world.IDS,
           **pulse_world.IDS}
    values = {argument: getattr(w, name) for argument, name in ids.items() if hasattr(w, name)}
    values["filename"] = "app.css"
    values["key"] = "reps"
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


# --- a valid POST for every form -------------------------------------------------------------------

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


def an_archive() -> io.BytesIO:
    """A small "Download my data" archive holding one reappraisal prompt of the learner's own."""
    document = {"format": "failforward-export", "version": 1, "person_id": 0,
                "records": {"own_prompts": [{"id": 1, "learner_id": 0, "text": "Imported prompt",
                                             "created_at": "2026-03-04T15:00:00+00:00"}]}}
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("failforward.json", json.dumps(document))
    packed.seek(0)
    return packed


def pending_import(learner_id: int) -> str:
    """Upload an_archive() for the learner's dry run, as the import page does; its digest."""
    folder = Path(current_app.instance_path) / "imports"
    return importing.dry_run(db.session.get(User, learner_id), an_archive(), folder)[1]


def imported() -> bool:
    return db.session.scalar(db.select(OwnPrompt).filter_by(text="Imported prompt")) is not None


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
    "export.dry_run": Post(
        "learner", lambda w: "/account/import", lambda w: {"archive": (an_archive(), "failforward.zip")},
        lambda w, c: "Nothing is saved until you confirm" in c.last_response.get_data(as_text=True)),
    "export.apply": Post(
        "learner", lambda w: "/account/import/apply", lambda w: {"digest": pending_import(w.learner)},
        lambda w, c: imported()),
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
    "thresholds.update": Post(
        "learner", lambda w: "/contract", lambda w: personal_contract_form(commitments="We fix the process."),
        lambda w, c: db.session.scalar(db.select(Contract).filter_by(
            learner_id=w.learner, commitments="We fix the process.")) is not None),
    "ops.retry": Post(
        "operator", lambda w: f"/ops/outbox/{w.message}/retry", lambda w: {},
        lambda w, c: fresh(OutboxMessage, w.message).status != "failed"),
})


POSTS.update({endpoint: Post(*spec) for endpoint, spec in setback_world.posts().items()})
POSTS.update({endpoint: Post(*spec) for endpoint, spec in cycles_world.posts().items()})
POSTS.update({endpoint: Post(*spec) for endpoint, spec in premortem_world.posts().items()})
POSTS.update({endpoint: Post(*spec) for endpoint, spec in reviews_world.posts().items()})
POSTS.update({endpoint: Post(*spec) for endpoint, spec in pulse_world.posts().items()})
