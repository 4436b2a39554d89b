"""Study import of files in the shapes Anki 2.1.55+ writes (its header lines, HTML, guids, quoted fields over
several lines), and an export that the import reads back exactly."""

from datetime import UTC, datetime

import pytest

from failforward.extensions import db
from failforward.study import answering, exchange, services
from failforward.study.models import StudyItem
from tests.factories import count

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(MONDAY)


@pytest.fixture
def deck(learner):
    return services.create_deck(learner, learner, "French", "")


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
    assert [line.number for line in preview.bad] == [1]


def test_a_notes_export_with_every_column_reads_the_fields_and_adds_nothing_the_second_time(deck, learner):
    header = ("#separator:tab\n#html:true\n#guid column:1\n#notetype column:2\n#deck column:3\n"
              "#tags column:6\n")
    text = anki_file(["f]Q9x!pE2a", "Basic", "French::Nouns", "la <b>maison</b>", "the house", "fr noun"],
                     ["Zk2&t+L0q", "Basic", "French::Nouns", "le chat", "the cat<br>(pet)", ""], header=header)
    first = exchange.import_items(learner, deck, text)
    assert items(first) == [("la <b>maison</b>", "the house", "fr noun"), ("le chat", "the cat\n(pet)", "")]
    assert [(line.guid, line.html) for line in first.good] == [("f]Q9x!pE2a", True), ("Zk2&t+L0q", False)]
    assert any("deck is not used" in said for said in first.header.summary())
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


def test_the_anki_export_is_read_back_exactly_and_reimporting_it_adds_nothing(deck, learner):
    services.create_item(learner, deck, {"prompt": "Say \"hi\"\nin French", "answer": "bonjour, salut",
                                         "tags": "greeting"})
    services.create_item(learner, deck, {"prompt": "a < b & c\tand tab", "answer": "yes"})
    exchange.import_items(learner, deck, "#html:true\n<i>maison</i>,house\n")
    exported = exchange.export_deck(deck, tab_separated=True)
    assert exported.startswith("#separator:tab\n#html:true\n#notetype:Basic\n#deck:French\n"
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


def of_deck(deck) -> list[StudyItem]:
    return list(db.session.scalars(db.select(StudyItem).where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)))
