"""Study pages: decks and items, import and export, the answer-first session, and the stats."""

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from failforward.coaching.access import learner_or_404
from failforward.forms import CSRF_MESSAGE, ConfirmForm
from failforward.study import answering, exchange, pages, rich, services
from failforward.study.forms import (
    AnswerForm,
    ConfirmImportForm,
    DeckForm,
    ImportForm,
    ItemForm,
    RateForm,
    SettingsForm,
)
from failforward.study.models import ERROR_CLASSES, ERROR_HINTS, RATINGS
from failforward.web import done, invalid, query_number, query_page, render

bp = Blueprint("study", __name__, url_prefix="/study")


def _home(learner, settings_form: SettingsForm | None = None) -> dict:
    """The study home's read model and its settings form (the one being corrected, or a fresh one)."""
    home = pages.study_home(current_user, learner)
    return {**vars(home), "settings_form": settings_form or SettingsForm(formdata=None, obj=home.settings)}


@bp.get("")
@login_required
def index():
    """Your decks, what is due, and your study settings."""
    return render("study/index.html", **_home(current_user))


@bp.get("/learners/<int:learner_id>")
@login_required
def learner(learner_id: int):
    """A learner's decks, as their coach sees them (the learner sees their own study page)."""
    return render("study/index.html", **_home(learner_or_404(current_user, learner_id)))


@bp.post("/settings")
@login_required
def update_settings():
    """Save new items a day and the desired retention."""
    form = SettingsForm()
    if not form.validate_on_submit():
        return invalid("study/index.html", "study/_settings.html", **_home(current_user, form))
    services.update_settings(current_user, form.new_per_day.data, form.desired_retention.data)
    flash("Study settings saved.", "success")
    return done(url_for("study.index"), "study/_settings.html", saved=True, **_home(current_user))


@bp.get("/learners/<int:learner_id>/decks/new")
@login_required
def new_deck(learner_id: int):
    """Start a deck (for yourself, or for a learner you coach)."""
    return render("study/deck_form.html", learner=learner_or_404(current_user, learner_id), form=DeckForm())


@bp.post("/learners/<int:learner_id>/decks")
@login_required
def create_deck(learner_id: int):
    """Save a new deck."""
    person = learner_or_404(current_user, learner_id)
    form = DeckForm()
    if not form.validate_on_submit():
        return invalid("study/deck_form.html", learner=person, form=form)
    deck = services.create_deck(current_user, person, form.name.data, form.description.data or "")
    flash(f"Deck “{deck.name}” created. Add items, or import them.", "success")
    return redirect(url_for("study.show_deck", deck_id=deck.id), 303)


@bp.get("/decks/<int:deck_id>")
@login_required
def show_deck(deck_id: int):
    """A deck's items, a page at a time, with each one's schedule."""
    page = query_page(10_000)
    return render("study/deck.html", **vars(pages.deck_page(current_user, deck_id, page)))


@bp.get("/decks/<int:deck_id>/items/new")
@login_required
def new_item(deck_id: int):
    """Add an item to a deck."""
    return render("study/item_form.html", deck=services.deck_or_404(current_user, deck_id), item=None,
                  form=ItemForm())


@bp.post("/decks/<int:deck_id>/items")
@login_required
def create_item(deck_id: int):
    """Save a new item; the form comes back empty for the next one."""
    deck = services.deck_or_404(current_user, deck_id)
    form = ItemForm()
    if not form.validate_on_submit():
        return invalid("study/item_form.html", deck=deck, item=None, form=form)
    services.create_item(current_user, deck, form.fields_dict())
    flash("Item added. Add another, or go back to the deck.", "success")
    return redirect(url_for("study.new_item", deck_id=deck.id), 303)


@bp.get("/items/<int:item_id>/edit")
@login_required
def edit_item(item_id: int):
    """Change an item's text (its schedule stays)."""
    item = services.item_or_404(current_user, item_id)
    return render("study/item_form.html", deck=item.deck, item=item, form=ItemForm(obj=item))


@bp.post("/items/<int:item_id>")
@login_required
def update_item(item_id: int):
    """Save an item's text."""
    item = services.item_or_404(current_user, item_id)
    form = ItemForm()
    if not form.validate_on_submit():
        return invalid("study/item_form.html", deck=item.deck, item=item, form=form)
    services.update_item(item, form.fields_dict())
    flash("Item saved.", "success")
    return redirect(url_for("study.show_deck", deck_id=item.deck_id), 303)


@bp.app_template_filter("study_text")
def study_text(text: str, is_html: bool) -> Markup:
    """An item's prompt or answer for a page: sanitised again if it is HTML, escaped if not."""
    return rich.shown(text, is_html)


@bp.get("/decks/<int:deck_id>/import")
@login_required
def new_import(deck_id: int):
    """Paste or choose CSV or Anki text to import."""
    return render("study/import.html", deck=services.deck_or_404(current_user, deck_id), form=ImportForm())


def _import_formdata() -> MultiDict:
    """The form, with an uploaded file's bytes standing in for the text box when it is empty."""
    data = MultiDict(request.form)
    upload = request.files.get("file")
    if upload and not data.get("text", "").strip():
        data["text"] = exchange.decode_upload(upload.read())
    return data


@bp.post("/decks/<int:deck_id>/import")
@login_required
def preview_import(deck_id: int):
    """Show what would be imported and what not, and why; nothing is saved yet."""
    deck = services.deck_or_404(current_user, deck_id)
    form = ImportForm(formdata=_import_formdata())
    if not form.validate_on_submit():
        return invalid("study/import.html", deck=deck, form=form)
    preview = exchange.parse_import(form.text.data, deck)
    return render("study/import_preview.html", deck=deck, preview=preview,
                  confirm=ConfirmImportForm(formdata=None, text=form.text.data))


@bp.post("/decks/<int:deck_id>/import/confirm")
@login_required
def confirm_import(deck_id: int):
    """Import the good lines (confirming twice adds nothing twice)."""
    deck = services.deck_or_404(current_user, deck_id)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return invalid("study/import_preview.html", deck=deck, confirm=form,
                       preview=exchange.parse_import(form.text.data or "", deck))
    preview = exchange.import_items(current_user, deck, form.text.data)
    flash(f"Imported {len(preview.good)} item{'s' if len(preview.good) != 1 else ''}.", "success")
    return redirect(url_for("study.show_deck", deck_id=deck.id), 303)


@bp.get("/decks/<int:deck_id>/export")
@login_required
def export(deck_id: int):
    """Download the deck as CSV, or as tab-separated text for Anki (?format=anki)."""
    deck = services.deck_or_404(current_user, deck_id)
    anki = request.args.get("format") == "anki"
    body = exchange.export_deck(deck, tab_separated=anki)
    filename = f"deck-{deck.id}.{'txt' if anki else 'csv'}"
    return Response(body, mimetype="text/plain" if anki else "text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _card(deck_id: int | None, answer_form: AnswerForm | None = None, rate_form: RateForm | None = None,
          reveal=None) -> dict:
    """The session card's read model with its forms (the ones being corrected, or fresh ones)."""
    card = pages.session_card(current_user, deck_id, reveal)
    if rate_form is None and card.review:
        wrong = card.review.matched is False
        # A wrong answer a letter or two off is most likely "almost right": preselected, one tap to go on.
        rate_form = RateForm(formdata=None, rating=1 if wrong else 3,
                             error_class="near_miss" if wrong and card.comparison.close else None)
    return {**vars(card), "answer_form": answer_form or AnswerForm(formdata=None), "rate_form": rate_form,
            "ratings": RATINGS, "error_hints": ERROR_HINTS}


@bp.get("/session")
@login_required
def session():
    """The next item to answer, or the reveal of the one you just answered."""
    return render("study/session.html", "study/_card.html", **_card(query_number("deck")))


@bp.post("/items/<int:item_id>/answer")
@login_required
def answer(item_id: int):
    """Commit your answer and confidence; then the reveal."""
    item = services.own_item_or_404(current_user, item_id)
    deck_id = query_number("deck")
    form = AnswerForm()
    if not form.validate_on_submit():
        card = pages.answering_card(current_user, item, deck_id)
        return invalid("study/session.html", "study/_card.html", **vars(card), answer_form=form)
    answering.answer(current_user, item, form.given_answer.data, form.confidence.data)
    return done(url_for("study.session", deck=deck_id), "study/_card.html", **_card(deck_id))


@bp.post("/reviews/<int:review_id>/rate")
@login_required
def rate(review_id: int):
    """Rate your recall; FSRS schedules the item; then the next one."""
    review = services.own_review_or_404(current_user, review_id)
    deck_id = query_number("deck")
    form = RateForm()
    if form.validate_on_submit():
        try:
            answering.rate(current_user, review, form.rating.data, form.error_class.data, form.note.data or "")
            return done(url_for("study.session", deck=deck_id), "study/_card.html", **_card(deck_id))
        except services.StudyError as error:
            form.error_class.errors = [str(error)]
    return invalid("study/session.html", "study/_card.html", **_card(deck_id, rate_form=form, reveal=review))


@bp.post("/items/<int:item_id>/share")
@login_required
def share_leech(item_id: int):
    """Offer a leech to your coach: it shows on their view of your study stats."""
    item = services.own_item_or_404(current_user, item_id)
    deck_id = query_number("deck")
    if ConfirmForm().validate_on_submit():
        answering.share_leech(current_user, item)
        flash("Your coach will see this item among your leeches.", "success")
    else:
        flash(CSRF_MESSAGE, "error")
    return redirect(url_for("study.stats", learner_id=item.learner_id, deck=deck_id), 303)


@bp.get("/learners/<int:learner_id>/stats")
@login_required
def stats(learner_id: int):
    """What your errors became: error rate, errors turned knowledge, hypercorrection, classes, leeches."""
    page = pages.stats_page(current_user, learner_or_404(current_user, learner_id), query_number("deck"))
    return render("study/stats.html", **vars(page), error_classes=ERROR_CLASSES)
