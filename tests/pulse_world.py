"""The safety pulse part of test_security's route inventory: who may call each endpoint, an open pulse of the
learner's (with its emailed link) to call them on, a lesson the coach shares with learners, and one working POST
each."""

from types import SimpleNamespace

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import zone_of
from failforward.extensions import db
from failforward.pulse import services
from failforward.pulse.models import Pulse

WHO_MAY_CALL = {
    "pulse.answer_from_link": "link-holder",
    "pulse.save_from_link": "link-holder",
    "pulse.index": "signed-in",
    "pulse.show": "learner-only",
    "pulse.save": "learner-only",
    "pulse.coach": "coach-only",
}
IDS = {"pulse_id": "pulse"}
TOKENS = {"pulse.answer_from_link": "pulse_token", "pulse.save_from_link": "pulse_token"}
PULSE_FORM = {"mistakes": "4", "problems": "5", "help": "3", "skills": "4", "risks": "2", "comment": "All good"}


def add_to_world(w: SimpleNamespace) -> None:
    """This period's pulse on the learner's link with the coach, open to answer."""
    learner = db.session.get(User, w.learner)
    zone = zone_of(learner)
    start = services.period_start(clock.now(), zone)
    pulse = Pulse(link_id=w.link, learner_id=learner.id, period_start=start, closes_at=services.period_end(start, zone))
    db.session.add(pulse)
    db.session.commit()
    w.__dict__.update(pulse=pulse.id, pulse_token=services.answer_token(pulse))


def _answered(w: SimpleNamespace) -> bool:
    db.session.expire_all()
    return db.session.get(Pulse, w.pulse).answered_at is not None


def posts() -> dict[str, tuple]:
    """(who, path, data, happened) for each POST, as test_security's Post takes them."""
    return {
        "pulse.save_from_link": (None, lambda w: f"/pulse/answer/{w.pulse_token}", lambda w: dict(PULSE_FORM),
                                 lambda w, c: _answered(w)),
        "pulse.save": ("learner", lambda w: f"/pulse/{w.pulse}", lambda w: dict(PULSE_FORM),
                       lambda w, c: _answered(w)),
    }
