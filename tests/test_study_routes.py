"""Study pages: a session without and with htmx, 422 with the text kept, 404 for others, coach views, queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from failforward.extensions import db
from failforward.study import answering, services
from failforward.study.models import StudyItem, StudyReview, StudySettings
from tests.factories import count, field_error, link, text

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BAD_TEXT = {
    "emoji": "🙂" * 3,
    "rtl": "\u202eدرس",
    "nul": "before\x00after",
}


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(MONDAY)


@pytest.fixture
def deck(learner):
    deck = services.create_deck(learner, learner, "Capitals", "")
    services.create_item(learner, deck, {"prompt": "Capital of France?", "answer": "Paris"})
    return deck


def the_review() -> StudyReview:
    return db.session.scalars(db.select(StudyReview)).one()


def test_a_session_without_javascript_answers_reveals_and_rates(client, login, learner, deck):
    login(learner)
    page = client.get("/study/session")
    assert "Capital of France?" in text(page) and "How sure are you?" in text(page)
    item = db.session.scalars(db.select(StudyItem)).one()

    answered = client.post(f"/study/items/{item.id}/answer", data={"given_answer": "Lyon", "confidence": "5"})
    assert answered.status_code == 303
    reveal = client.get(answered.location)
    assert "Not quite" in text(reveal) and "<del>" not in text(reveal) and "<ins>" not in text(reveal)
    assert 'data-shortcut="1"' in text(reveal)

    rated = client.post(f"/study/reviews/{the_review().id}/rate", data={"rating": "1", "error_class": "related",
                                                                      "note": "Both are French cities"})
    assert rated.status_code == 303
    assert "All done for now" in text(client.get(rated.location))
    review = the_review()
    assert (review.rating, review.error_class, review.confidence) == (1, "related", 5)


def buttons(page) -> list[str]:
    """The rating buttons in the reveal's main row (not the ones folded away under "after all?")."""
    row = text(page).split('class="ratings__buttons"')[1].split("</div>")[0]
    return re.findall(r'data-shortcut="(\d)"', row)


def checked(page, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)" checked', text(page))


def reveal_after(client, item, given: str):
    return client.get(client.post(f"/study/items/{item.id}/answer", data={"given_answer": given,
                                                                            "confidence": "3"}).location)


def test_the_answer_form_starts_at_the_middle_confidence(client, login, learner, deck):
    login(learner)
    assert checked(client.get("/study/session"), "confidence") == ["3"]


def test_a_wrong_answer_far_off_shows_the_right_one_plainly_and_offers_again_only(client, login, learner, deck):
    login(learner)
    reveal = reveal_after(client, db.session.scalars(db.select(StudyItem)).one(), "Lyon")
    right = text(reveal).split("Right answer</h3>")[1].split("</p>")[0]
    assert right.strip().endswith(">Paris") and "<ins>" not in text(reveal)
    assert buttons(reveal) == ["1"] and "Hard" not in text(reveal) and "Easy" not in text(reveal)
    assert "What kind of error was it?" in text(reveal) and checked(reveal, "error_class") == []
    assert "Almost right" in text(reveal) and "Near miss" not in text(reveal)


def test_a_wrong_answer_a_letter_off_is_marked_and_suggested_as_almost_right(client, login, learner, deck):
    login(learner)
    reveal = reveal_after(client, db.session.scalars(db.select(StudyItem)).one(), "Pariss")
    assert "Paris<del>s</del>" in text(reveal)
    assert buttons(reveal) == ["1"] and checked(reveal, "error_class") == ["near_miss"]
    client.post(f"/study/reviews/{the_review().id}/rate", data={"rating": "1", "error_class": "near_miss"})
    assert the_review().error_class == "near_miss"  # the stored key is unchanged


def test_a_right_answer_offers_hard_good_easy_and_keeps_again_folded_away(client, login, learner, deck):
    login(learner)
    reveal = reveal_after(client, db.session.scalars(db.select(StudyItem)).one(), "paris")
    assert buttons(reveal) == ["2", "3", "4"]
    folded = text(reveal).split("It was an error after all?")[1]
    assert 'value="1" class="button rating rating--again"' in folded


def test_a_session_with_htmx_swaps_the_card(htmx_client, login, learner, deck):
    login(learner, htmx_client)
    item = db.session.scalars(db.select(StudyItem)).one()
    headers = {"HX-Target": "study-card"}
    answered = htmx_client.post(f"/study/items/{item.id}/answer", data={"given_answer": "paris ", "confidence": "3"},
                                headers=headers)
    assert answered.status_code == 200
    body = text(answered)
    assert body.lstrip().startswith('<section id="study-card"') and "<html" not in body
    assert "Right" in body
    rated = htmx_client.post(f"/study/reviews/{the_review().id}/rate", data={"rating": "3"}, headers=headers)
    assert rated.status_code == 200 and "All done for now" in text(rated)
    assert rated.headers["Vary"] == "HX-Request" or "HX-Request" in rated.headers["Vary"]


def test_an_answer_is_required_before_the_reveal(client, login, learner, deck):
    login(learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    response = client.post(f"/study/items/{item.id}/answer", data={"given_answer": "", "confidence": "9"})
    assert response.status_code == 422
    assert "even a guess" in field_error(response, "given_answer")
    assert "confidence-error" in text(response)
    assert "Paris" not in text(response)  # no peeking
    assert count(StudyReview) == 0


@pytest.mark.parametrize("kind", sorted(BAD_TEXT))
def test_bad_text_in_an_answer_keeps_it(client, login, learner, deck, kind):
    login(learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    typed = BAD_TEXT[kind] * (2000 if kind == "emoji" else 1)
    response = client.post(f"/study/items/{item.id}/answer", data={"given_answer": typed})
    assert response.status_code == 422
    assert "confidence-error" in text(response)


def test_again_without_an_error_class_is_422_with_the_note_kept(client, login, learner, deck):
    login(learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    client.post(f"/study/items/{item.id}/answer", data={"given_answer": "Lyon", "confidence": "2"})
    response = client.post(f"/study/reviews/{the_review().id}/rate", data={"rating": "1", "note": "مرحبا 🙂"})
    assert response.status_code == 422
    assert "kind of error" in field_error(response, "error_class")
    assert "مرحبا 🙂" in text(response)
    assert the_review().rating is None


def test_a_bad_rating_is_422(client, login, learner, deck):
    login(learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    client.post(f"/study/items/{item.id}/answer", data={"given_answer": "Paris", "confidence": "2"})
    for rating in ("", "7", "abc"):
        response = client.post(f"/study/reviews/{the_review().id}/rate", data={"rating": rating, "note": "x\x00"})
        assert response.status_code == 422, rating
        assert "rating-error" in text(response) and "note-error" in text(response)


@pytest.mark.parametrize(("fields", "field_id"), [
    ({"prompt": "", "answer": "a"}, "prompt"),
    ({"prompt": "p", "answer": "x" * 5001}, "answer"),
    ({"prompt": "p\x00", "answer": "a"}, "prompt"),
    ({"prompt": "p", "answer": "a", "tags": "one\ntwo"}, "tags"),
])
def test_item_form_errors_keep_the_text(client, login, learner, deck, fields, field_id):
    login(learner)
    response = client.post(f"/study/decks/{deck.id}/items", data={**fields, "explanation": "\u202eשלום 🙂"})
    assert response.status_code == 422
    assert field_error(response, field_id)
    assert "\u202eשלום 🙂" in text(response)
    assert count(StudyItem) == 1


def test_deck_and_settings_forms_refuse_bad_input(client, htmx_client, login, learner):
    login(learner)
    response = client.post(f"/study/learners/{learner.id}/decks", data={"name": "a\x00b", "description": "ok"})
    assert response.status_code == 422 and field_error(response, "name")
    login(learner, htmx_client)
    response = htmx_client.post("/study/settings", data={"new_per_day": "lots", "desired_retention": "1.5"},
                                headers={"HX-Target": "study-settings"})
    assert response.status_code == 422 and 'id="study-settings"' in text(response) and "<html" not in text(response)
    assert field_error(response, "new_per_day") and field_error(response, "desired_retention")
    assert 'value="lots"' in text(response)
    ok = client.post("/study/settings", data={"new_per_day": "5", "desired_retention": "0,85"})
    assert ok.status_code == 303
    assert db.session.get(StudySettings, learner.id).desired_retention == 0.85


def test_import_previews_then_imports_good_lines_only(client, login, learner, deck):
    login(learner)
    pasted = "la maison\tthe house\tfr\nno answer\n\tempty front\n"
    preview = client.post(f"/study/decks/{deck.id}/import", data={"text": pasted})
    assert preview.status_code == 200
    body = text(preview)
    assert "Import 1 item" in body and "two columns" in body and "empty" in body
    assert count(StudyItem) == 1
    done = client.post(f"/study/decks/{deck.id}/import/confirm", data={"text": pasted})
    assert done.status_code == 303 and count(StudyItem) == 2
    client.post(f"/study/decks/{deck.id}/import/confirm", data={"text": pasted})
    assert count(StudyItem) == 2


def test_import_from_a_file(client, login, learner, deck):
    login(learner)
    import io
    preview = client.post(f"/study/decks/{deck.id}/import", content_type="multipart/form-data",
                          data={"text": "", "file": (io.BytesIO(b"one,1\ntwo,2\n\xff\xfe,3\n"), "deck.csv")})
    assert preview.status_code == 200 and "Import 2 items" in text(preview) and "not UTF-8" in text(preview)


def test_an_empty_import_is_422(client, login, learner, deck):
    login(learner)
    response = client.post(f"/study/decks/{deck.id}/import", data={"text": "   "})
    assert response.status_code == 422 and field_error(response, "text")


def test_export_downloads_the_deck(client, login, learner, deck):
    login(learner)
    csv_file = client.get(f"/study/decks/{deck.id}/export")
    assert csv_file.mimetype == "text/csv" and "Capital of France?,Paris" in text(csv_file)
    anki = client.get(f"/study/decks/{deck.id}/export?format=anki")
    assert text(anki).startswith("#separator:tab") and "Capital of France?\tParis" in text(anki)


def test_another_learners_decks_items_reviews_and_stats_are_404(client, login, learner, deck, make_user):
    item = db.session.scalars(db.select(StudyItem)).one()
    review = answering.answer(learner, item, "Lyon", 3)
    login(make_user())
    for path in (f"/study/decks/{deck.id}", f"/study/decks/{deck.id}/items/new", f"/study/items/{item.id}/edit",
                 f"/study/decks/{deck.id}/import", f"/study/decks/{deck.id}/export",
                 f"/study/learners/{learner.id}/stats", f"/study/learners/{learner.id}",
                 f"/study/learners/{learner.id}/decks/new", f"/study/session?deck={deck.id}"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/study/items/{item.id}/answer", {"given_answer": "x", "confidence": "1"}),
                       (f"/study/reviews/{review.id}/rate", {"rating": "3"}),
                       (f"/study/decks/{deck.id}/items", {"prompt": "p", "answer": "a"}),
                       (f"/study/items/{item.id}", {"prompt": "p", "answer": "a"}),
                       (f"/study/decks/{deck.id}/import/confirm", {"text": "a,b"}),
                       (f"/study/learners/{learner.id}/decks", {"name": "Mine now"}),
                       (f"/study/items/{item.id}/share", {})):
        assert client.post(path, data=data).status_code == 404, path
    assert count(StudyItem) == 1 and review.rating is None


def test_a_coach_sees_stats_without_private_notes_and_adds_items(client, login, learner, deck, make_user):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    answering.rate(learner, answering.answer(learner, item, "Lyon", 5), 1, "related", "a private thought")
    login(coach)
    stats = client.get(f"/study/learners/{learner.id}/stats")
    assert stats.status_code == 200 and "a private thought" not in text(stats) and "Lyon" not in text(stats)
    assert "Lee Learner" in text(stats)
    assert client.get(f"/study/learners/{learner.id}").status_code == 200
    added = client.post(f"/study/decks/{deck.id}/items", data={"prompt": "Capital of Peru?", "answer": "Lima"})
    assert added.status_code == 303 and count(StudyItem) == 2
    made = client.post(f"/study/learners/{learner.id}/decks", data={"name": "From your coach"})
    assert made.status_code == 303
    # The coach may not study for the learner.
    assert client.post(f"/study/items/{item.id}/answer", data={"given_answer": "x", "confidence": "1"}
                       ).status_code == 404
    assert client.get(f"/study/session?deck={deck.id}").status_code == 404


def test_a_leech_is_offered_to_the_coach(client, login, learner, deck, make_user, clock):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    for day in range(4):
        clock.set(MONDAY + timedelta(days=day))
        answering.rate(learner, answering.answer(learner, item, "Lyon", 2), 1, "unknown", "")
    login(learner)
    stats = client.get(f"/study/learners/{learner.id}/stats")
    assert "Ask my coach about it" in text(stats)
    assert client.post(f"/study/items/{item.id}/share").status_code == 303
    login(coach)
    assert "your learner asks you about this" in text(client.get(f"/study/learners/{learner.id}/stats"))


def test_login_is_required(client, learner, deck):
    for path in ("/study", "/study/session", f"/study/decks/{deck.id}", f"/study/learners/{learner.id}/stats"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


def count_queries(client, path: str) -> int:
    queries = []

    def record(*_args, **_kwargs):
        queries.append(1)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200, path
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(queries)


def test_page_queries_do_not_grow_with_the_number_of_items(client, login, learner, deck, clock):
    login(learner)
    services.update_settings(learner, 500, 0.9)  # new items stay on offer, so every page takes the same path
    paths = ("/study", "/study/session", f"/study/decks/{deck.id}", f"/study/learners/{learner.id}/stats",
             f"/study/decks/{deck.id}/export")

    def grow(n: int) -> None:
        for i in range(n):
            item = services.create_item(learner, deck, {"prompt": f"Q{i}-{count(StudyItem)}", "answer": "A"})
            answering.rate(learner, answering.answer(learner, item, "B", 5), 1, "related", "")

    grow(2)
    before = {path: count_queries(client, path) for path in paths}
    grow(30)
    after = {path: count_queries(client, path) for path in paths}
    assert after == before


def test_the_study_page_shows_what_is_due(client, login, learner, deck):
    login(learner)
    page = text(client.get("/study"))
    assert re.search(r"0 due · 1 new", page) and "Start studying" in page and "How much to remember" in page
    assert ">Stats</a>" in page and "Desired retention" not in page and "What your errors became" not in page


ANKI_HTML = ("#separator:tab\n#html:true\n#guid column:1\n#tags column:4\n"
             "g1\tla <b>maison</b><script>alert(1)</script>\tthe <i>house</i>[sound:maison.mp3]\tnoun\n"
             'g2\t"le chat\nnoir"\tthe black cat\t\n')


def test_an_anki_html_file_previews_as_formatting_and_imports_once(client, login, learner, deck):
    login(learner)
    import io
    preview = client.post(f"/study/decks/{deck.id}/import", content_type="multipart/form-data",
                          data={"text": "", "file": (io.BytesIO(ANKI_HTML.encode()), "French.txt")})
    body = text(preview)
    assert preview.status_code == 200 and "Import 2 items" in body
    to_import = body[body.index('id="good-heading"'):]
    assert "la <b>maison</b>" in to_import and "the <i>house</i>" in to_import and "<script>alert" not in body
    assert "&lt;b&gt;" not in to_import and "alert(1)" not in to_import
    assert "sound maison.mp3" in to_import and "A script was removed." in to_import
    assert "<td>6–7</td>" in to_import and "Fields are HTML" in body
    for _ in range(2):
        done = client.post(f"/study/decks/{deck.id}/import/confirm", data={"text": ANKI_HTML})
        assert done.status_code == 303
    assert count(StudyItem) == 3
    page = text(client.get(f"/study/decks/{deck.id}"))
    assert "la <b>maison</b>" in page and "<script>alert" not in page


def test_the_anki_export_names_its_columns_so_anki_reads_it_back(client, login, learner, deck):
    login(learner)
    item = db.session.scalars(db.select(StudyItem)).one()
    anki = text(client.get(f"/study/decks/{deck.id}/export?format=anki"))
    assert anki.splitlines()[:7] == ["#separator:tab", "#html:true", "#notetype:Basic", "#deck:Capitals",
                                     "#columns:guid\tFront\tBack\ttags", "#guid column:1", "#tags column:4"]
    assert f"{item.guid}\tCapital of France?\tParis\t" in anki
