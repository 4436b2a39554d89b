"""The one access rule: who may see a learner's data. Every query for another person's data goes
through here, and anyone else gets a 404 (existence must not leak)."""

from typing import Protocol, TypeVar

from flask import abort

from failforward.accounts.models import User
from failforward.coaching.models import CoachingLink
from failforward.extensions import db


class LearnersRecord(Protocol):
    """Anything that belongs to one learner."""

    learner_id: int


class PrivateRecord(LearnersRecord, Protocol):
    """A learner's record that their coach sees only once it is shared (a reflection, a lesson)."""

    shared: bool


Record = TypeVar("Record", bound=LearnersRecord)
Private = TypeVar("Private", bound=PrivateRecord)


def active_link(coach_id: int, learner_id: int) -> CoachingLink | None:
    """The active link between this coach and this learner, if there is one."""
    return db.session.scalar(
        db.select(CoachingLink).where(
            CoachingLink.coach_id == coach_id,
            CoachingLink.learner_id == learner_id,
            CoachingLink.ended_at.is_(None),
        )
    )


def may_see_learner(viewer_id: int, learner_id: int) -> bool:
    """May this person see this learner's goals, drills, reps and feedback? (Self, or an active coach.)
    By ids, so that mail can re-check a message about a learner when it is sent."""
    return viewer_id == learner_id or active_link(viewer_id, learner_id) is not None


def can_view_learner(viewer: User, learner_id: int) -> bool:
    """May this viewer see this learner's goals, drills, reps and feedback? (Self, or an active coach.)"""
    return may_see_learner(viewer.id, learner_id)


def learner_or_404(viewer: User, learner_id: int) -> User:
    """The learner, when the viewer may see their data; a 404 otherwise (existence must not leak)."""
    learner = db.session.get(User, learner_id)
    if learner is None or not can_view_learner(viewer, learner_id):
        abort(404)
    return learner


def learners_record_or_404(viewer: User, model: type[Record], record_id: int) -> Record:
    """A record of a learner's that the viewer may see: the learner, or an active coach. A 404 for
    anyone else."""
    record = db.session.get(model, record_id)
    if record is None or not can_view_learner(viewer, record.learner_id):
        abort(404)
    return record


def own_record_or_404(viewer: User, model: type[Record], record_id: int) -> Record:
    """A record of the viewer's own (only its learner changes it); a 404 for anyone else."""
    record = db.session.get(model, record_id)
    if record is None or record.learner_id != viewer.id:
        abort(404)
    return record


def may_see_private(viewer: User, record: PrivateRecord) -> bool:
    """A private record (a reflection, a lesson): its learner always; an active coach only once the
    learner shared this one."""
    if viewer.id == record.learner_id:
        return True
    return record.shared and active_link(viewer.id, record.learner_id) is not None


def private_record_or_404(viewer: User, model: type[Private], record_id: int) -> Private:
    """A private record the viewer may see; a 404 for anyone else, an unshared one's coach too."""
    record = db.session.get(model, record_id)
    if record is None or not may_see_private(viewer, record):
        abort(404)
    return record


def link_or_404(viewer: User, link_id: int) -> CoachingLink:
    """A link the viewer is a party to (active or ended); a 404 for anyone else."""
    link = db.session.get(CoachingLink, link_id)
    if link is None or viewer.id not in (link.coach_id, link.learner_id):
        abort(404)
    return link


def coached_link_or_404(viewer: User, link_id: int) -> CoachingLink:
    """An active link in which the viewer is the coach (to change the contract); a 404 for anyone else."""
    link = link_or_404(viewer, link_id)
    if link.coach_id != viewer.id or not link.active:
        abort(404)
    return link
