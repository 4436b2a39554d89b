"""The lessons and reflection part of test_security's route inventory: who may call each endpoint,
a lesson, reflection and routine of the learner's to call them on, and one working POST each."""

from types import SimpleNamespace

from failforward.accounts.models import User
from failforward.extensions import db
from failforward.lessons import services as lessons
from failforward.lessons.models import Lesson, LessonComment
from failforward.reflection import services as reflection
from failforward.reflection.models import RecoveryRoutine, Reflection
from tests.factories import count_now, fresh

WHO_MAY_CALL = {
    "lessons.index": "signed-in",
    "lessons.of_learner": "learner-or-coach",
    "lessons.new": "signed-in",
    "lessons.create": "signed-in",
    "lessons.show": "learner-or-coach",
    "lessons.edit": "learner-only",
    "lessons.update": "learner-only",
    "lessons.confirm_delete": "learner-only",
    "lessons.delete": "learner-only",
    "lessons.check": "learner-only",
    "lessons.answer_check": "learner-only",
    "lessons.comment": "learner-or-coach",
    "lessons.review": "signed-in",
    "lessons.month": "signed-in",
    "reflection.new": "signed-in",
    "reflection.create": "signed-in",
    "reflection.reappraise": "learner-only",
    "reflection.finish": "learner-only",
    "reflection.show": "learner-or-coach",
    "reflection.share": "learner-only",
    "reflection.index": "signed-in",
    "reflection.library": "signed-in",
    "reflection.routine_start": "signed-in",
    "reflection.start_routine": "signed-in",
    "reflection.routine": "learner-only",
    "reflection.save_routine": "learner-only",
}
IDS = {"lesson_id": "lesson", "reflection_id": "reflection", "routine_id": "routine"}
LESSON_FORM = {"happened_on": "2026-03-04", "what_failed": "A lesson from this test", "idempotency_key": "from-test-1"}


def add_to_world(w: SimpleNamespace) -> None:
    """The learner's private lesson, an unfinished private reflection and a finished routine."""
    learner = db.session.get(User, w.learner)
    lesson, _ = lessons.create_lesson(learner, {"happened_on": learner.created_at.date(), "context": "",
                                                "what_failed": "Froze", "what_tried": "", "try_next": "Runbook",
                                                "check_on": None, "shared": False}, {"system": ["pager"]}, None,
                                      "world-lesson")
    feeling = reflection.start_reflection(learner, {"situation": "plateau", "feeling": "numb", "intensity_before": 6,
                                                    "what_happened": "Stuck"}, "world-reflection")
    routine = reflection.start_routine(learner)
    reflection.save_routine(routine, {"what_happened": "Froze"}, "finish")
    w.__dict__.update(lesson=lesson.id, reflection=feeling.id, routine=routine.id)


def posts() -> dict[str, tuple]:
    """(who, path, data, happened) for each POST, as test_security's Post takes them."""
    return {
        "lessons.create": ("learner", lambda w: "/lessons", lambda w: dict(LESSON_FORM),
                           lambda w, c: count_now(Lesson) == 2),
        "lessons.update": ("learner", lambda w: f"/lessons/{w.lesson}",
                           lambda w: {**LESSON_FORM, "what_failed": "Renamed lesson"},
                           lambda w, c: fresh(Lesson, w.lesson).what_failed == "Renamed lesson"),
        "lessons.delete": ("learner", lambda w: f"/lessons/{w.lesson}/delete", lambda w: {},
                           lambda w, c: fresh(Lesson, w.lesson) is None),
        "lessons.answer_check": ("learner", lambda w: f"/lessons/{w.lesson}/check",
                                 lambda w: {f"check{w.lesson}-answer": "worked"},
                                 lambda w, c: fresh(Lesson, w.lesson).status == "worked"),
        "lessons.comment": ("learner", lambda w: f"/lessons/{w.lesson}/comments", lambda w: {"body": "A note"},
                            lambda w, c: count_now(LessonComment) == 1),
        "reflection.create": ("learner", lambda w: "/reflections",
                              lambda w: {"situation": "plateau", "feeling": "numb", "intensity_before": "5",
                                         "what_happened": "From the test", "idempotency_key": "from-test-1"},
                              lambda w, c: count_now(Reflection) == 2),
        "reflection.finish": ("learner", lambda w: f"/reflections/{w.reflection}/reappraise",
                              lambda w: {"prompt": "consolidating", "intensity_after": "3"},
                              lambda w, c: fresh(Reflection, w.reflection).finished_at is not None),
        "reflection.share": ("learner", lambda w: f"/reflections/{w.reflection}/share", lambda w: {"shared": "yes"},
                             lambda w, c: fresh(Reflection, w.reflection).shared),
        "reflection.start_routine": ("learner", lambda w: "/recovery", lambda w: {},
                                     lambda w, c: count_now(RecoveryRoutine) == 2),
        "reflection.save_routine": ("learner", lambda w: f"/recovery/{w.routine}",
                                    lambda w: {"what_happened": "From the test", "action": "save"},
                                    lambda w, c: fresh(RecoveryRoutine, w.routine).what_happened == "From the test"),
    }
