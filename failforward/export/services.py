"""A person's data as one ZIP: `failforward.json` (every record they own, under a versioned schema),
one CSV per kind for spreadsheets, and the schema's description (docs/export-schema.md).

Each kind is a table and the rule that picks the person's rows from it, read with SQLAlchemy Core in
two queries per kind (the JSON, then the CSV): no model objects, and the archive streams out as it is
made, so a year of practice takes a fraction of a second and a large account never sits in memory.
A coach's archive holds what they wrote (answers, comments, invites, the contracts they are party
to), never their learners' private records: every rule below names the person's own rows.
"""

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Table, or_, select

from failforward import clock
from failforward.accounts.models import EmailSwitch, User
from failforward.checkins.models import WeeklyCheckin
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.csvsafe import neutralise
from failforward.cycles.models import Cycle, CycleNote, RuleChange
from failforward.extensions import db
from failforward.feedback.models import FeedbackMessage, FeedbackRequest, request_reps
from failforward.goals.models import Drill, Goal
from failforward.ledger.models import Rep
from failforward.lessons.models import Lesson, LessonCheck, LessonComment, LessonTag, lesson_tags
from failforward.premortems.models import Cause, PreMortem, PreMortemComment, Risk, RiskVote, TripwireFiring
from failforward.pulse.models import Pulse
from failforward.reflection.models import OwnPrompt, RecoveryRoutine, Reflection
from failforward.reviews.models import Review, ReviewAction, ReviewComment, ReviewEvent, ReviewFactor
from failforward.study.models import Deck, StudyItem, StudyReview, StudySettings
from failforward.thresholds.models import FollowUp, ThresholdRule

FORMAT = "failforward-export"
VERSION = 1
SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "export-schema.md"
CHUNK = 64 * 1024  # characters handed to the compressor at a time


@dataclass(frozen=True)
class Kind:
    """One kind of record: its name in the archive, its table, the rule that picks a person's rows (given
    their id), and the columns never exported (secrets).

    For an import (importing.py): `owner` is the column that names the owner, `refs` maps a column to
    the kind whose ids it holds (remapped to the new ids), `people` are columns naming other people,
    `key` says which columns make a record "already there", and `kept_out` why a kind is not imported."""

    name: str
    table: Table
    mine: Callable[[int], ColumnElement[bool]]
    secret: tuple[str, ...] = ()
    owner: str | None = None
    refs: dict[str, str] = field(default_factory=dict)
    people: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    kept_out: str = ""

    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns if c.name not in self.secret]


def _table(model) -> Table:
    return model.__table__


def _links_of(pid: int):
    return select(CoachingLink.id).where(or_(CoachingLink.coach_id == pid, CoachingLink.learner_id == pid))


def _requests_of(pid: int):
    return select(FeedbackRequest.id).where(FeedbackRequest.learner_id == pid)


def _premortems_of(pid: int):
    return select(PreMortem.id).where(PreMortem.learner_id == pid)


def _cycles_of(pid: int):
    return select(Cycle.id).where(Cycle.learner_id == pid)


def _reviews_of(pid: int):
    return select(Review.id).where(Review.learner_id == pid)


def _lessons_of(pid: int):
    return select(Lesson.id).where(Lesson.learner_id == pid)


ACCOUNT_KEPT = "this instance's account and settings stay as they are"
COACHING_KEPT = "coaching links are made by invitation on each instance"

# Parents before children, so an import remaps ids in one pass.
KINDS: tuple[Kind, ...] = (
    Kind("profile", _table(User), lambda pid: User.id == pid, secret=("password_hash", "session_version"),
         kept_out=ACCOUNT_KEPT),
    Kind("email_switches", _table(EmailSwitch), lambda pid: EmailSwitch.user_id == pid, kept_out=ACCOUNT_KEPT),
    Kind("coaching_links", _table(CoachingLink),
         lambda pid: or_(CoachingLink.coach_id == pid, CoachingLink.learner_id == pid), kept_out=COACHING_KEPT),
    Kind("contracts", _table(Contract), lambda pid: db.or_(Contract.link_id.in_(_links_of(pid)),
                                                             Contract.learner_id == pid), kept_out=COACHING_KEPT),
    # The rules of the person's own contract (Settings -> contract): their settings, like the profile.
    Kind("threshold_rules", _table(ThresholdRule),
         lambda pid: ThresholdRule.contract_id.in_(select(Contract.id).where(Contract.learner_id == pid)),
         kept_out=ACCOUNT_KEPT),
    Kind("invites", _table(Invite), lambda pid: Invite.coach_id == pid, secret=("nonce",), kept_out=COACHING_KEPT),
    Kind("goals", _table(Goal), lambda pid: Goal.learner_id == pid, owner="learner_id", key=("title", "created_at")),
    Kind("drills", _table(Drill), lambda pid: Drill.learner_id == pid, owner="learner_id", refs={"goal_id": "goals"},
         key=("goal_id", "name", "created_at")),
    Kind("reps", _table(Rep), lambda pid: Rep.learner_id == pid, owner="learner_id",
         refs={"goal_id": "goals", "drill_id": "drills"}, key=("idempotency_key",)),
    Kind("cycles", _table(Cycle), lambda pid: Cycle.learner_id == pid, owner="learner_id",
         refs={"goal_id": "goals", "drill_id": "drills", "previous_id": "cycles", "harm_goal_id": "goals"},
         key=("idempotency_key",)),
    Kind("cycle_rule_changes", _table(RuleChange), lambda pid: RuleChange.cycle_id.in_(_cycles_of(pid)),
         refs={"cycle_id": "cycles"}, key=("cycle_id", "changed_at")),
    Kind("cycle_notes", _table(CycleNote),
         lambda pid: or_(CycleNote.cycle_id.in_(_cycles_of(pid)), CycleNote.author_id == pid),
         refs={"cycle_id": "cycles"}, people=("author_id",), key=("cycle_id", "created_at", "body")),
    Kind("pre_mortems", _table(PreMortem), lambda pid: PreMortem.learner_id == pid, owner="learner_id",
         refs={"goal_id": "goals"}, people=("coach_id",), key=("goal_id", "created_at")),
    Kind("risks", _table(Risk), lambda pid: Risk.learner_id == pid, owner="learner_id",
         refs={"premortem_id": "pre_mortems", "drill_id": "drills"}, key=("premortem_id", "title")),
    Kind("causes", _table(Cause),
         lambda pid: or_(Cause.premortem_id.in_(_premortems_of(pid)), Cause.author_id == pid),
         refs={"premortem_id": "pre_mortems", "risk_id": "risks"}, people=("author_id",), key=("premortem_id", "text")),
    Kind("risk_votes", _table(RiskVote),
         lambda pid: or_(RiskVote.risk_id.in_(select(Risk.id).where(Risk.learner_id == pid)), RiskVote.voter_id == pid),
         refs={"risk_id": "risks"}, people=("voter_id",), key=("risk_id", "voter_id")),
    Kind("tripwire_firings", _table(TripwireFiring), lambda pid: TripwireFiring.learner_id == pid,
         owner="learner_id", refs={"risk_id": "risks"}, key=("risk_id", "fired_at")),
    Kind("pre_mortem_comments", _table(PreMortemComment),
         lambda pid: or_(PreMortemComment.premortem_id.in_(_premortems_of(pid)), PreMortemComment.author_id == pid),
         refs={"premortem_id": "pre_mortems"}, people=("author_id",), key=("premortem_id", "created_at", "body")),
    Kind("feedback_requests", _table(FeedbackRequest), lambda pid: FeedbackRequest.learner_id == pid,
         owner="learner_id", refs={"rep_id": "reps"}, key=("rep_id", "created_at")),
    Kind("feedback_request_reps", request_reps, lambda pid: request_reps.c.request_id.in_(_requests_of(pid)),
         refs={"request_id": "feedback_requests", "rep_id": "reps"}, key=("request_id", "rep_id")),
    Kind("feedback_messages", _table(FeedbackMessage),
         lambda pid: or_(FeedbackMessage.request_id.in_(_requests_of(pid)), FeedbackMessage.author_id == pid),
         refs={"request_id": "feedback_requests"}, people=("author_id",), key=("request_id", "created_at", "body")),
    Kind("reflections", _table(Reflection), lambda pid: Reflection.learner_id == pid, owner="learner_id",
         refs={"rep_id": "reps"}, key=("idempotency_key",)),
    Kind("own_prompts", _table(OwnPrompt), lambda pid: OwnPrompt.learner_id == pid, owner="learner_id",
         key=("text",)),
    Kind("recovery_routines", _table(RecoveryRoutine), lambda pid: RecoveryRoutine.learner_id == pid,
         owner="learner_id", refs={"reflection_id": "reflections"}, key=("reflection_id", "started_at")),
    Kind("follow_ups", _table(FollowUp), lambda pid: FollowUp.learner_id == pid, owner="learner_id",
         secret=("rule_id",), refs={"goal_id": "goals", "drill_id": "drills", "reflection_id": "reflections"},
         key=("occurrence_key",)),
    Kind("blameless_reviews", _table(Review), lambda pid: Review.learner_id == pid, owner="learner_id",
         refs={"goal_id": "goals", "rep_id": "reps", "reflection_id": "reflections"}, key=("idempotency_key",)),
    Kind("review_events", _table(ReviewEvent), lambda pid: ReviewEvent.review_id.in_(_reviews_of(pid)),
         refs={"review_id": "blameless_reviews"}, key=("review_id", "at", "what")),
    Kind("review_factors", _table(ReviewFactor), lambda pid: ReviewFactor.review_id.in_(_reviews_of(pid)),
         refs={"review_id": "blameless_reviews"}, key=("review_id", "kind", "what")),
    Kind("review_actions", _table(ReviewAction), lambda pid: ReviewAction.learner_id == pid, owner="learner_id",
         refs={"review_id": "blameless_reviews"}, people=("owner_id",), key=("idempotency_key",)),
    Kind("review_comments", _table(ReviewComment),
         lambda pid: or_(ReviewComment.review_id.in_(_reviews_of(pid)), ReviewComment.author_id == pid),
         refs={"review_id": "blameless_reviews"}, people=("author_id",), key=("review_id", "created_at", "body")),
    Kind("lesson_tags", _table(LessonTag), lambda pid: LessonTag.learner_id == pid, owner="learner_id",
         key=("kind", "name")),
    Kind("lessons", _table(Lesson), lambda pid: Lesson.learner_id == pid, owner="learner_id",
         refs={"goal_id": "goals", "drill_id": "drills", "rep_id": "reps", "reflection_id": "reflections",
               "routine_id": "recovery_routines", "feedback_request_id": "feedback_requests",
               "follow_up_of_id": "lessons", "review_id": "blameless_reviews"}, key=("idempotency_key",)),
    Kind("lesson_tag_links", lesson_tags, lambda pid: lesson_tags.c.lesson_id.in_(_lessons_of(pid)),
         refs={"lesson_id": "lessons", "tag_id": "lesson_tags"}, key=("lesson_id", "tag_id")),
    Kind("lesson_checks", _table(LessonCheck), lambda pid: LessonCheck.lesson_id.in_(_lessons_of(pid)),
         refs={"lesson_id": "lessons"}, key=("lesson_id", "answered_at")),
    Kind("lesson_comments", _table(LessonComment),
         lambda pid: or_(LessonComment.lesson_id.in_(_lessons_of(pid)), LessonComment.author_id == pid),
         refs={"lesson_id": "lessons"}, people=("author_id",), key=("lesson_id", "created_at", "body")),
    Kind("weekly_checkins", _table(WeeklyCheckin), lambda pid: WeeklyCheckin.user_id == pid, owner="user_id",
         key=("iso_week",)),
    # Only the learner's own answers: a coach's archive holds none of their learners' pulses.
    Kind("safety_pulses", _table(Pulse), lambda pid: Pulse.learner_id == pid, kept_out=COACHING_KEPT),
    Kind("decks", _table(Deck), lambda pid: Deck.learner_id == pid, owner="learner_id", people=("created_by_id",),
         key=("name", "created_at")),
    Kind("study_items", _table(StudyItem), lambda pid: StudyItem.learner_id == pid, owner="learner_id",
         refs={"deck_id": "decks"}, people=("created_by_id",), key=("deck_id", "prompt", "created_at")),
    Kind("study_reviews", _table(StudyReview), lambda pid: StudyReview.learner_id == pid, owner="learner_id",
         refs={"item_id": "study_items"}, key=("item_id", "answered_at")),
    Kind("study_settings", _table(StudySettings), lambda pid: StudySettings.user_id == pid, kept_out=ACCOUNT_KEPT),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def _value(value):
    """A cell as JSON holds it: times in ISO 8601 (UTC, with its offset), everything else as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def rows_of(kind: Kind, person_id: int) -> Iterator[dict]:
    """The person's rows of one kind, oldest first, as plain values."""
    names = kind.columns()
    query = select(*(kind.table.c[n] for n in names)).where(kind.mine(person_id))
    if "id" in names:
        query = query.order_by(kind.table.c.id)
    for row in db.session.execute(query):
        yield {name: _value(value) for name, value in zip(names, row, strict=True)}


class _Chunks(io.RawIOBase):
    """A write-only stream that keeps what the ZIP writer gives it until it is drained: the archive goes
    out as it is made, never whole in memory. It cannot seek, so zipfile writes data descriptors."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _json_lines(person_id: int) -> Iterator[str]:
    """failforward.json, one record a line (readable, and written by the C encoder at full speed)."""
    header = {"format": FORMAT, "version": VERSION, "exported_at": clock.now().isoformat(), "person_id": person_id}
    yield json.dumps(header, ensure_ascii=False)[:-1] + ', "records": {\n'
    for n, kind in enumerate(KINDS):
        yield f'"{kind.name}": [\n'
        first = True
        for row in rows_of(kind, person_id):
            yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
            first = False
        yield "\n]" + (",\n" if n < len(KINDS) - 1 else "\n}}\n")


def _csv_lines(kind: Kind, person_id: int) -> Iterator[str]:
    """One CSV of a kind; a cell a spreadsheet would run as a formula gets a leading quote."""
    out = io.StringIO()
    writer = csv.writer(out)
    names = kind.columns()
    writer.writerow(names)
    yield out.getvalue()
    for row in rows_of(kind, person_id):
        out.seek(0)
        out.truncate()
        writer.writerow(["" if row[n] is None else neutralise(str(row[n])) for n in names])
        yield out.getvalue()


def archive_name(person: User) -> str:
    return f"failforward-{person.id}-{clock.now().date().isoformat()}.zip"


def stream_archive(person_id: int) -> Iterator[bytes]:
    """The person's archive, piece by piece as it is made: failforward.json, csv/KIND.csv for each kind,
    and export-schema.md. Two queries per kind (one for the JSON, one for its CSV)."""
    chunks = _Chunks()
    with zipfile.ZipFile(chunks, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = [("failforward.json", _json_lines(person_id))]
        entries += [(f"csv/{kind.name}.csv", _csv_lines(kind, person_id)) for kind in KINDS]
        for name, lines in entries:
            with archive.open(name, "w", force_zip64=True) as entry:
                for batch in _batches(lines):
                    entry.write(batch.encode())
                    if data := chunks.drain():
                        yield data
        archive.write(SCHEMA_DOC, "export-schema.md")
    yield chunks.drain()


def _batches(lines: Iterator[str]) -> Iterator[str]:
    """The lines joined into pieces of about CHUNK characters, for the compressor."""
    batch, size = [], 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= CHUNK:
            yield "".join(batch)
            batch, size = [], 0
    yield "".join(batch)
