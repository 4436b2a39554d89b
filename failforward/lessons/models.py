"""A lesson (seed §9: date, context, what failed, what was tried, what to try next, a check 30 days
later), its tags of three kinds, the answers to its check, coach comments, and the search index."""

from datetime import date, datetime

from sqlalchemy import DDL, Boolean, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from failforward import clock
from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.extensions import db

TAG_KINDS = {"system": "System", "root-cause": "Root cause", "metric": "Impacted metric"}
OPEN, WORKED, PARTLY, DID_NOT, NOT_YET = "open", "worked", "partly", "did-not", "not-yet"
ANSWERS = {WORKED: "It worked", PARTLY: "Partly", DID_NOT: "It did not work",
           NOT_YET: "Not tried yet (ask again in 7 days)"}
STATUSES = {OPEN: "Check open", WORKED: "Worked", PARTLY: "Partly worked", DID_NOT: "Did not work"}

lesson_tags = Table(
    "lesson_tag_link",
    db.metadata,
    Column("lesson_id", ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("lesson_tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class LessonTag(db.Model):
    """A learner's tag: a system, a root cause or an impacted metric (seed §9.1)."""

    __table_args__ = (UniqueConstraint("learner_id", "kind", "name", name="uq_lesson_tag_learner_id_kind_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(40))


class Lesson(db.Model):
    """Private unless shared with the coach. `tags_text` mirrors the tag names for the search index."""

    __table_args__ = (
        UniqueConstraint("learner_id", "idempotency_key", name="uq_lesson_learner_id_idempotency_key"),
        Index("ix_lesson_learner_happened", "learner_id", "happened_on"),
        Index("ix_lesson_status_check", "status", "check_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    happened_on: Mapped[date] = mapped_column(Date)
    context: Mapped[str] = mapped_column(Text, default="")
    what_failed: Mapped[str] = mapped_column(Text)
    what_tried: Mapped[str] = mapped_column(Text, default="")
    try_next: Mapped[str] = mapped_column(Text, default="")
    tags_text: Mapped[str] = mapped_column(Text, default="")
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drill.id", ondelete="SET NULL"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id", ondelete="SET NULL"))
    reflection_id: Mapped[int | None] = mapped_column(ForeignKey("reflection.id", ondelete="SET NULL"))
    routine_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_routine.id", ondelete="SET NULL"))
    feedback_request_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_request.id", ondelete="SET NULL"))
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("lesson.id", ondelete="SET NULL"), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    check_on: Mapped[date] = mapped_column(Date)  # in the learner's own calendar
    check_notified_on: Mapped[date | None] = mapped_column(Date)  # the check_on its notice was made for
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)

    learner: Mapped[User] = relationship()
    tags: Mapped[list[LessonTag]] = relationship(secondary=lesson_tags, order_by=(LessonTag.kind, LessonTag.name))
    checks: Mapped[list["LessonCheck"]] = relationship(back_populates="lesson", order_by="LessonCheck.answered_at",
                                                       cascade="all, delete-orphan", passive_deletes=True)
    comments: Mapped[list["LessonComment"]] = relationship(order_by="LessonComment.created_at",
                                                           cascade="all, delete-orphan", passive_deletes=True)

    @property
    def title(self) -> str:
        first = self.what_failed.strip().splitlines()[0] if self.what_failed.strip() else ""
        return first if len(first) <= 90 else first[:89] + "…"

    def tags_of(self, kind: str) -> list[LessonTag]:
        return [tag for tag in self.tags if tag.kind == kind]


class LessonCheck(db.Model):
    """One answer to a lesson's check, kept with its date (a "not tried yet" snoozes, then another comes)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)

    lesson: Mapped[Lesson] = relationship(back_populates="checks")


class LessonComment(db.Model):
    """A comment on a shared lesson, by the learner's coach (or the learner answering)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()


# --- the search index ---------------------------------------------------------------------------
# SQLite: an external-content FTS5 table over the lesson's text columns, kept in step by triggers.
# PostgreSQL: a GIN index on the same document as the search query uses (SEARCH_DOCUMENT), so the
# planner can use it. Both are attached to the lesson table, so db.create_all (tests) builds them;
# the migration that adds the table must run the same statements (see FTS_STATEMENTS).
FTS_COLUMNS = ("context", "what_failed", "what_tried", "try_next", "tags_text")
SEARCH_DOCUMENT = " || ' ' || ".join(f"coalesce({name}, '')" for name in FTS_COLUMNS)
_new = ", ".join(f"new.{name}" for name in FTS_COLUMNS)
_old = ", ".join(f"old.{name}" for name in FTS_COLUMNS)
_cols = ", ".join(FTS_COLUMNS)
# Built by FTS_STATEMENTS, outside the metadata: migrations leave them to those statements.
SEARCH_OBJECTS = frozenset({"lesson_fts", "ix_lesson_search"})
FTS_STATEMENTS = {
    "sqlite": [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS lesson_fts USING fts5({_cols}, content='lesson', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER IF NOT EXISTS lesson_fts_insert AFTER INSERT ON lesson BEGIN "
        f"INSERT INTO lesson_fts(rowid, {_cols}) VALUES (new.id, {_new}); END",
        f"CREATE TRIGGER IF NOT EXISTS lesson_fts_delete AFTER DELETE ON lesson BEGIN "
        f"INSERT INTO lesson_fts(lesson_fts, rowid, {_cols}) VALUES ('delete', old.id, {_old}); END",
        f"CREATE TRIGGER IF NOT EXISTS lesson_fts_update AFTER UPDATE OF {_cols} ON lesson BEGIN "
        f"INSERT INTO lesson_fts(lesson_fts, rowid, {_cols}) VALUES ('delete', old.id, {_old}); "
        f"INSERT INTO lesson_fts(rowid, {_cols}) VALUES (new.id, {_new}); END",
    ],
    "postgresql": [
        f"CREATE INDEX IF NOT EXISTS ix_lesson_search ON lesson USING gin "
        f"(to_tsvector('english'::regconfig, {SEARCH_DOCUMENT}))",
    ],
}
for _dialect, _statements in FTS_STATEMENTS.items():
    for _statement in _statements:
        event.listen(Lesson.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
# The FTS table is not in the metadata, so drop_all would leave it behind, pointing at nothing.
event.listen(Lesson.__table__, "after_drop", DDL("DROP TABLE IF EXISTS lesson_fts").execute_if(dialect="sqlite"))
