"""Reflections (private unless shared), the reappraisal library and own prompts, the average drop,
and the recovery routine saved step by step."""

from dataclasses import dataclass

from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.coaching.access import own_record_or_404, private_record_or_404
from failforward.extensions import db
from failforward.ledger.models import MISS, Rep
from failforward.once import insert_once
from failforward.reflection import prompts
from failforward.reflection.models import OwnPrompt, RecoveryRoutine, Reflection

OWN_PREFIX = "mine-"
LAST_STEP = 3


# --- access -------------------------------------------------------------------------------------

def reflection_or_404(viewer: User, reflection_id: int) -> Reflection:
    """A reflection the viewer may see; 404 for anyone else (existence must not leak)."""
    return private_record_or_404(viewer, Reflection, reflection_id)


def own_reflection_or_404(viewer: User, reflection_id: int) -> Reflection:
    """A reflection the viewer wrote."""
    return own_record_or_404(viewer, Reflection, reflection_id)


def own_routine_or_404(viewer: User, routine_id: int) -> RecoveryRoutine:
    """A recovery routine of the viewer's own."""
    return own_record_or_404(viewer, RecoveryRoutine, routine_id)


# --- reflections --------------------------------------------------------------------------------

def missed_rep(learner: User, rep_id: int | None) -> Rep | None:
    """The learner's own rep to reflect on, if the id is theirs (anything else is ignored)."""
    rep = db.session.get(Rep, rep_id) if rep_id else None
    return rep if rep is not None and rep.learner_id == learner.id else None


def latest_miss(learner: User) -> Rep | None:
    """The learner's most recent miss, offered as the setback to reflect on."""
    return db.session.scalar(db.select(Rep).where(Rep.learner_id == learner.id, Rep.outcome == MISS)
                             .order_by(Rep.logged_at.desc()).limit(1).options(db.joinedload(Rep.drill)))


def start_reflection(learner: User, fields: dict, idempotency_key: str) -> Reflection:
    """Save step 1 (setback, feeling, intensity, what happened) once per key."""
    def new_reflection() -> Reflection:
        rep = missed_rep(learner, fields.get("rep_id"))
        return Reflection(learner_id=learner.id, rep_id=rep.id if rep else None, situation=fields["situation"],
                          feeling=fields.get("feeling") or "", feeling_own=fields.get("feeling_own") or "",
                          intensity_before=fields["intensity_before"], what_happened=fields["what_happened"],
                          idempotency_key=idempotency_key)

    reflection, _created = insert_once(Reflection, learner.id, idempotency_key, new_reflection)
    db.session.commit()
    return reflection


def own_prompts(learner: User) -> list[OwnPrompt]:
    """The reappraisals the learner kept, newest first."""
    return list(db.session.scalars(db.select(OwnPrompt).where(OwnPrompt.learner_id == learner.id)
                                   .order_by(OwnPrompt.created_at.desc(), OwnPrompt.id.desc()).limit(20)))


def prompt_options(learner: User, group: str) -> list[tuple[str, str]]:
    """The choices for step 2: the group's library prompts, then the learner's own kept ones."""
    library = prompts.PROMPTS.get(group, [])
    return [*library, *((f"{OWN_PREFIX}{p.id}", p.text) for p in own_prompts(learner))]


def finish_reflection(reflection: Reflection, prompt_key: str, own_text: str, keep_own: bool,
                      intensity_after: int) -> Reflection:
    """Save the reappraisal and the second rating; keep the learner's own words if asked. Idempotent."""
    if reflection.finished_at is not None:
        return reflection
    text = prompts.prompt_text(prompt_key)
    if prompt_key.startswith(OWN_PREFIX):
        kept = db.session.get(OwnPrompt, int(prompt_key.removeprefix(OWN_PREFIX)))
        if kept is None or kept.learner_id != reflection.learner_id:
            abort(404)
        text = kept.text
    if text is None:  # written here
        text, prompt_key = own_text, None
        if keep_own and not db.session.scalar(db.select(OwnPrompt.id).where(
                OwnPrompt.learner_id == reflection.learner_id, OwnPrompt.text == own_text)):
            db.session.add(OwnPrompt(learner_id=reflection.learner_id, text=own_text))
    reflection.prompt_key, reflection.reappraisal = prompt_key, text
    reflection.intensity_after, reflection.finished_at = intensity_after, clock.now()
    db.session.commit()
    return reflection


def set_shared(reflection: Reflection, shared: bool) -> None:
    """Share this one reflection with the learner's coach, or stop sharing it."""
    if reflection.shared != shared:
        reflection.shared, reflection.shared_at = shared, clock.now() if shared else None
        db.session.commit()


def reflections_of(learner: User, limit: int = 30) -> list[Reflection]:
    """The learner's latest reflections."""
    return list(db.session.scalars(db.select(Reflection).where(Reflection.learner_id == learner.id)
                                   .order_by(Reflection.created_at.desc(), Reflection.id.desc()).limit(limit)))


def shared_reflections(learner: User, limit: int = 30) -> list[Reflection]:
    """Reflections the learner shared (the caller has checked the coach's link)."""
    return list(db.session.scalars(db.select(Reflection).where(Reflection.learner_id == learner.id,
                                                               Reflection.shared.is_(True))
                                   .order_by(Reflection.created_at.desc()).limit(limit)))


@dataclass(frozen=True)
class Drop:
    """How much the feeling falls after reappraising, on average, over finished reflections."""

    count: int
    average: float | None


def average_drop(learner: User) -> Drop:
    """The learner's average drop in intensity after reappraising, from one query."""
    count, average = db.session.execute(
        db.select(db.func.count(), db.func.avg(Reflection.intensity_before - Reflection.intensity_after))
        .where(Reflection.learner_id == learner.id, Reflection.intensity_after.is_not(None))).one()
    return Drop(count, float(average) if average is not None else None)


# --- the recovery routine -----------------------------------------------------------------------

def unfinished_routine(learner: User) -> RecoveryRoutine | None:
    """The routine the learner left part-way, to resume."""
    return db.session.scalar(db.select(RecoveryRoutine).where(
        RecoveryRoutine.learner_id == learner.id, RecoveryRoutine.finished_at.is_(None))
        .order_by(RecoveryRoutine.started_at.desc()).limit(1))


def start_routine(learner: User, reflection: Reflection | None = None) -> RecoveryRoutine:
    """Start a routine, or return the one left unfinished (one at a time)."""
    routine = unfinished_routine(learner)
    if routine is None:
        routine = RecoveryRoutine(learner_id=learner.id, reflection_id=reflection.id if reflection else None,
                                  what_happened=reflection.what_happened if reflection else "")
        db.session.add(routine)
        db.session.commit()
    return routine


def save_routine(routine: RecoveryRoutine, fields: dict, action: str) -> RecoveryRoutine:
    """Save what is written so far; `action` moves on a step (next/skip), stays (save) or finishes."""
    for name, value in fields.items():
        setattr(routine, name, value)
    if action in ("next", "skip"):
        routine.step = min(routine.step + 1, LAST_STEP + 1)
    if action == "finish" or routine.step > LAST_STEP:
        routine.step = LAST_STEP + 1
        routine.finished_at = routine.finished_at or clock.now()
    db.session.commit()
    return routine


def shared_learnings(learner: User, limit: int = 20) -> list[RecoveryRoutine]:
    """Learnings the learner chose to share from recovery routines (the caller has checked the link)."""
    return list(db.session.scalars(db.select(RecoveryRoutine).where(
        RecoveryRoutine.learner_id == learner.id, RecoveryRoutine.shared.is_(True),
        RecoveryRoutine.share_learning != "").order_by(RecoveryRoutine.started_at.desc()).limit(limit)))
