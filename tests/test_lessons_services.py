"""Lessons: capture and links, the search on SQLite FTS5 and PostgreSQL, the 30-day check, reviews."""

from datetime import UTC, date, datetime, timedelta

import pytest

from failforward.extensions import db
from failforward.lessons import reviews, search, services
from failforward.lessons.models import DID_NOT, NOT_YET, OPEN, WORKED, Lesson
from failforward.mail.models import OutboxMessage
from tests.factories import link, log, make_drill, make_goal

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
_keys = iter(range(1, 100_000))


def lesson(learner, what_failed="Missed the page", tags=None, source=None, **fields):
    values = {"happened_on": NOW.date(), "context": "", "what_failed": what_failed, "what_tried": "",
              "try_next": "", "check_on": None, "shared": False, **fields}
    made, _ = services.create_lesson(learner, values, tags or {}, source, f"key-{next(_keys):06d}")
    return made


@pytest.fixture
def learner(clock, make_user):
    clock.set(NOW)
    return make_user(name="Lee Learner")


def test_a_lesson_is_checked_30_days_later_in_the_learners_calendar(clock, make_user):
    clock.set(datetime(2026, 3, 4, 23, 30, tzinfo=UTC))  # already 5 March in Tokyo
    tokyo = make_user(timezone="Asia/Tokyo")
    assert lesson(tokyo).check_on == date(2026, 4, 4)
    assert lesson(tokyo, check_on=date(2026, 3, 20)).check_on == date(2026, 3, 20)


def test_saving_twice_with_one_key_saves_one_lesson(learner):
    fields = {"happened_on": NOW.date(), "context": "", "what_failed": "x", "what_tried": "", "try_next": "",
              "check_on": None, "shared": False}
    first, created = services.create_lesson(learner, fields, {}, None, "same-key-123")
    again, created_again = services.create_lesson(learner, fields, {}, None, "same-key-123")
    assert (created, created_again, again.id) == (True, False, first.id)
    assert db.session.scalar(db.select(db.func.count()).select_from(Lesson)) == 1


def test_a_lesson_from_a_rep_links_its_goal_and_drill_but_never_someone_elses_rep(learner, make_user):
    drill = make_drill(make_goal(learner))
    rep = log(learner, drill, 12.0, note="Froze on the second alert", adjustment="Read the runbook first")
    assert services.prefill(learner, ("rep", rep.id))["try_next"] == "Read the runbook first"
    made = lesson(learner, source=("rep", rep.id))
    assert (made.rep_id, made.drill_id, made.goal_id) == (rep.id, drill.id, drill.goal_id)

    stranger = make_user()
    assert services.prefill(stranger, ("rep", rep.id)) == {}
    assert lesson(stranger, source=("rep", rep.id)).rep_id is None


def test_tags_are_tidied_and_shared_between_lessons(learner):
    first = lesson(learner, tags={"system": ["pager"], "root-cause": ["rushed"], "metric": []})
    second = lesson(learner, tags={"system": ["pager", "handover"], "root-cause": [], "metric": ["response time"]})
    assert [t.name for t in services.tags_of(learner)] == ["response time", "rushed", "handover", "pager"]
    assert {t.id for t in first.tags} & {t.id for t in second.tags}
    assert second.tags_text == "pager handover response time"


# --- search ---------------------------------------------------------------------------------------

def test_search_finds_all_the_words_best_first_and_highlights_them(learner):
    lesson(learner, "Slow triage on the database alert", try_next="Check the dashboard before paging")
    lesson(learner, "Forgot the handover note")
    lesson(learner, "Triage went fine", context="database migration night")

    hits = search.search(learner, learner, {"q": "triage database"})

    assert {hit.lesson.what_failed for hit in hits} == {"Slow triage on the database alert", "Triage went fine"}
    assert all("<mark>" in hit.snippet for hit in hits)


def test_search_matches_the_start_of_the_last_word_while_typing(learner):
    lesson(learner, "Dashboard was stale")
    assert [hit.lesson.what_failed for hit in search.search(learner, learner, {"q": "dashb"})] == [
        "Dashboard was stale"] or db.engine.dialect.name != "sqlite"


def test_search_text_that_looks_like_html_or_query_syntax_stays_text(learner):
    lesson(learner, '<script>alert("x")</script> broke the triage page', try_next='"quotes" AND OR NEAR( * -')
    for query in ['"', "AND OR NOT", "NEAR(", "*", "-x", "<script>", "triage\u202e", "👩🏽‍💻", "'; DROP TABLE lesson"]:
        search.search(learner, learner, {"q": query})  # never raises
    hit = search.search(learner, learner, {"q": "triage"})[0]
    # SQLite shows the tag as text; PostgreSQL's headline drops HTML tags altogether. Neither runs it.
    assert "<script>" not in hit.snippet and "<mark>triage</mark>" in hit.snippet


def test_search_sees_edits_and_deletions(learner):
    made = lesson(learner, "Old words")
    services.update_lesson(made, {"happened_on": NOW.date(), "context": "", "what_failed": "Fresh phrasing",
                                  "what_tried": "", "try_next": "", "check_on": None, "shared": False},
                           {"system": ["kettle"]})
    assert search.search(learner, learner, {"q": "old"}) == []
    assert [h.lesson.id for h in search.search(learner, learner, {"q": "kettle"})] == [made.id]
    services.delete_lesson(made)
    assert search.search(learner, learner, {"q": "fresh"}) == []


def test_search_filters_by_tag_and_status(learner):
    pager = lesson(learner, "Pager one", tags={"system": ["pager"]})
    lesson(learner, "Pager two", tags={"system": ["email"]})
    services.answer_check(pager, WORKED, "")
    assert [h.lesson.id for h in search.search(learner, learner, {"q": "pager", "tags": {"system": "pager"}})] == [
        pager.id]
    assert [h.lesson.id for h in search.search(learner, learner, {"q": "", "status": WORKED})] == [pager.id]
    assert len(search.search(learner, learner, {"q": "pager", "status": OPEN})) == 1


def test_a_coach_finds_only_shared_lessons_and_a_stranger_nothing(learner, make_user):
    coach, stranger = make_user(name="Casey Coach"), make_user()
    link(coach, learner)
    lesson(learner, "Private triage lesson")
    shared = lesson(learner, "Shared triage lesson", shared=True)
    assert [h.lesson.id for h in search.search(coach, learner, {"q": "triage"})] == [shared.id]
    assert [h.lesson.id for h in search.search(coach, learner, {"q": ""})] == [shared.id]
    with pytest.raises(Exception) as refused:
        search.search(stranger, learner, {"q": "triage"})
    assert getattr(refused.value, "code", None) == 404
    other = make_user()
    lesson(other, "Someone else's triage")
    assert [h.lesson.id for h in search.search(learner, learner, {"q": "triage"})] != []
    assert all(h.lesson.learner_id == learner.id for h in search.search(learner, learner, {"q": "triage"}))


def test_highlight_escapes_everything_but_its_own_marks():
    marked = "a <b>bold</b> \x02<i>word</i>\x03 & more"
    expected = "a &lt;b&gt;bold&lt;/b&gt; <mark>&lt;i&gt;word&lt;/i&gt;</mark> &amp; more"
    assert str(search.highlight(marked)) == expected


# --- the 30-day check -------------------------------------------------------------------------------

def test_a_check_falls_due_on_its_date_and_not_tried_yet_snoozes_it_7_days(learner, clock):
    made = lesson(learner, try_next="Read the runbook first")
    assert services.due_checks(learner) == []
    clock.set(NOW + timedelta(days=30))
    assert services.due_checks(learner) == [made]

    services.answer_check(made, NOT_YET, "No page this month")

    assert made.status == OPEN and made.check_on == date(2026, 4, 10)
    assert services.due_checks(learner) == []
    clock.set(NOW + timedelta(days=37))
    assert services.due_checks(learner) == [made]
    services.answer_check(made, DID_NOT, "Still froze")
    assert made.status == DID_NOT and [c.answer for c in made.checks] == [NOT_YET, DID_NOT]
    assert services.follow_up_offered(made)
    follow_up = lesson(learner, source=("follow_up", made.id))
    assert follow_up.follow_up_of_id == made.id and not services.follow_up_offered(made)


def test_answering_a_closed_check_the_same_way_twice_keeps_one_answer(learner, clock):
    made = lesson(learner)
    services.answer_check(made, WORKED, "yes")
    services.answer_check(made, WORKED, "yes")
    assert len(made.checks) == 1


def test_due_checks_get_one_notice_and_one_email_per_check_date(learner, clock, inbox):
    made = lesson(learner, try_next="Read the runbook first")
    clock.set(datetime(2026, 4, 2, 23, 59, tzinfo=UTC))
    assert services.create_due_checks() == 0
    clock.set(datetime(2026, 4, 3, 10, 0, tzinfo=UTC))
    assert services.create_due_checks() == 1
    assert services.create_due_checks() == 0
    keys = list(db.session.scalars(db.select(OutboxMessage.key)))
    assert keys == [f"lesson-check:{made.id}:2026-04-03"]
    assert "Read the runbook first" in inbox.body(inbox.last_to(learner.email))

    services.answer_check(made, NOT_YET, "")
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=UTC))
    assert services.create_due_checks() == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 2


def test_a_check_is_due_at_midnight_in_the_learners_zone(clock, make_user):
    clock.set(NOW)
    auckland = make_user(timezone="Pacific/Auckland")
    made = lesson(auckland, happened_on=date(2026, 3, 5))
    clock.set(datetime.combine(made.check_on - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
              + timedelta(hours=10))  # 23:00 the day before in Auckland
    assert services.create_due_checks() == 0
    clock.set(services.clock.now() + timedelta(hours=1, minutes=1))
    assert services.create_due_checks() == 1


# --- reviews --------------------------------------------------------------------------------------

def test_weekly_review_shows_the_week_checks_due_and_repeating_tags(learner, clock):
    old = lesson(learner, "Earlier", happened_on=date(2026, 2, 10), tags={"root-cause": ["rushed"]})
    lesson(learner, "This week", happened_on=date(2026, 3, 3), tags={"root-cause": ["rushed"]})
    lesson(learner, "Too old", happened_on=date(2025, 12, 1), tags={"system": ["pager"]})
    old.check_on = date(2026, 3, 6)
    db.session.commit()

    review = reviews.weekly_review(learner, date(2026, 3, 4))

    assert review.start == date(2026, 3, 2)
    assert [lesson.what_failed for lesson in review.lessons] == ["This week"]
    assert review.checks_due == [old]
    assert [(tag.name, count) for tag, count in review.repeats] == [("rushed", 2)]


def test_monthly_synthesis_counts_answers_and_recurring_root_causes(learner, clock):
    first = lesson(learner, "One", tags={"root-cause": ["rushed"]}, try_next="Slow down")
    second = lesson(learner, "Two", tags={"root-cause": ["rushed", "tired"]})
    services.answer_check(first, WORKED, "")
    services.answer_check(second, NOT_YET, "")

    synthesis = reviews.monthly_synthesis(learner, date(2026, 3, 20))

    assert synthesis.answer_counts == {WORKED: 1, NOT_YET: 1}
    assert [(tag.name, count) for tag, count in synthesis.repeats] == [("rushed", 2)]
    assert len(synthesis.lessons) == 2
