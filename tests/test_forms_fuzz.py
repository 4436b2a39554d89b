"""Every account, coaching and number form, fed odd text, odd numbers and wrong types: never a 5xx, a 422 keeps
the text, and nothing out of range is saved."""

import io
import math
from datetime import UTC
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from failforward import clock
from failforward.accounts.models import PendingSignup, User
from failforward.calendar import today_for
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.cycles import services as cycles
from failforward.cycles.models import Cycle
from failforward.extensions import db
from failforward.goals.models import Drill, Goal
from failforward.ledger.models import Rep
from failforward.reviews.models import Review, ReviewAction
from failforward.signing import sign
from failforward.study.models import StudySettings
from failforward.thresholds.models import ThresholdRule
from tests.conftest import PASSWORD
from tests.factories import make_drill, make_goal
from tests.thresholds_world import personal_contract_form

FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NASTY = [
    "", " ", "\x00", "a\x00b", "\x07bell", "line\r\nBcc: victim@example.com", "\r\n", "\n\n\n", "\t",
    "\u202eevil.exe\u202c", "\u200fשלום\u200e", "مرحبا بالعالم", "👩🏽‍💻🔥✨", "\ufeffbom", "\u2028sep\u2029",
    "x" * 10_000, "é" * 10_000, "²", "٣", "-0", "1e309", "9" * 5000, "NaN", "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>', "{{7*7}}", "javascript:alert(1)", "'; DROP TABLE users; --",
    "\U0010ffff", "\x7f\x80\x9f",
]
EMAILS = ["new.person@example.com", "Mixed.Case@Example.COM", "ünïcode@example.com", "a@b", "@example.com",
          "two@@example.com", "a" * 320 + "@example.com", "person+tag@example.com", " padded@example.com "]

text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=10)),
)
email = st.one_of(st.sampled_from(EMAILS), text)
# A form field as a browser (or an attacker) might send it: text, sent twice, or left out.
field = st.one_of(text, st.lists(text, min_size=2, max_size=2), st.none())
json_value = st.one_of(text, st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=1))
body_kind = st.sampled_from(["form", "form", "form", "multipart with a file", "json"])


def submit(client, path: str, fields: dict, kind: str, json_fields: dict):
    """POST the fields as a urlencoded form, as multipart with the first field as a file, or as JSON."""
    if kind == "json":
        return client.post(path, json=json_fields)
    data = {name: value for name, value in fields.items() if value is not None}
    if kind == "multipart with a file" and data:
        first = next(iter(data))
        data[first] = (io.BytesIO(str(data[first]).encode()), "typed.txt")
        return client.post(path, data=data, content_type="multipart/form-data")
    return client.post(path, data=data)


def assert_answered_well(response, fields: dict, kind: str, kept_text=(), kept_raw=()) -> None:
    """No 5xx; a 422 shows again what was typed in each re-rendered field."""
    assert response.status_code < 500, response.status_code
    event(f"{kind}: {response.status_code}")
    if response.status_code != 422 or kind != "form":
        return
    page = response.get_data(as_text=True)
    for name in (*kept_text, *kept_raw):
        typed = fields.get(name)
        if isinstance(typed, list):
            typed = typed[0]
        if typed is None:
            continue
        shown = typed.strip() if name in kept_text else typed  # text fields strip surrounding spaces
        assert str(escape(shown)) in page, f"{name} not kept"


def assert_no_mail_header_took_user_text_lines(inbox) -> None:
    for message in inbox.messages:
        assert "Bcc" not in message
        for name, value in message.items():
            assert "\r" not in str(value) and "\n" not in str(value), name


def json_of(fields: dict, draw_values: list) -> dict:
    return dict(zip(fields, draw_values, strict=False))


def typed_numbers(fields: dict, *names: str) -> tuple[str, ...]:
    """The number fields to find again in a 422: those sent as text other than blanks, which come back empty."""
    first = {name: value[0] if isinstance(value, list) else value for name, value in fields.items()}
    return tuple(name for name in names if isinstance(first[name], str) and first[name].strip())


# --- signed out ---------------------------------------------------------------------------------

@FUZZ
@given(name=field, address=st.one_of(email, field), password=field,
       timezone=st.one_of(st.sampled_from(["UTC", "Europe/Paris"]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=4, max_size=4))
def test_sign_up_form(client, inbox, name, address, password, timezone, kind, json_values):
    fields = {"name": name, "email": address, "password": password, "timezone": timezone}
    response = submit(client, "/signup", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("name", "email"))
    for pending in db.session.scalars(db.select(PendingSignup)):
        assert len(pending.name) <= 100 and "\x00" not in pending.name and "\n" not in pending.name
    assert_no_mail_header_took_user_text_lines(inbox)


@FUZZ
@given(address=st.one_of(email, field), password=st.one_of(st.just(PASSWORD), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=2, max_size=2))
def test_login_form(app, client, make_user, address, password, kind, json_values):
    make_user(email="known@example.com") if db.session.scalar(db.select(User.id)) is None else None
    fields = {"email": address, "password": password}
    response = submit(client, "/login", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("email",))


@FUZZ
@given(address=st.one_of(email, field), kind=body_kind, json_values=st.lists(json_value, min_size=1, max_size=1))
def test_reset_request_form(client, inbox, address, kind, json_values):
    fields = {"email": address}
    response = submit(client, "/reset", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("email",))
    assert_no_mail_header_took_user_text_lines(inbox)


@FUZZ
@given(password=field, nonce=st.uuids(), kind=body_kind, json_values=st.lists(json_value, min_size=1, max_size=1))
def test_reset_form(app, client, make_user, password, nonce, kind, json_values):
    user = db.session.scalar(db.select(User)) or make_user()
    token = sign("password-reset", {"u": user.id, "n": str(nonce)})
    fields = {"password": password}
    response = submit(client, f"/reset/{token}", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind)


# --- signed in ----------------------------------------------------------------------------------

@pytest.fixture
def signed_in(client, make_user, login):
    """The client, signed in as a coach with one linked learner."""
    coach = make_user(name="Casey Coach", email="casey@example.com")
    learner = make_user(name="Lee Learner", email="lee@example.com")
    link = coaching.accept_invite(coaching.invite_token(coaching.create_invite(coach, None)), learner)
    login(coach)
    client.link_id, client.coach_id = link.id, coach.id
    return client


@pytest.fixture
def learner_signed_in(client, make_user, login):
    """The client, signed in as a learner whose coach proposed the default contract."""
    coach, learner = make_user(), make_user()
    link = coaching.accept_invite(coaching.invite_token(coaching.create_invite(coach, None)), learner)
    login(learner)
    client.link_id = link.id
    return client


@FUZZ
@given(name=field, timezone=st.one_of(st.sampled_from(["UTC", "Asia/Kolkata"]), field),
       weekday=st.one_of(st.sampled_from(["0", "6"]), field), hour=st.one_of(st.sampled_from(["7", "23"]), field),
       opt_in=st.one_of(st.sampled_from(["y", "on"]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=5, max_size=5))
def test_settings_form(signed_in, name, timezone, weekday, hour, opt_in, kind, json_values):
    fields = {"name": name, "timezone": timezone, "checkin_weekday": weekday, "checkin_hour": hour,
              "email_opt_in": opt_in}
    response = submit(signed_in, "/settings", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("name",))
    coach = db.session.get(User, signed_in.coach_id)
    assert 0 < len(coach.name) <= 100 and coach.name == coach.name.strip()
    assert not any(ord(ch) < 32 for ch in coach.name)
    assert 0 <= coach.checkin_weekday <= 6 and 0 <= coach.checkin_hour <= 23


@FUZZ
@given(current=st.one_of(st.just(PASSWORD), field), new=field, kind=body_kind,
       json_values=st.lists(json_value, min_size=2, max_size=2))
def test_change_password_form(signed_in, current, new, kind, json_values):
    fields = {"current_password": current, "password": new}
    response = submit(signed_in, "/settings/password", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind)


@FUZZ
@given(address=st.one_of(email, field), current=st.one_of(st.just(PASSWORD), field), kind=body_kind,
       json_values=st.lists(json_value, min_size=2, max_size=2))
def test_change_email_form(signed_in, inbox, address, current, kind, json_values):
    fields = {"email": address, "current_password": current}
    response = submit(signed_in, "/settings/email", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("email",))
    coach = db.session.get(User, signed_in.coach_id)
    assert len(coach.email) <= 320 and not any(ord(ch) < 33 for ch in coach.email)
    assert_no_mail_header_took_user_text_lines(inbox)


@FUZZ
@given(current=field, kind=body_kind, json_values=st.lists(json_value, min_size=1, max_size=1))
def test_delete_account_form(signed_in, current, kind, json_values):
    fields = {"current_password": current}
    response = submit(signed_in, "/account/delete", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind)
    assert db.session.get(User, signed_in.coach_id) is not None  # only the right password deletes


@FUZZ
@given(address=st.one_of(email, field), kind=body_kind, json_values=st.lists(json_value, min_size=1, max_size=1))
def test_invite_form(signed_in, inbox, address, kind, json_values):
    fields = {"email": address}
    response = submit(signed_in, "/coaching/invites", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("email",))
    for invite in db.session.scalars(db.select(Invite)):
        assert invite.email is None or (len(invite.email) <= 320 and invite.email == invite.email.strip().lower())
    assert_no_mail_header_took_user_text_lines(inbox)


CONTRACT_TEXT = ("experiment", "error", "incident", "near_miss", "failure", "review_thresholds", "commitments")


@FUZZ
@given(texts=st.lists(st.one_of(text, st.sampled_from(["Plain words.", "Line one\r\nLine two"])),
                      min_size=7, max_size=7),
       hours=st.one_of(st.sampled_from(["1", "24", "336", "0", "337", "-5", "9999", " 12 ", "1.5", "²", "   ",
                                        "9" * 309, str(2**63)]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=8, max_size=8))
@example(texts=["Plain words."] * 7, hours="9" * 309, kind="form", json_values=[None] * 8)
@example(texts=["Plain words."] * 7, hours="   ", kind="form", json_values=[None] * 8)
def test_contract_form(signed_in, texts, hours, kind, json_values):
    fields = {**dict(zip(CONTRACT_TEXT, texts, strict=True)), "feedback_due_hours": hours}
    path = f"/coaching/links/{signed_in.link_id}/contract"
    response = submit(signed_in, path, fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=CONTRACT_TEXT,
                         kept_raw=typed_numbers(fields, "feedback_due_hours"))
    for contract in db.session.scalars(db.select(Contract)):
        assert 1 <= contract.feedback_due_hours <= 336
        assert all(len(getattr(contract, name)) <= 4000 and "\x00" not in getattr(contract, name)
                   for name in CONTRACT_TEXT)


@FUZZ
@given(version=st.one_of(st.sampled_from(["1", "2", "0", "-1", "²", "9" * 5000]), field), kind=body_kind,
       json_values=st.lists(json_value, min_size=1, max_size=1))
def test_accept_contract_form(learner_signed_in, version, kind, json_values):
    fields = {"version": version}
    response = submit(learner_signed_in, f"/coaching/links/{learner_signed_in.link_id}/contract/accept", fields,
                      kind, json_of(fields, json_values))
    assert response.status_code == 303
    event(f"{kind}: {response.status_code}")
    accepted = coaching.accepted_contract(db.session.get(CoachingLink, learner_signed_in.link_id))
    assert accepted is None or accepted.version == 1


RULE_NUMBERS = ("drill_misses_count", "drill_misses_days", "setback_intensity", "drill_misses_window_hours")


@FUZZ
@given(texts=st.lists(st.one_of(text, st.just("Plain words.")), min_size=7, max_size=7),
       numbers=st.lists(st.one_of(st.sampled_from(["1", "3", "31", "0", "32", "-1", "337", " 7 ", "1.5", "²", "   ",
                                                   "9" * 309]), field), min_size=4, max_size=4),
       follow_up=st.one_of(st.sampled_from(["lesson", "review", "blame"]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=12, max_size=12))
@example(texts=["Plain words."] * 7, numbers=["32", "3", "11", "0"], follow_up="review", kind="form",
         json_values=[None] * 12)
def test_personal_contract_form(signed_in, texts, numbers, follow_up, kind, json_values):
    fields = personal_contract_form(**dict(zip(CONTRACT_TEXT, texts, strict=True)),
                           **dict(zip(RULE_NUMBERS, numbers, strict=True)), drill_misses_follow_up=follow_up)
    response = submit(signed_in, "/contract", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=CONTRACT_TEXT,
                         kept_raw=typed_numbers(fields, *RULE_NUMBERS))
    for rule in db.session.scalars(db.select(ThresholdRule)):
        assert 1 <= rule.window_hours <= 336 and rule.follow_up in ("lesson", "review")
        assert rule.count is None or 1 <= rule.count <= 20
        assert rule.days is None or 1 <= rule.days <= 31
        assert rule.intensity is None or 0 <= rule.intensity <= 10


# --- number fields --------------------------------------------------------------------------------

# Numbers as a phone keyboard, a paste or an attacker send them: blanks, more digits than a column or a float
# holds, float edge cases, other scripts' digits, and ordinary ones.
NUMBERS = ["   ", "\t", "\u00a0", "9" * 309, "-" + "9" * 400, "9" * 5000, str(2**63), "99999999999999999999999",
           "1e309", "-1e309", "NaN", "inf", "-0", "0", "1", "-1", "4", "12", "2,5", "1,000", "0.9", "²", "٣", "0x10",
           "1_000", "+5", "5."]
number = st.one_of(st.sampled_from(NUMBERS), st.integers().map(str), st.floats().map(str), field)
NO_JSON = [None] * 3


@pytest.fixture
def practising(client, make_user, login):
    """The client, signed in as a learner with a goal and a drill."""
    learner = make_user()
    goal = make_goal(learner)
    client.goal_id, client.drill_id = goal.id, make_drill(goal).id
    login(learner)
    return client


@FUZZ
@given(value=number, minutes=number, key=st.uuids(), kind=body_kind,
       json_values=st.lists(json_value, min_size=3, max_size=3))
@example(value="   ", minutes="", key=UUID(int=1), kind="form", json_values=NO_JSON)
@example(value="4", minutes="9" * 309, key=UUID(int=2), kind="form", json_values=NO_JSON)
def test_rep_form(practising, value, minutes, key, kind, json_values):
    fields = {"value": value, "duration_minutes": minutes, "drill_id": str(practising.drill_id),
              "idempotency_key": key.hex}
    response = submit(practising, "/reps", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_raw=typed_numbers(fields, "value", "duration_minutes"))
    for rep in db.session.scalars(db.select(Rep)):
        assert math.isfinite(rep.value) and abs(rep.value) <= 1e12
        assert rep.duration_minutes is None or 0 <= rep.duration_minutes <= 1440


GOAL_TEXT = {"title": "Answer pages faster", "bottleneck": "Slow first response", "metric_name": "time",
             "unit": "min", "direction": "lower", "aggregation": "median"}


@FUZZ
@given(baseline=number, target=number, weeks=number, kind=body_kind,
       json_values=st.lists(json_value, min_size=3, max_size=3))
@example(baseline="   ", target="5", weeks="4", kind="form", json_values=NO_JSON)
@example(baseline="10", target="5", weeks="9" * 309, kind="form", json_values=NO_JSON)
def test_goal_form(practising, baseline, target, weeks, kind, json_values):
    fields = {"baseline": baseline, "target": target, "weeks_required": weeks, **GOAL_TEXT}
    response = submit(practising, "/goals", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_raw=typed_numbers(fields, "baseline", "target",
                                                                        "weeks_required"))
    for goal in db.session.scalars(db.select(Goal)):
        assert math.isfinite(goal.baseline) and math.isfinite(goal.target) and 1 <= goal.weeks_required <= 12


@FUZZ
@given(time_box=number, planned=number, kind=body_kind, json_values=st.lists(json_value, min_size=3, max_size=3))
@example(time_box="   ", planned="   ", kind="form", json_values=NO_JSON)
@example(time_box="9" * 309, planned="-" + "9" * 400, kind="form", json_values=NO_JSON)
def test_drill_form(practising, time_box, planned, kind, json_values):
    fields = {"time_box_minutes": time_box, "planned_reps_per_week": planned, "name": "Pager drill",
              "practises": "Triage", "feedback_source": "coach"}
    response = submit(practising, f"/goals/{practising.goal_id}/drills", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_raw=typed_numbers(fields, "time_box_minutes",
                                                                        "planned_reps_per_week"))
    for drill in db.session.scalars(db.select(Drill)):
        assert drill.time_box_minutes is None or 1 <= drill.time_box_minutes <= 600
        assert 1 <= drill.planned_reps_per_week <= 200


@FUZZ
@given(per_day=number, retention=number, kind=body_kind, json_values=st.lists(json_value, min_size=2, max_size=2))
@example(per_day="   ", retention="0.9", kind="form", json_values=NO_JSON[:2])
@example(per_day="9" * 309, retention="   ", kind="form", json_values=NO_JSON[:2])
def test_study_settings_form(practising, per_day, retention, kind, json_values):
    fields = {"new_per_day": per_day, "desired_retention": retention}
    response = submit(practising, "/study/settings", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_raw=typed_numbers(fields, "new_per_day", "desired_retention"))
    for chosen in db.session.scalars(db.select(StudySettings)):
        assert 0 <= chosen.new_per_day <= 500 and 0.7 <= chosen.desired_retention <= 0.99


# --- PDSA cycles ----------------------------------------------------------------------------------

CYCLE_TEXT = ("objective", "change", "prediction", "undo_plan", "undo_speed", "next_if_inconclusive")


def _cycle(practising) -> Cycle:
    goal = db.session.get(Goal, practising.goal_id)
    return cycles.create_cycle(goal.learner, goal, {
        "drill_id": practising.drill_id, "objective": "Triage", "change": "Runbook", "prediction": "Faster",
        "harm": "miss-rate", "harm_goal_id": None, "adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5,
        "scope_pct": 10, "timebox_days": 14, "starts_on": today_for(goal.learner), "undo_plan": "Skip",
        "undo_speed": "at once", "next_if_inconclusive": ""}, None, "fuzz-cycle")[0]


@FUZZ
@given(texts=st.lists(text, min_size=6, max_size=6), numbers=st.lists(number, min_size=5, max_size=5),
       harm=st.one_of(st.sampled_from(["miss-rate", "minutes", "goal:1", "goal:99999999999999", "goal:"]), field),
       start=st.one_of(st.sampled_from(["2026-03-04", "9999-12-31", "0001-01-01", "yesterday"]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=13, max_size=13))
@example(texts=["Plain words."] * 6, numbers=["9" * 309, "5", "   ", "1e309", "-1"], harm="goal:1",
         start="2026-03-04", kind="form", json_values=[None] * 13)
def test_cycle_plan_form(practising, texts, numbers, harm, start, kind, json_values):
    fields = {**dict(zip(CYCLE_TEXT, texts, strict=True)),
              **dict(zip(("adopt_if_pct", "harm_tolerance_pct", "min_reps", "scope_pct", "timebox_days"), numbers,
                         strict=True)),
              "harm": harm, "starts_on": start, "drill_id": str(practising.drill_id), "idempotency_key": "fuzz-key-1"}
    response = submit(practising, f"/goals/{practising.goal_id}/cycles", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=CYCLE_TEXT[:3],
                         kept_raw=typed_numbers(fields, "adopt_if_pct", "harm_tolerance_pct"))
    for cycle in db.session.scalars(db.select(Cycle)):
        assert 0 <= cycle.adopt_if_pct <= 1000 and 0 <= cycle.harm_tolerance_pct <= 1000
        assert 1 <= cycle.timebox_days <= 90 and 1 <= cycle.scope_pct <= 100 and cycle.harm != "goal"


@FUZZ
@given(numbers=st.lists(number, min_size=3, max_size=3), harm=st.one_of(st.sampled_from(["minutes", "goal:7"]), field),
       reason=text, decision=st.one_of(st.sampled_from(["adopt", "adapt", "abandon"]), field), note=text,
       kind=body_kind, json_values=st.lists(json_value, min_size=5, max_size=5))
def test_cycle_rule_decision_and_note_forms(practising, numbers, harm, reason, decision, note, kind, json_values):
    cycle = _cycle(practising)
    fields = {"adopt_if_pct": numbers[0], "harm_tolerance_pct": numbers[1], "min_reps": numbers[2], "harm": harm,
              "reason": reason}
    response = submit(practising, f"/cycles/{cycle.id}/rule", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("reason",))
    fields = {"decision": decision, "note": note}
    assert_answered_well(submit(practising, f"/cycles/{cycle.id}/decision", fields, kind,
                                json_of(fields, json_values)), fields, kind)
    for path, name in ((f"/cycles/{cycle.id}/observations", "body"), (f"/cycles/{cycle.id}/comments", "comment-body")):
        fields = {name: note}
        assert_answered_well(submit(practising, path, fields, kind, json_of(fields, json_values)), fields, kind,
                             kept_text=(name,))
    db.session.refresh(cycle)
    assert 1 <= cycle.min_reps <= 100 and cycle.harm in ("miss-rate", "minutes")


# --- blameless reviews --------------------------------------------------------------------------------

REVIEW_TEXT = ("trigger", "scope", "counterfactual", "what_worked", "assumptions")
moment = st.one_of(st.sampled_from(["2026-03-03T21:50", "2026-03-03T21:50:59", "9999-12-31T23:59", "0001-01-01T00:00",
                                    "2026-02-30T10:00", "yesterday"]), field)


@FUZZ
@given(texts=st.lists(text, min_size=7, max_size=7), times=st.lists(moment, min_size=2, max_size=2),
       factor_kinds=st.lists(st.one_of(st.sampled_from(["tools", "process", "blame"]), field), min_size=2,
                             max_size=2),
       more=st.booleans(), kind=body_kind, json_values=st.lists(json_value, min_size=13, max_size=13))
@example(texts=["Who did it?"] * 7, times=["0001-01-01T00:00", "9999-12-31T23:59"], factor_kinds=["tools", "blame"],
         more=False, kind="form", json_values=[None] * 13)
def test_review_form(practising, texts, times, factor_kinds, more, kind, json_values):
    fields = {**dict(zip(REVIEW_TEXT, texts, strict=False)), "events-0-at": times[0], "events-0-what": texts[5],
              "events-99999999999999999-at": times[1], "events-99999999999999999-what": texts[6],
              "factors-0-kind": factor_kinds[0], "factors-0-what": texts[5], "factors-1-kind": factor_kinds[1],
              "factors-1-what": texts[6], "source": texts[6], "idempotency_key": "fuzz-review-1",
              **({"more_rows": "1"} if more else {})}
    response = submit(practising, "/reviews", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("trigger", "counterfactual", "events-0-what"))
    while_writing = submit(practising, "/reviews/wording", fields, kind, json_of(fields, json_values))
    assert while_writing.status_code == 200, while_writing.status_code  # advice on anything typed, never a refusal
    for review in db.session.scalars(db.select(Review)):
        assert len(review.events) <= 40 and all(f.kind in ("tools", "process") for f in review.factors)


@FUZZ
@given(texts=st.lists(text, min_size=4, max_size=4), days=st.lists(st.one_of(
    st.sampled_from(["2026-03-04", "2026-04-03", "9999-12-31", "0001-01-01", "2026-02-30"]), field), min_size=2,
    max_size=2), owner=st.one_of(st.sampled_from(["1", "2", "99999999999999999999", "-1"]), field),
       status=st.one_of(st.sampled_from(["open", "done", "verified", "not-doing"]), field),
       answer=st.one_of(st.sampled_from(["worked", "partly", "did-not", "not-yet"]), field),
       kind=body_kind, json_values=st.lists(json_value, min_size=7, max_size=7))
def test_review_action_status_check_and_comment_forms(practising, texts, days, owner, status, answer, kind,
                                                      json_values):
    from failforward.reviews import services as reviews

    learner = db.session.get(Goal, practising.goal_id).learner
    review = reviews.create_review(learner, {"trigger": "Missed", "scope": "", "counterfactual": "", "what_worked": "",
                                             "assumptions": "", "shared": False}, [], [], None, "fuzz-review")[0]
    fields = {"what": texts[0], "owner_id": owner, "due_on": days[0], "check_on": days[1], "done_condition": texts[1],
              "verify_plan": texts[2], "idempotency_key": "fuzz-action-1"}
    response = submit(practising, f"/reviews/{review.id}/actions", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("what", "done_condition", "verify_plan"))
    action = reviews.add_action(review, {"what": "Louder", "owner_id": learner.id, "due_on": None, "check_on": None,
                                         "done_condition": "Seen", "verify_plan": ""}, "fuzz-action-2")[0]
    prefix = f"a{action.id}-"
    for path, step in ((f"/actions/{action.id}/status", {prefix + "status": status, prefix + "note": texts[3]}),
                       (f"/actions/{action.id}/check", {"answer": answer, "note": texts[3]}),
                       (f"/reviews/{review.id}/comments", {"body": texts[3]}),
                       (f"/reviews/{review.id}/share", {"shared": texts[3]})):
        assert_answered_well(submit(practising, path, step, kind, json_of(step, json_values)), step, kind)
    for made in db.session.scalars(db.select(ReviewAction)):
        assert made.owner_id == learner.id and made.status in ("open", "done", "verified", "not-doing")


# --- the safety pulse ----------------------------------------------------------------------------------

score = st.one_of(st.sampled_from(["1", "3", "5", "0", "6", "-1", "4.0", "²", "٣", "9" * 5000]), field)


@pytest.fixture
def open_pulse(learner_signed_in):
    """An open pulse on the signed-in learner's link."""
    from failforward.pulse import services as pulses
    from failforward.pulse.models import Pulse

    link = db.session.get(CoachingLink, learner_signed_in.link_id)
    start = pulses.period_start(clock.now(), UTC)
    pulse = Pulse(link_id=link.id, learner_id=link.learner_id, period_start=start,
                  closes_at=pulses.period_end(start, UTC))
    db.session.add(pulse)
    db.session.commit()
    learner_signed_in.pulse_id = pulse.id
    return learner_signed_in


@FUZZ
@given(scores=st.lists(score, min_size=5, max_size=5), comment=field, kind=body_kind,
       json_values=st.lists(json_value, min_size=6, max_size=6))
@example(scores=["5", "4", "3", "2", "1"], comment="\u202eevil\u202c 👩🏽‍💻", kind="form", json_values=[None] * 6)
def test_pulse_form(open_pulse, scores, comment, kind, json_values):
    from failforward.pulse.models import STATEMENTS, Pulse

    pulse = db.session.get(Pulse, open_pulse.pulse_id)
    pulse.answered_at = None  # every example answers afresh: the form, not the once-only rule, is under test
    db.session.commit()
    fields = {**dict(zip(STATEMENTS, scores, strict=True)), "comment": comment}
    response = submit(open_pulse, f"/pulse/{pulse.id}", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("comment",))
    db.session.expire_all()
    pulse = db.session.get(Pulse, open_pulse.pulse_id)
    if pulse.answered_at is not None:
        assert all(1 <= value <= 5 for _, value in pulse.scores())
        assert len(pulse.comment) <= 2000 and "\x00" not in pulse.comment
