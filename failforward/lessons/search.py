"""Searching a learner's lessons: the index each database keeps (SQLite FTS5, a PostgreSQL GIN index)
and the query that reads it, with highlighted snippets."""

import re
from dataclasses import dataclass

from flask import abort
from markupsafe import Markup, escape
from sqlalchemy import DDL, bindparam, event, literal_column, text

from failforward.accounts.models import User
from failforward.coaching.access import active_link
from failforward.extensions import db
from failforward.lessons.models import Lesson, LessonTag, lesson_tags

SEARCH_LIMIT = 50
# Highlight markers: control characters, which no stored text can hold (the forms refuse them), so
# they cannot be forged by a learner and never collide with what they wrote.
MARK_START, MARK_END = "\x02", "\x03"
WORD = re.compile(r"\w+", re.UNICODE)

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


def _visible(viewer: User, learner: User):
    """The lessons of `learner` that `viewer` may see, as a select."""
    query = db.select(Lesson).where(Lesson.learner_id == learner.id)
    if viewer.id != learner.id:
        if active_link(viewer.id, learner.id) is None:
            abort(404)
        query = query.where(Lesson.shared.is_(True))
    return query


def _filtered(query, filters: dict):
    if filters.get("status"):
        query = query.where(Lesson.status == filters["status"])
    for kind, name in (filters.get("tags") or {}).items():
        tagged = (db.select(lesson_tags.c.lesson_id).join(LessonTag, LessonTag.id == lesson_tags.c.tag_id)
                  .where(LessonTag.kind == kind, LessonTag.name == name))
        query = query.where(Lesson.id.in_(tagged))
    return query


@dataclass
class SearchHit:
    """A lesson found, with a snippet whose matching words are marked (safe to show as is)."""

    lesson: Lesson
    snippet: Markup | None = None


def highlight(marked: str | None) -> Markup | None:
    """Turn text carrying the search's markers into HTML: the person's text escaped, the marked words in <mark>."""
    if marked is None:
        return None
    parts = re.split(f"({MARK_START}.*?{MARK_END})", marked, flags=re.S)
    html = []
    for part in parts:
        if part.startswith(MARK_START) and part.endswith(MARK_END):
            html.append(Markup("<mark>%s</mark>") % part[1:-1])
        else:
            html.append(escape(part.replace(MARK_START, "").replace(MARK_END, "")))
    return Markup("").join(html)


def _fts5_query(words: list[str]) -> str:
    # Each word quoted, so nothing the person types is read as FTS5 syntax; the last one as a prefix.
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search(viewer: User, learner: User, filters: dict, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """The learner's lessons the viewer may see that match the words (all of them) and the filters,
    best match first, each with a highlighted snippet; without words, the newest lessons."""
    query = _filtered(_visible(viewer, learner), filters)
    words = WORD.findall(filters.get("q") or "")[:12]
    if not words:
        lessons = db.session.scalars(query.order_by(Lesson.happened_on.desc(), Lesson.id.desc()).limit(limit)
                                     .options(db.selectinload(Lesson.tags)))
        return [SearchHit(lesson) for lesson in lessons]
    # Rank and cut to the page first; only the lessons shown get a snippet, which costs the most.
    if db.engine.dialect.name == "sqlite":
        rowid, match = literal_column("lesson_fts.rowid"), literal_column("lesson_fts").op("MATCH")(
            bindparam("match", _fts5_query(words)))
        # Materialised: otherwise SQLite may run the MATCH once per lesson of the learner.
        found = (db.select(rowid.label("id"), literal_column("lesson_fts.rank").label("rank"))
                 .select_from(text("lesson_fts")).where(match)).cte("found").prefix_with("MATERIALIZED")
        snippets = (db.select(rowid, literal_column(f"snippet(lesson_fts, -1, '{MARK_START}', '{MARK_END}', '…', 24)"))
                    .select_from(text("lesson_fts")).where(match))
        shown = rowid
    else:
        # The same expression as the GIN index (SEARCH_DOCUMENT, above), so the planner can use it.
        config, document = literal_column("'english'::regconfig"), literal_column(SEARCH_DOCUMENT)
        tsquery = db.func.plainto_tsquery(config, bindparam("words", " ".join(words)))
        vector = db.func.to_tsvector(config, document)
        found = (db.select(Lesson.id.label("id"), (-db.func.ts_rank(vector, tsquery)).label("rank"))
                 .where(vector.op("@@")(tsquery))).subquery()
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12"
        snippets = db.select(Lesson.id, db.func.ts_headline(config, document, tsquery, bindparam("options", options)))
        shown = Lesson.id
    lessons = list(db.session.scalars(
        query.join(found, found.c.id == Lesson.id).order_by(found.c.rank, Lesson.happened_on.desc()).limit(limit)
        .options(db.selectinload(Lesson.tags))))
    if not lessons:
        return []
    marked = dict(db.session.execute(snippets.where(shown.in_([lesson.id for lesson in lessons]))).all())
    return [SearchHit(lesson, highlight(marked.get(lesson.id))) for lesson in lessons]
