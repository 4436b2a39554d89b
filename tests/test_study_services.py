"""Study services: FSRS state round-trips, the due queue, lenient comparison, import (CSV and the Anki text
dialect, round trip), leeches, stats."""

from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler, State

from failforward.extensions import db
from failforward.study import answering, exchange, services
from failforward.study import stats as study_stats
from failforward.study.models import Deck, StudyItem, StudyReview
from tests.factories import count, link

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(MONDAY)


@pytest.fixture
def deck(learner):
    return services.create_deck(learner, learner, "Capitals", "")


def add(deck, prompt="Capital of France?", answer="Paris", **fields):
    return services.create_item(deck.learner, deck, {"prompt": prompt, "answer": answer, **fields})


def study(learner, item, given, rating, confidence=3, error_class=None, note=""):
    review = answering.answer(learner, item, given, confidence)
    if rating == 1 and error_class is None:
        error_class = "related"
    return answering.rate(learner, review, rating, error_class, note)


# --- FSRS ---------------------------------------------------------------------------------------

def test_the_card_state_round_trips_through_the_item_columns(deck, learner):
    item = add(deck)
    study(learner, item, "Paris", 3)
    db.session.expire_all()
    item = db.session.get(StudyItem, item.id)
    card = answering.card_of(item)
    expected, _ = Scheduler().review_card(Card(card_id=item.id, due=MONDAY), Rating.Good, review_datetime=MONDAY,
                                          review_duration=0)
    assert card.to_dict() == expected.to_dict()
    assert card.due.tzinfo is UTC and card.last_review == MONDAY
    answering.store_card(item, card)
    assert answering.card_of(item).to_dict() == card.to_dict()


def test_every_review_is_logged_with_the_fsrs_rating_and_utc_times(deck, learner, clock):
    item = add(deck)
    study(learner, item, "Lyon", 1, confidence=5, error_class="related", note="Both big cities")
    clock.set(MONDAY + timedelta(hours=1))
    study(learner, item, "paris", 3)
    reviews = list(db.session.scalars(db.select(StudyReview).order_by(StudyReview.id)))
    assert [(r.rating, r.correct, r.error_class) for r in reviews] == [(1, False, "related"), (3, True, None)]
    assert reviews[0].note == "Both big cities" and reviews[0].matched is False and reviews[1].matched is True
    assert reviews[1].reviewed_at == MONDAY + timedelta(hours=1) and reviews[1].reviewed_at.tzinfo is UTC
    item = db.session.get(StudyItem, item.id)
    assert item.recovered and item.failures == 1 and item.reviews == 2 and item.first_correct is False


def test_desired_retention_changes_the_interval(learner, make_user, deck):
    other = make_user()
    services.update_settings(other, 20, 0.97)
    mine = add(deck)
    theirs = add(services.create_deck(other, other, "Other", ""))
    for person, item in ((learner, mine), (other, theirs)):
        study(person, item, "Paris", 3)
        study(person, item, "Paris", 3)  # out of learning: a Review-state interval from FSRS
    db.session.expire_all()
    mine, theirs = db.session.get(StudyItem, mine.id), db.session.get(StudyItem, theirs.id)
    assert mine.state == theirs.state == State.Review
    assert theirs.due < mine.due


def test_rating_twice_changes_nothing(deck, learner):
    item = add(deck)
    review = answering.answer(learner, item, "Paris", 4)
    assert answering.answer(learner, item, "Paris", 4).id == review.id  # a double tap
    answering.rate(learner, review, 3, None, "")
    due = db.session.get(StudyItem, item.id).due
    answering.rate(learner, review, 1, "unknown", "")
    assert db.session.get(StudyItem, item.id).due == due and review.rating == 3
    assert count(StudyReview) == 1


def test_again_needs_an_error_class(deck, learner):
    review = answering.answer(learner, add(deck), "Rome", 2)
    with pytest.raises(services.StudyError):
        answering.rate(learner, review, 1, None, "")
    assert review.rating is None


# --- the queue ----------------------------------------------------------------------------------

def test_due_items_come_first_then_new_ones_up_to_the_daily_limit(deck, learner, clock):
    services.update_settings(learner, 2, 0.9)
    first, second, third, fourth = (add(deck, f"Q{i}", f"A{i}") for i in range(4))
    study(learner, first, "A0", 1)
    study(learner, second, "A1", 3)
    queue = answering.next_in_queue(learner)
    assert queue.item is None and queue.new_left == 0  # two new items today: the limit
    clock.set(MONDAY + timedelta(days=1))
    queue = answering.next_in_queue(learner)
    assert queue.due == 2 and queue.item.id == first.id  # overdue longest first
    study(learner, first, "A0", 3)
    study(learner, second, "A1", 3)
    queue = answering.next_in_queue(learner)
    assert queue.item.id == third.id and queue.new_left == 2
    assert fourth.id not in {queue.item.id}


def test_a_waiting_answer_comes_back_before_anything_else(deck, learner):
    item = add(deck)
    add(deck, "Another", "One")
    review = answering.answer(learner, item, "Paris", 5)
    queue = answering.next_in_queue(learner)
    assert queue.pending.id == review.id and queue.item is None


def test_the_queue_is_per_deck_when_asked(deck, learner):
    other = services.create_deck(learner, learner, "Verbs", "")
    add(deck)
    verb = add(other, "to be (fr)", "être")
    assert answering.next_in_queue(learner, other.id).item.id == verb.id


def test_the_day_starts_in_the_learners_zone(make_user, clock):
    night_owl = make_user(timezone="America/Los_Angeles")
    services.update_settings(night_owl, 1, 0.9)
    deck = services.create_deck(night_owl, night_owl, "D", "")
    first, _ = add(deck, "A", "a"), add(deck, "B", "b")
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # 23:00 on the 2nd in Los Angeles
    study(night_owl, first, "a", 3)
    clock.set(datetime(2026, 3, 3, 7, 30, tzinfo=UTC))  # still the 2nd there
    assert answering.next_in_queue(night_owl).new_left == 0
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=UTC))  # 00:30 on the 3rd there
    assert answering.next_in_queue(night_owl).new_left == 1


# --- comparing answers --------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    ("paris", "Paris"), ("  Paris  ", "Paris"), ("São  Paulo", "sao paulo"), ("ÉTRE", "être"),
    ("new\tyork", "New York"), ("straße", "STRASSE"),
])
def test_answers_match_leniently(given, expected):
    assert answering.answers_match(given, expected)


@pytest.mark.parametrize(("given", "expected"), [("Pari", "Paris"), ("Lyon", "Paris"), ("", "Paris")])
def test_different_answers_do_not_match(given, expected):
    assert not answering.answers_match(given, expected)


def test_the_reveal_marks_only_real_differences():
    near = answering.compare("Pariss", "paris")
    assert [p for p in near.given if p.changed] == [answering.Piece("s", True)]
    assert not any(p.changed for p in near.expected)
    assert "".join(p.text for p in near.given) == "Pariss"
    far = answering.compare("Lyon", "Paris")
    assert "".join(p.text for p in far.expected) == "Paris" and any(p.changed for p in far.expected)


@pytest.mark.parametrize(("given", "expected", "close"), [
    ("recodar", "recordar", True), ("Pariss", "Paris", True), ("el eror", "el error", True),
    ("Lyon", "Paris", False), ("olvidar", "recordar", False), ("no", "si", False), ("", "Paris", False),
    ("PARIS", "paris", False),  # the same answer: nothing to mark
])
def test_only_close_answers_get_letter_marks(given, expected, close):
    assert answering.compare(given, expected).close is close


# --- import and export --------------------------------------------------------------------------

ANKI = (
    b"#separator:tab\n#html:false\n#tags column:3\n"
    b"la maison\tthe house\tfr nouns\n"
    b"le chat\tthe cat\n"
    b"\n"
    b"only a front\n"
    b"la maison\tthe house\n"
    b"a\tb\tc\td\n"
    b"bad\x00line\tx\n"
) + b"caf\xe9\tcoffee\n"


def test_anki_import_keeps_good_lines_and_reports_bad_ones(deck):
    preview = exchange.parse_import(ANKI, deck)
    assert [(g.prompt, g.answer, g.tags) for g in preview.good] == [
        ("la maison", "the house", "fr nouns"), ("le chat", "the cat", "")]
    reasons = {line.number: line.problem for line in preview.bad}
    assert set(reasons) == {6, 7, 8, 9, 10, 11} and [line.number for line in preview.header_lines] == [1, 2, 3]
    assert "Empty" in reasons[6] and "two columns" in reasons[7] and "line 4" in reasons[8]
    assert "found 4" in reasons[9] and "control" in reasons[10] and "UTF-8" in reasons[11]
    assert count(StudyItem) == 0  # a preview saves nothing


def test_csv_import_with_quotes_and_confirming_twice_adds_once(deck, learner):
    text = '"prompt with, comma",answer\n"quoted ""word""",yes,tag1\n"unclosed,answer\n'
    first = exchange.import_items(learner, deck, text)
    assert [(g.prompt, g.answer, g.tags) for g in first.good] == [
        ("prompt with, comma", "answer", ""), ('quoted "word"', "yes", "tag1")]
    assert [line.number for line in first.bad] == [3]
    again = exchange.import_items(learner, deck, text)
    assert not again.good and count(StudyItem) == len(first.good)
    assert any("Already" in line.problem for line in again.bad)


def test_export_round_trips_through_import(deck, learner):
    add(deck, "Capital of Peru?", "Lima", tags="geo")
    add(deck, 'Say "hi"', "bonjour, salut")
    for anki in (True, False):
        other = services.create_deck(learner, learner, f"Copy {anki}", "")
        preview = exchange.import_items(learner, other, exchange.export_deck(deck, tab_separated=anki))
        assert [(g.prompt, g.answer, g.tags) for g in preview.good] == [
            ("Capital of Peru?", "Lima", "geo"), ('Say "hi"', "bonjour, salut", "")]


# --- the Anki text dialect: files made from its rules ------------------------------------------

def anki_file(*records: list[str], separator: str = "\t", header: str = "") -> str:
    """A file as Anki writes it: the header lines, then one record a line joined by the separator."""
    return header + "".join(separator.join(fields) + "\n" for fields in records)


def items(preview):
    return [(line.prompt, line.answer, line.tags) for line in preview.good]


@pytest.mark.parametrize(("said", "separator"), [
    ("comma", ","), ("Semicolon", ";"), ("TAB", "\t"), ("space", " "), ("pipe", "|"), ("Colon", ":"),
    (";", ";"), ("|", "|"), ("\t", "\t"), (" ", " ")])
def test_the_separator_is_read_by_name_in_any_case_or_as_the_character(said, separator):
    preview = exchange.parse_import(anki_file(["maison", "house"], ["chat", "cat"], separator=separator,
                                              header=f"#separator:{said}\n"))
    assert items(preview) == [("maison", "house", ""), ("chat", "cat", "")]
    assert not preview.bad and [line.number for line in preview.header_lines] == [1]


def test_a_notes_export_with_every_column_reads_the_fields_and_adds_nothing_the_second_time(deck, learner):
    header = ("#separator:tab\n#html:true\n#guid column:1\n#notetype column:2\n#deck column:3\n"
              "#tags column:6\n")
    text = anki_file(["f]Q9x!pE2a", "Basic", "French::Nouns", "la <b>maison</b>", "the house", "fr noun"],
                     ["Zk2&t+L0q", "Basic", "French::Nouns", "le chat", "the cat<br>(pet)", ""], header=header)
    first = exchange.import_items(learner, deck, text)
    assert items(first) == [("la <b>maison</b>", "the house", "fr noun"), ("le chat", "the cat\n(pet)", "")]
    assert [(line.guid, line.html) for line in first.good] == [("f]Q9x!pE2a", True), ("Zk2&t+L0q", False)]
    assert any("deck and note type are not used" in said for said in first.header.summary())
    again = exchange.import_items(learner, deck, text)
    assert not again.good and count(StudyItem) == 2
    assert [line.problem for line in again.bad[-2:]] == ["Already in this deck: skipped."] * 2


def test_the_same_guid_is_the_same_note_even_when_its_text_changed(deck, learner):
    header = "#separator:tab\n#html:false\n#guid column:1\n"
    exchange.import_items(learner, deck, anki_file(["g1", "maison", "house"], header=header))
    edited = exchange.parse_import(anki_file(["g1", "maison", "home"], ["g2", "chat", "cat"], ["g2", "chien", "dog"],
                                             header=header), deck)
    assert items(edited) == [("chat", "cat", "")]
    assert [line.problem for line in edited.bad[-2:]] == ["Already in this deck: skipped.",
                                                          "The same as line 5: skipped."]


def test_a_semicolon_file_with_a_deck_column_is_read_not_refused():
    preview = exchange.parse_import(anki_file(["French", "le chat", "the cat", "animal"],
                                              ["French", "le chien", "the dog", ""],
                                              separator=";", header="#separator:Semicolon\n#deck column:1\n"))
    assert items(preview) == [("le chat", "the cat", "animal"), ("le chien", "the dog", "")]


@pytest.mark.parametrize(("columns", "record", "expected"), [
    ("Back\tFront", ["house", "maison"], ("maison", "house", "")),
    ("question\tANSWER\tTags", ["maison", "house", "noun"], ("maison", "house", "noun")),
    ("Extra\tText", ["a building", "la {{c1::maison}}"], ("la {{c1::maison}}", "a building", "")),
    ("Notes\tFront\tBack", ["my note", "maison", "house"], ("maison", "house", "")),
])
def test_columns_named_by_the_header_map_onto_prompt_and_answer(columns, record, expected):
    preview = exchange.parse_import(anki_file(record, header=f"#separator:tab\n#columns:{columns}\n"))
    assert items(preview) == [expected]


def test_a_named_field_with_nowhere_to_go_is_left_out_with_a_note():
    preview = exchange.parse_import(anki_file(["maison", "house", "my note"],
                                              header="#separator:tab\n#columns:Front\tBack\tNotes\n"))
    assert items(preview) == [("maison", "house", "")] and preview.good[0].notes == ["Left out: Notes."]


def test_global_tags_from_the_first_line_and_from_the_header_join_each_items_tags():
    for header in ("tags:french vocab\n#separator:comma\n#tags column:3\n",
                   "#separator:comma\n#tags:french vocab\n#tags column:3\n"):
        preview = exchange.parse_import(anki_file(["maison", "house", "noun"], separator=",", header=header))
        assert items(preview) == [("maison", "house", "french vocab noun")]


def test_html_is_sanitised_scripts_and_media_dropped_with_a_note(deck, learner):
    text = anki_file(["<div>la <b>maison</b></div><script>alert(1)</script>",
                      '<img src="house.jpg" onerror="alert(2)">the <a href="javascript:alert(3)">house</a>'
                      "[sound:maison.mp3]"], header="#separator:tab\n#html:true\n")
    line = exchange.import_items(learner, deck, text).good[0]
    assert (line.prompt, line.answer, line.html) == ("<div>la <b>maison</b></div>", "the house", True)
    assert line.notes == ["A script was removed.",
                          "Media left out (files are not imported): sound maison.mp3, picture house.jpg."]
    item = db_item()
    assert item.html and item.answer_text == "the house"
    assert answering.answer(learner, item, "The House", 3).matched  # typed answers compare with the text


def db_item() -> StudyItem:
    return db.session.scalars(db.select(StudyItem)).one()


def test_html_is_sniffed_from_the_first_records_when_the_file_does_not_say():
    assert exchange.parse_import("la <b>maison</b>,house\n").good[0].html
    literal = exchange.parse_import("#html:false\nla <b>maison</b>,house\n").good[0]
    assert (literal.prompt, literal.html) == ("la <b>maison</b>", False)
    plain = exchange.parse_import("maison,house\nx &amp; y,z\n").good
    assert not plain[1].html and plain[1].prompt == "x &amp; y"


def test_quoted_fields_over_several_lines_are_one_item_and_lines_are_counted_right():
    sheet = ('maison,house\n'
             '"Ways to say hello","1. bonjour\n2. salut\n3. coucou"\n'
             'chat,cat\n'
             'maison,house\n'
             '"never closed,x\n')
    preview = exchange.parse_import(sheet)
    assert items(preview) == [("maison", "house", ""), ("Ways to say hello", "1. bonjour\n2. salut\n3. coucou", ""),
                              ("chat", "cat", "")]
    assert [line.lines for line in preview.good] == ["1", "2–4", "5"]
    assert [(line.number, line.problem) for line in preview.bad] == [
        (6, "The same as line 1: skipped."), (7, "Could not read the columns (a quote is not closed?).")]


def test_a_spreadsheets_semicolon_csv_is_read_when_commas_do_not_split_its_first_record():
    """Excel writes semicolons where the decimal mark is a comma (much of Europe); Anki reads such a file too."""
    sheet = exchange.parse_import("la maison;the house\nle chat, le chien;the cat, the dog;animals\n")
    assert items(sheet) == [("la maison", "the house", ""), ("le chat, le chien", "the cat, the dog", "animals")]
    assert sheet.header.summary() == ["Columns separated by semicolon."]
    commas = exchange.parse_import("Capital of France; and of Italy?,Paris; Rome\n")  # commas still come first
    assert items(commas) == [("Capital of France; and of Italy?", "Paris; Rome", "")]


def test_the_anki_export_is_read_back_exactly_and_reimporting_it_adds_nothing(deck, learner):
    services.create_item(learner, deck, {"prompt": "Say \"hi\"\nin French", "answer": "bonjour, salut",
                                         "tags": "greeting"})
    services.create_item(learner, deck, {"prompt": "a < b & c\tand tab", "answer": "yes"})
    exchange.import_items(learner, deck, "#html:true\n<i>maison</i>,house\n")
    exported = exchange.export_deck(deck, tab_separated=True)
    assert exported.startswith("#separator:tab\n#html:true\n#notetype:Basic\n#deck:Capitals\n"
                               "#columns:guid\tFront\tBack\ttags\n#guid column:1\n#tags column:4\n")
    copy = services.create_deck(learner, learner, "Copy", "")
    exchange.import_items(learner, copy, exported)
    fields = ("guid", "prompt", "answer", "tags", "html")

    def rows(of):
        return [tuple(getattr(item, name) for name in fields) for item in of_deck(of)]
    assert rows(copy) == rows(deck)
    assert not exchange.import_items(learner, deck, exported).good and count(StudyItem) == 6
    csv_copy = services.create_deck(learner, learner, "CSV copy", "")
    exchange.import_items(learner, csv_copy, exchange.export_deck(deck, tab_separated=False))
    assert [(i.prompt, i.answer, i.tags) for i in of_deck(csv_copy)][:2] == [
        (i.prompt, i.answer, i.tags) for i in of_deck(deck)][:2]


def test_a_first_field_that_reads_as_a_header_or_a_comment_is_quoted_so_the_item_comes_back(deck, learner):
    """Anki (and this import) skip a line that starts with # and read a first line `tags:` as tags; Anki's
    writer quotes such a field, so ours does: a prompt "#1 ..." or an Anki guid "#..." survives the round trip."""
    add(deck, "tags: what are they for?", "Grouping")
    add(deck, "#1 rule of triage?", "Stay calm")
    exchange.import_items(learner, deck, '#separator:tab\n#guid column:1\n"#Qx9&t"\tmaison\thouse\n')
    for anki in (True, False):
        copy = services.create_deck(learner, learner, f"Copy {anki}", "")
        preview = exchange.import_items(learner, copy, exchange.export_deck(deck, tab_separated=anki))
        assert items(preview) == [("tags: what are they for?", "Grouping", ""), ("#1 rule of triage?", "Stay calm", ""),
                                  ("maison", "house", "")]
        assert not preview.header.global_tags and not preview.bad
        assert (of_deck(copy)[-1].guid == "#Qx9&t") is anki  # a CSV has no guid column


def test_the_cli_imports_an_anki_file_into_a_deck_after_a_dry_run_and_exports_it_back(runner, learner, tmp_path):
    notes = tmp_path / "French.txt"
    notes.write_text(anki_file(["g1", "la <b>maison</b>", "house", "noun"], ["g2", "[sound:chat.mp3]chat", "cat", ""],
                               header="#separator:tab\n#html:true\n#guid column:1\n#tags column:4\n") + "only one\n")
    dry = runner.invoke(args=["study-import", learner.email, "French", str(notes), "--dry-run"])
    assert dry.exit_code == 0 and "Dry run: 2 item(s) would be imported into French" in dry.output
    assert "line 7: Needs at least two columns" in dry.output and count(StudyItem) == count(Deck) == 0
    done = runner.invoke(args=["study-import", learner.email, "French", str(notes)])
    assert "Imported 2 item(s) into French." in done.output and "line 6: Media left out" in done.output
    again = runner.invoke(args=["study-import", learner.email, "French", str(notes)])
    assert "Imported 0 item(s)" in again.output and count(StudyItem) == 2 and count(Deck) == 1
    back = tmp_path / "back.txt"
    exported = runner.invoke(args=["study-export", learner.email, "French", str(back)])
    assert exported.exit_code == 0 and back.read_text().startswith("#separator:tab\n#html:true\n")
    assert "g1\tla <b>maison</b>\thouse\tnoun\n" in back.read_text()
    missing = runner.invoke(args=["study-export", learner.email, "Spanish", str(back)])
    assert missing.exit_code != 0 and "has no deck named Spanish" in missing.output


def of_deck(deck) -> list[StudyItem]:
    return list(db.session.scalars(db.select(StudyItem).where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)))


# --- leeches and stats --------------------------------------------------------------------------

def test_four_failures_make_a_leech(deck, learner, clock):
    item = add(deck)
    for n in range(4):
        assert not db.session.get(StudyItem, item.id).is_leech
        clock.set(MONDAY + timedelta(days=n))
        study(learner, item, "Lyon", 1, error_class="related")
    item = db.session.get(StudyItem, item.id)
    assert item.is_leech
    assert [i.id for i in study_stats.stats(learner).leeches] == [item.id]
    answering.share_leech(learner, item)
    assert item.leech_shared_at == MONDAY + timedelta(days=3)


def test_stats_count_errors_that_became_knowledge_and_hypercorrection(deck, learner, clock):
    wrong_then_right, wrong_twice, right = add(deck, "Q1", "A1"), add(deck, "Q2", "A2"), add(deck, "Q3", "A3")
    study(learner, wrong_then_right, "x", 1, confidence=5, error_class="related")
    study(learner, wrong_twice, "y", 1, confidence=2, error_class="unknown")
    study(learner, right, "A3", 3, confidence=4)
    clock.set(MONDAY + timedelta(days=2))
    study(learner, wrong_then_right, "A1", 3)
    study(learner, wrong_twice, "z", 1, confidence=5, error_class="near_miss")
    figures = study_stats.stats(learner)
    assert (figures.first_wrong, figures.first_wrong_recovered) == (2, 1)
    assert (figures.first_right, figures.first_right_still_right) == (1, 1)
    assert (figures.high_confidence_errors, figures.high_confidence_corrected) == (2, 1)
    assert (figures.low_confidence_errors, figures.low_confidence_corrected) == (1, 0)
    assert (figures.reviews, figures.wrong) == (5, 3)
    this_week = figures.weeks[-1]
    assert this_week.reviews == 5 and this_week.classes == {"near_miss": 1, "related": 1, "unrelated": 0,
                                                            "unknown": 1}
    assert study_stats.stats(learner, services.create_deck(learner, learner, "Empty", "").id).reviews == 0


def test_a_coach_sees_the_stats_through_the_access_rule(deck, learner, make_user):
    coach, stranger = make_user(name="Casey Coach"), make_user()
    link(coach, learner)
    assert services.deck_or_404(coach, deck.id) == deck
    with pytest.raises(Exception) as refused:
        services.deck_or_404(stranger, deck.id)
    assert getattr(refused.value, "code", None) == 404
