"""Download my data: the archive holds every record a person owns and nothing of anyone else's, its CSVs
are safe in a spreadsheet, its schema is documented, and its cost stays one query per kind."""

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from failforward.cycles import services as cycles
from failforward.export import importing, services
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.goals.models import Goal
from failforward.ledger import weekly
from failforward.ledger.models import GoalWeek, Rep
from failforward.lessons import services as lessons
from failforward.premortems import services as premortems
from failforward.pulse import services as pulses
from failforward.pulse.models import Pulse
from failforward.reflection import services as reflection
from failforward.reviews import services as reviews
from failforward.study import answering
from failforward.study import services as study
from failforward.thresholds import services as thresholds
from failforward.thresholds.models import DRILL_MISSES, REVIEW
from tests.conftest import PASSWORD_HASH
from tests.factories import count, field_error, link, log, make_drill, make_goal

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def archive_of(person) -> bytes:
    return b"".join(services.stream_archive(person.id))


def unpack(archive: bytes) -> tuple[dict, dict[str, list[dict]], zipfile.ZipFile]:
    """The archive's JSON document, its CSVs read back as rows, and the archive itself."""
    zipped = zipfile.ZipFile(io.BytesIO(archive))
    document = json.loads(zipped.read("failforward.json"))
    tables = {name.removeprefix("csv/").removesuffix(".csv"):
              list(csv.DictReader(io.StringIO(zipped.read(name).decode())))
              for name in zipped.namelist() if name.startswith("csv/")}
    return document, tables, zipped


@pytest.fixture
def world(clock, learner, coach, make_user):
    """Lee practises with Casey as coach: reps, an answered request, a lesson with a comment and a check,
    a setback, a deck with a review. Sam, another learner of Casey's, has a rep of their own."""
    clock.set(NOW)
    the_link = link(coach, learner)
    drill = make_drill(make_goal(learner))
    reps = [log(learner, drill, 10 - n, at=NOW - timedelta(days=n), note=f"rep {n}") for n in range(3)]
    request = feedback.ask(learner, reps[0], "Was my pacing right?")
    feedback.answer(coach, request, "Slow the second half.")
    lesson, _ = lessons.create_lesson(learner, {"happened_on": NOW.date(), "context": "", "what_failed": "Rushed",
                                                "what_tried": "", "try_next": "Breathe", "check_on": None,
                                                "shared": True}, {"skill": ["pacing"]}, None, "lesson-1")
    lessons.add_comment(coach, lesson, "Good catch.")
    lessons.answer_check(lesson, "worked", "Calmer now")
    reflection.start_reflection(learner, {"situation": "missed-target", "feeling": "frustrated",
                                          "intensity_before": 7, "what_happened": "Missed it"}, "setback-1")
    cycle, _ = cycles.create_cycle(learner, drill.goal, {
        "drill_id": drill.id, "objective": "Faster", "change": "Read first", "prediction": "Quicker",
        "harm": "miss-rate", "harm_goal_id": None, "adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5,
        "scope_pct": 10, "timebox_days": 7, "starts_on": NOW.date(), "undo_plan": "Skip it", "undo_speed": "at once",
        "next_if_inconclusive": ""}, None, "cycle-1")
    cycles.add_note(coach, cycle, "comment", "Try it twice a day.")
    premortem = premortems.start(learner, drill.goal, 6, 3, coach.id)
    premortems.write_causes(premortem, learner, ["Skipped the warm-up", "Pager fatigue"], finished=True)
    premortems.write_causes(premortem, coach, ["No runbook for the new alerts"], finished=True)
    premortems.reveal(premortem)
    risk = premortems.add_risk(premortem, learner.id, "Tired on call", [c.id for c in premortem.causes[:2]])
    premortems.vote(premortem, learner, {risk.id: 2})
    premortems.vote(premortem, coach, {risk.id: 1})
    premortems.add_comment(coach, premortem, "Night shifts worry me most.")
    review, _ = reviews.create_review(learner, {"trigger": "Missed pages", "scope": "", "counterfactual": "",
                                                "what_worked": "", "assumptions": "", "shared": True},
                                      [(NOW, "Silent phone")], [("tools", "Silent"), ("process", "No handover")],
                                      ("rep", reps[0].id, None), "review-1")
    reviews.add_action(review, {"what": "Louder", "owner_id": coach.id, "due_on": None, "done_condition": "Seen",
                                "verify_plan": "", "check_on": None}, "action-1")
    reviews.add_comment(coach, review, "Good timeline.")
    deck = study.create_deck(learner, learner, "Chords", "")
    item = study.create_item(learner, deck, {"prompt": "C major", "answer": "C E G"})
    answering.answer(learner, item, "C E G", 4)
    pulse = Pulse(link_id=the_link.id, learner_id=learner.id, period_start=NOW.date(),
                  closes_at=NOW + timedelta(days=7))
    db.session.add(pulse)
    db.session.commit()
    pulses.answer(pulse, {"mistakes": 5, "problems": 4, "help": 4, "skills": 3, "risks": 4}, "Safe to say so")
    terms = {name: getattr(thresholds.contract_page(learner).contract, name) for name in thresholds.PERSONAL_TERMS}
    thresholds.update_contract(learner, terms, {DRILL_MISSES: {"active": True, "count": 2, "days": 3,
                                                               "follow_up": REVIEW, "window_hours": 24}})
    sam = make_user(name="Sam", email="sam@example.com")
    link(coach, sam)
    thresholds.update_contract(sam, terms, {DRILL_MISSES: {"active": False, "count": 9, "days": 9,
                                                           "follow_up": REVIEW, "window_hours": 99}})
    log(sam, make_drill(make_goal(sam, title="Sam's goal")), 5, at=NOW, note="Sam's private rep")
    return {"learner": learner, "coach": coach, "sam": sam, "request": request}


def test_a_learners_archive_holds_every_record_they_own(app, world):
    document, tables, zipped = unpack(archive_of(world["learner"]))
    assert document["format"] == "failforward-export" and document["version"] == services.VERSION
    records = document["records"]
    assert set(records) == {kind.name for kind in services.KINDS}
    assert records["profile"] == [{**records["profile"][0], "email": "lee@example.com", "name": "Lee Learner"}]
    assert [r["note"] for r in records["reps"]] == ["rep 0", "rep 1", "rep 2"]
    assert len(records["goals"]) == len(records["drills"]) == 1
    assert [m["body"] for m in records["feedback_messages"]] == ["Slow the second half."]
    assert [c["answer"] for c in records["lesson_checks"]] == ["worked"]
    assert [c["body"] for c in records["lesson_comments"]] == ["Good catch."]
    assert len(records["lesson_tag_links"]) == len(records["lesson_tags"]) == 1
    assert len(records["reflections"]) == len(records["study_reviews"]) == len(records["study_items"]) == 1
    assert len(records["coaching_links"]) == 1
    assert [c["change"] for c in records["cycles"]] == ["Read first"]
    assert [n["body"] for n in records["cycle_notes"]] == ["Try it twice a day."]
    assert [r["title"] for r in records["risks"]] == ["Tired on call"] and len(records["risk_votes"]) == 2
    assert [c["body"] for c in records["pre_mortem_comments"]] == ["Night shifts worry me most."]
    assert [c["text"] for c in records["causes"]] == ["Skipped the warm-up", "Pager fatigue",
                                                      "No runbook for the new alerts"]
    assert [r["trigger"] for r in records["blameless_reviews"]] == ["Missed pages"]
    assert len(records["review_events"]) == 1 and len(records["review_factors"]) == 2
    assert [a["what"] for a in records["review_actions"]] == ["Louder"]
    assert [c["body"] for c in records["review_comments"]] == ["Good timeline."]
    assert [(p["mistakes"], p["comment"]) for p in records["safety_pulses"]] == [(5, "Safe to say so")]
    # The personal contract (Settings -> contract) comes with its rules, the numbers Lee chose among them.
    [own] = [c for c in records["contracts"] if c["learner_id"] == world["learner"].id]
    rules = {r["kind"]: r for r in records["threshold_rules"]}
    assert {r["contract_id"] for r in rules.values()} == {own["id"]} and len(rules) == 4
    assert [rules[DRILL_MISSES][k] for k in ("count", "days", "window_hours")] == [2, 3, 24]
    # The CSVs carry the same records, and the schema travels with them.
    assert [row["note"] for row in tables["reps"]] == ["rep 0", "rep 1", "rep 2"]
    assert set(tables) == set(records)
    assert zipped.read("export-schema.md") == services.SCHEMA_DOC.read_bytes()


# Tables that hold no record of a person's own practice: the instance's machinery, not their data; and goal_week,
# worked out from the reps (an import works it out again for the reps it adds).
NOT_EXPORTED = {"goal_week", "operator_grant", "outbox_message", "pending_signup", "rate_counter", "used_link",
                "user_session"}


def test_every_table_is_in_the_archive_unless_it_is_the_instances_machinery(app):
    """A table a later issue adds is in "Download my data" (or named above, with its reason)."""
    exported = {kind.table.name for kind in services.KINDS}
    assert set(db.metadata.tables) - exported == NOT_EXPORTED


def test_no_secret_and_nothing_of_another_person_is_in_an_archive(app, world):
    zipped = zipfile.ZipFile(io.BytesIO(archive_of(world["learner"])))
    raw = b"".join(zipped.read(name) for name in zipped.namelist() if name != "export-schema.md")
    assert PASSWORD_HASH.encode() not in raw and b"password_hash" not in raw and b"session_version" not in raw
    assert b"Sam's private rep" not in raw and b"Sam's goal" not in raw and b"sam@example.com" not in raw


def test_a_coachs_archive_holds_what_they_wrote_not_their_learners_records(app, world):
    document, _tables, _zip = unpack(archive_of(world["coach"]))
    records = document["records"]
    assert [m["body"] for m in records["feedback_messages"]] == ["Slow the second half."]
    assert [c["body"] for c in records["lesson_comments"]] == ["Good catch."]
    assert [n["body"] for n in records["cycle_notes"]] == ["Try it twice a day."]
    assert [c["body"] for c in records["review_comments"]] == ["Good timeline."]
    assert [c["body"] for c in records["pre_mortem_comments"]] == ["Night shifts worry me most."]
    assert records["blameless_reviews"] == records["review_actions"] == []  # Lee's, though Casey owns the fix
    assert len(records["coaching_links"]) == 2 and len(records["contracts"]) >= 2
    assert len(records["invites"]) == 2 and all("nonce" not in invite for invite in records["invites"])
    for private in ("reps", "goals", "drills", "lessons", "cycles", "reflections", "feedback_requests", "study_items",
                    "lesson_checks", "weekly_checkins", "safety_pulses", "threshold_rules"):
        assert records[private] == [], private
    raw = json.dumps(document)
    assert "Sam's private rep" not in raw and "Rushed" not in raw and "Was my pacing right?" not in raw
    assert "Safe to say so" not in raw


def test_a_cell_a_spreadsheet_would_run_is_neutralised_in_the_csv_and_kept_as_typed_in_the_json(app, clock,
                                                                                             learner):
    clock.set(NOW)
    formula = '=HYPERLINK("http://evil.example","click")'
    log(learner, make_drill(make_goal(learner)), 3, at=NOW, note=formula, adjustment="-2+3")
    document, tables, _zip = unpack(archive_of(learner))
    assert document["records"]["reps"][0]["note"] == formula
    assert tables["reps"][0]["note"] == "'" + formula and tables["reps"][0]["adjustment"] == "'-2+3"


def test_times_are_iso_8601_in_utc_and_text_keeps_every_script(app, clock, learner):
    clock.set(NOW)
    log(learner, make_drill(make_goal(learner, title="שלום 🎯")), 3, at=NOW, note="مرحبا 👋")
    records = unpack(archive_of(learner))[0]["records"]
    assert records["reps"][0]["performed_at"] == "2026-03-04T15:00:00+00:00"
    assert records["goals"][0]["title"] == "שלום 🎯" and records["reps"][0]["note"] == "مرحبا 👋"


def test_every_exported_field_is_documented_in_the_schema(app):
    sections = re.split(r"^## ", services.SCHEMA_DOC.read_text(), flags=re.M)[1:]
    documented = {s.split("\n", 1)[0].strip(): set(re.findall(r"^- `([a-z_]+)`", s, flags=re.M)) for s in sections}
    assert set(documented) == {kind.name for kind in services.KINDS}
    for kind in services.KINDS:
        assert documented[kind.name] == set(kind.columns()), kind.name
    assert f"version {services.VERSION}" in services.SCHEMA_DOC.read_text().splitlines()[0]


def test_an_archive_costs_two_queries_per_kind_however_many_reps(app, clock, learner):
    """A year of practice (about 730 reps) reads like a week of it: two queries per kind."""
    clock.set(NOW)
    drill = make_drill(make_goal(learner))

    def queries() -> int:
        seen = []
        record = lambda *_args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            archive_of(learner)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(seen)

    log(learner, drill, 1, at=NOW)
    few = queries()
    db.session.add_all(Rep(learner_id=learner.id, goal_id=drill.goal_id, drill_id=drill.id, value=n % 9,
                           outcome="hit", performed_at=NOW - timedelta(hours=12 * n), logged_at=NOW,
                           idempotency_key=f"bulk-{n}")
                       for n in range(1, 730))
    db.session.commit()
    # Two per kind (the JSON, then the CSV), beside BEGIN and reloading the person the test's commit expired.
    assert queries() == few <= 2 * len(services.KINDS) + 2
    assert len(unpack(archive_of(learner))[0]["records"]["reps"]) == 730


def test_download_my_data_needs_a_session_and_sends_a_zip(app, client, login, world):
    assert client.get("/account/export").status_code == 302
    login(world["learner"])
    settings = client.get("/settings").get_data(as_text=True)
    assert "Download my data" in settings and "your browser shows how much has arrived" in settings  # its progress
    response = client.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert re.match(r'attachment; filename=failforward-\d+-2026-03-04\.zip', response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    assert unpack(response.data)[0]["records"]["reps"]


# --- Import data ---------------------------------------------------------------------------------------

def comparable(document: dict) -> dict:
    """An export's records without what an import renumbers (ids, owners, other people)."""
    renumbered = {"id", "learner_id", "user_id", "goal_id", "drill_id", "rep_id", "request_id", "lesson_id",
                  "tag_id", "deck_id", "item_id", "reflection_id", "routine_id", "feedback_request_id",
                  "follow_up_of_id", "author_id", "created_by_id", "cycle_id", "previous_id", "harm_goal_id",
                  "premortem_id", "risk_id", "coach_id", "voter_id", "review_id", "owner_id"}
    kept = {kind.name for kind in services.KINDS if not kind.kept_out}
    return {name: [{k: v for k, v in row.items() if k not in renumbered} for row in rows]
            for name, rows in document["records"].items() if name in kept}


def test_a_dry_run_saves_nothing_and_the_import_brings_every_record_across(app, world, make_user):
    robin = make_user(name="Robin", email="robin@example.com")  # stands in for the account on another instance
    document = unpack(archive_of(world["learner"]))[0]
    before = unpack(archive_of(robin))[0]["records"]
    report = importing.import_archive(robin, document, dry_run=True)
    # Everything but Casey's vote, which only Casey's account can hold.
    assert report.added == sum(len(document["records"][k.name]) for k in services.KINDS if not k.kept_out) - 1
    assert report.refused == 0 and not report.written
    assert unpack(archive_of(robin))[0]["records"] == before  # nothing was written

    written = importing.import_archive(robin, document, dry_run=False)
    assert written.added == report.added and written.written
    theirs, ours = comparable(unpack(archive_of(robin))[0]), comparable(document)
    assert [v["dots"] for v in ours.pop("risk_votes")] == [2, 1]
    assert [v["dots"] for v in theirs.pop("risk_votes")] == [2]
    assert theirs == ours
    # The coach's answer came across without its author: Casey is not Robin's to name. Casey's vote is
    # Casey's own, so it stays out; Casey's cause comes in without its author.
    assert written.links_dropped >= 3
    robins = unpack(archive_of(robin))[0]["records"]
    assert [m["author_id"] for m in robins["feedback_messages"]] == [None]
    assert [v["dots"] for v in robins["risk_votes"]] == [2]
    assert [c["author_id"] for c in robins["causes"]] == [robin.id, robin.id, None]
    # The imported reps' goals show their weeks at once: the roll-ups came in with the reps.
    robins_weeks = db.select(GoalWeek.goal_id, GoalWeek.monday, GoalWeek.value, GoalWeek.reps).join(
        Goal, Goal.id == GoalWeek.goal_id).where(Goal.learner_id == robin.id)
    kept = set(db.session.execute(robins_weeks).all())
    weekly.rebuild(db.session.connection(), Goal.learner_id == robin.id)
    assert kept and set(db.session.execute(robins_weeks).all()) == kept


def test_importing_the_same_archive_again_adds_nothing(app, world, make_user):
    robin = make_user(name="Robin", email="robin@example.com")
    document = unpack(archive_of(world["learner"]))[0]
    importing.import_archive(robin, document, dry_run=False)
    again = importing.import_archive(robin, document, dry_run=False)
    assert again.added == 0 and again.refused == 0
    assert importing.import_archive(world["learner"], document, dry_run=True).added == 0  # into its own account


def test_bad_records_are_refused_line_by_line_and_the_rest_comes_in(app, clock, learner, make_user):
    clock.set(NOW)
    drill = make_drill(make_goal(learner))
    make_drill(drill.goal, name="Second drill")
    log(learner, drill, 4, at=NOW)
    document = unpack(archive_of(learner))[0]
    records = document["records"]
    records["drills"][1]["name"] = "x" * 121
    records["reps"].append({**records["reps"][0], "id": 999, "value": "fast", "idempotency_key": "other"})
    records["reps"].append({**records["reps"][0], "id": 998, "drill_id": records["drills"][1]["id"],
                            "idempotency_key": "on-the-refused-drill"})
    records["goals"].append("not a record")
    report = importing.import_archive(make_user(email="robin@example.com"), document, dry_run=False)
    assert report.refusals == [("goals", 2, "not a record"),
                               ("drills", 2, "name is longer than 120 characters"),
                               ("reps", 2, "value is not a number"),
                               ("reps", 3, "its drill is not in the archive")]
    added = {kind.name: kind.added for kind in report.kinds}
    assert added["goals"] == added["drills"] == added["reps"] == 1


@pytest.mark.parametrize(("archive", "message"), [
    (b"not a zip at all", "not a ZIP archive"),
    (None, "no failforward.json"),
    ({"format": "something-else", "records": {}}, "not a failforward export"),
    ({"format": "failforward-export", "version": 99, "records": {}}, "export version 99"),
    (b"{broken json", "damaged"),
])
def test_an_archive_this_instance_cannot_read_is_refused_with_a_reason(app, archive, message):
    if archive is not None and not isinstance(archive, bytes) or archive == b"{broken json":
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as zipped:
            zipped.writestr("failforward.json", archive if isinstance(archive, bytes) else json.dumps(archive))
        archive = packed.getvalue()
    elif archive is None:
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as zipped:
            zipped.writestr("other.txt", "hello")
        archive = packed.getvalue()
    with pytest.raises(importing.ArchiveError, match=message):
        importing.read_archive(io.BytesIO(archive))


def test_import_data_shows_a_dry_run_then_imports_on_confirmation(app, client, login, world, make_user):
    data = archive_of(world["learner"])
    robin = make_user(name="Robin", email="robin@example.com")
    login(robin)
    assert "Import data" in client.get("/settings").get_data(as_text=True)
    response = client.post("/account/import", data={"archive": (io.BytesIO(data), "failforward.zip")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "would be added" in page and "Nothing is saved until you confirm" in page
    assert count(Rep, Rep.learner_id == robin.id) == 0
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    response = client.post("/account/import/apply", data={"digest": digest})
    assert response.status_code == 303 and count(Rep, Rep.learner_id == robin.id) == 3
    assert "Imported" in client.get(response.headers["Location"]).get_data(as_text=True)
    # The upload was used up: confirming again says so instead of importing twice.
    again = client.post("/account/import/apply", data={"digest": digest})
    assert again.status_code == 422 and "no longer waiting" in again.get_data(as_text=True)


@pytest.mark.app_config(MAX_CONTENT_LENGTH=1024, IMPORT_MAX_MB=1)
def test_import_data_takes_an_archive_larger_than_other_uploads_up_to_import_max_mb(app, client, login, world,
                                                                                  make_user):
    data = archive_of(world["learner"])
    assert 1024 < len(data) < 1024 * 1024
    login(make_user(email="robin@example.com"))
    taken = client.post("/account/import", data={"archive": (io.BytesIO(data), "failforward.zip")},
                        content_type="multipart/form-data")
    assert taken.status_code == 200 and "would be added" in taken.get_data(as_text=True)
    # A raw body: the test client would spool a large upload to a file it never closes on a 413.
    too_large = client.post("/account/import", data=b"x" * (1024 * 1024 + 1),
                            content_type="multipart/form-data; boundary=x")
    assert too_large.status_code == 413 and "too much to send at once" in too_large.get_data(as_text=True)


def test_import_data_answers_a_missing_or_wrong_file_beside_the_field(app, client, login, learner):
    login(learner)
    missing = client.post("/account/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose the ZIP file to import." in field_error(missing, "archive")
    wrong = client.post("/account/import", data={"archive": (io.BytesIO("שלום 👋".encode()), "notes.zip")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and "not a ZIP archive" in field_error(wrong, "archive")
    forged = client.post("/account/import/apply", data={"digest": "../../etc/passwd"})
    assert forged.status_code == 422


def test_the_cli_exports_an_account_and_imports_it_with_a_dry_run_first(app, runner, world, make_user, tmp_path):
    robin = make_user(name="Robin", email="robin@example.com")
    path = tmp_path / "lee.zip"
    result = runner.invoke(args=["export-data", "lee@example.com", str(path)])
    assert result.exit_code == 0 and "Wrote lee@example.com's data" in result.output
    dry = runner.invoke(args=["import-data", "robin@example.com", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "nothing was saved" in dry.output and "reps" in dry.output
    assert count(Rep, Rep.learner_id == robin.id) == 0
    done = runner.invoke(args=["import-data", "robin@example.com", str(path)])
    assert done.exit_code == 0 and "Imported" in done.output and count(Rep, Rep.learner_id == robin.id) == 3
    assert "link(s) to other people left out" in done.output
    missing = runner.invoke(args=["import-data", "nobody@example.com", str(path)])
    assert missing.exit_code != 0 and "No account has the address nobody@example.com" in missing.output
    (tmp_path / "junk.zip").write_bytes(b"junk")
    junk = runner.invoke(args=["import-data", "robin@example.com", str(tmp_path / "junk.zip")])
    assert junk.exit_code != 0 and "not a ZIP archive" in junk.output
