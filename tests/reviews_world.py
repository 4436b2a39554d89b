"""The blameless reviews part of test_security's route inventory: who may call each endpoint, a private review of
the learner's with an action, and one working POST each."""

from types import SimpleNamespace

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.reviews import services as reviews
from failforward.reviews.models import Review, ReviewAction, ReviewComment
from tests.factories import count_now, fresh

WHO_MAY_CALL = {
    "reviews.index": "signed-in",
    "reviews.new": "signed-in",
    "reviews.create": "signed-in",
    "reviews.wording": "signed-in",
    "reviews.show": "learner-or-coach",
    "reviews.edit": "learner-only",
    "reviews.update": "learner-only",
    "reviews.share": "learner-only",
    "reviews.comment": "learner-or-coach",
    "reviews.add_action": "learner-only",
    "reviews.action_status": "learner-only",
    "reviews.check": "learner-only",
    "reviews.answer_check": "learner-only",
}
IDS = {"blameless_id": "blameless_review", "action_id": "review_action"}
REVIEW_FORM = {"trigger": "A review from this test", "factors-0-kind": "tools", "factors-0-what": "Quiet alert",
               "idempotency_key": "review-from-test-1"}
ACTION_FORM = {"what": "A fix from this test", "done_condition": "Seen", "idempotency_key": "action-from-test-1"}


def add_to_world(w: SimpleNamespace) -> None:
    """The learner's private review with one open action of theirs."""
    learner = db.session.get(User, w.learner)
    review, _ = reviews.create_review(learner, {"trigger": "Missed pages", "scope": "", "counterfactual": "",
                                                "what_worked": "", "assumptions": "", "shared": False}, [],
                                      [("tools", "Quiet alert"), ("process", "No handover")], None, "world-review")
    action, _ = reviews.add_action(review, {"what": "Louder pager", "owner_id": learner.id, "due_on": None,
                                            "done_condition": "Volume 8", "verify_plan": "", "check_on": None},
                                   "world-action")
    w.__dict__.update(blameless_review=review.id, review_action=action.id)


def posts() -> dict[str, tuple]:
    """(who, path, data, happened) for each POST, as test_security's Post takes them."""
    return {
        "reviews.create": ("learner", lambda w: "/reviews", lambda w: dict(REVIEW_FORM),
                           lambda w, c: count_now(Review) == 2),
        "reviews.wording": ("learner", lambda w: "/reviews/wording", lambda w: {"trigger": "I should have looked"},
                            lambda w, c: "is hindsight" in c.last_response.get_data(as_text=True)),
        "reviews.update": ("learner", lambda w: f"/reviews/{w.blameless_review}",
                           lambda w: {**REVIEW_FORM, "trigger": "Renamed review"},
                           lambda w, c: fresh(Review, w.blameless_review).trigger == "Renamed review"),
        "reviews.share": ("learner", lambda w: f"/reviews/{w.blameless_review}/share", lambda w: {"shared": "y"},
                          lambda w, c: fresh(Review, w.blameless_review).shared),
        "reviews.comment": ("learner", lambda w: f"/reviews/{w.blameless_review}/comments",
                            lambda w: {"body": "A note"}, lambda w, c: count_now(ReviewComment) == 1),
        "reviews.add_action": ("learner", lambda w: f"/reviews/{w.blameless_review}/actions",
                               lambda w: {**ACTION_FORM, "owner_id": str(w.learner)},
                               lambda w, c: count_now(ReviewAction) == 2),
        "reviews.action_status": ("learner", lambda w: f"/actions/{w.review_action}/status",
                                  lambda w: {f"a{w.review_action}-status": "done"},
                                  lambda w, c: fresh(ReviewAction, w.review_action).status == "done"),
        "reviews.answer_check": ("learner", lambda w: f"/actions/{w.review_action}/check",
                                 lambda w: {"answer": "worked", "note": "Seen it"},
                                 lambda w, c: fresh(ReviewAction, w.review_action).status == "verified"),
    }
