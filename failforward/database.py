"""Database URL handling, the SQLite settings that TRUST.md promises (WAL, FULL sync, BEGIN IMMEDIATE), the
numbers an id column holds, and database errors told without the values in them."""

from datetime import UTC, datetime

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import DateTime, Float, Integer, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from failforward.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Every id is an SQL INTEGER column: 4 bytes in PostgreSQL (SQLite's go to 2**63 - 1). A larger number names no
# row, and PostgreSQL refuses even to compare it ("integer out of range").
LARGEST_ID = 2**31 - 1


def normalise_url(url: str) -> str:
    """Point `postgres://` and `postgresql://` URLs at the psycopg 3 driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def whole_number(text: str) -> int:
    """Text of ASCII digits as an int that an id column holds (0 to LARGEST_ID); ValueError for anything else."""
    # The length first: int() of thousands of digits is slow, and past 4,300 digits it refuses anyway.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(LARGEST_ID)) or int(text) > LARGEST_ID:
        raise ValueError(f"not an id: {text[:20]!r}")
    return int(text)


def as_id(text: str | None) -> int | None:
    """The id written in `text`, or None when it is no number an id column holds."""
    try:
        return whole_number(text or "")
    except ValueError:
        return None


class DatabaseFailure(Exception):
    """A database error as the log tells it: what failed and where, without the values involved."""


def without_values(error: BaseException) -> BaseException:
    """The error to log in place of `error`, with the same traceback. A database error loses the driver's
    message: PostgreSQL quotes what a person typed there ("DETAIL: Failing row contains (...)", "invalid input
    syntax for type integer: ..."); the statement's parameters are hidden by the engine (hide_parameters)."""
    if not isinstance(error, DBAPIError):
        return error
    driver_error = error.orig
    diag = getattr(driver_error, "diag", None)
    if diag is None:  # SQLite names the constraint or the problem, never a value
        what = str(driver_error)
    else:
        where = ", ".join(f"{name} {value}" for name, value in (
            ("table", diag.table_name), ("column", diag.column_name), ("constraint", diag.constraint_name)) if value)
        what = f"SQLSTATE {getattr(driver_error, 'sqlstate', None)}" + (f" on {where}" if where else "")
    told = DatabaseFailure(f"{type(error).__name__} ({type(driver_error).__name__}: {what})\n[SQL: {error.statement}]")
    return told.with_traceback(error.__traceback__)


def configure_sqlite(engine: Engine) -> None:
    """Set pragmas on every new SQLite connection and begin write transactions IMMEDIATE."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes_now() else "BEGIN")


def writes_now() -> bool:
    """Should the transaction starting now take the write lock at once?

    A deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed in between (WAL's stale snapshot: the busy timeout cannot help);
    BEGIN IMMEDIATE waits its turn instead. So tasks and every transaction of a POST begin
    IMMEDIATE, while GET (which never changes state), the shell, CLI reads and tests read in
    deferred transactions, and readers never queue behind writers.
    """
    if has_app_context() and g.get("in_task"):
        return True
    return has_request_context() and request.method not in READ_ONLY_METHODS and not g.get("writes_done")


def writes_done() -> None:
    """This request's change is saved: end its transaction (a double tap leaves the one that found the
    first rep open), and what it reads from now on (to draw the answer) begins deferred, so other
    writers do not wait for SQLite's write lock while templates render. Only web.done() says so, so an
    answer that reads (a card of today's reps, say) reads when it is drawn. Tests fail any write after it."""
    if not g.get("writes_done"):
        g.writes_done = True
        if db.session().in_transaction():  # a commit with nothing to end would still expire every row loaded
            db.session.commit()


def commit_keeping_rows() -> None:
    """Commit, keeping the rows the session holds as they are: for a service whose answer is drawn from what it
    has just written (its rows hold what the database now holds), which would otherwise read them all back."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


class UtcDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back as an aware UTC datetime.

    SQLite has no time zone type; without this, values come back naive on SQLite and aware on
    PostgreSQL, and comparing them with clock.now() breaks on one of the two.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class hours_between(FunctionElement):
    """`hours_between(later, earlier)`: the hours between two UtcDateTime expressions, worked out by the
    database. Reading thousands of timestamps back only to subtract them cost more than the query."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    # julianday() is a float of days: rounded to the second, so whole hours come out exact.
    return f"(round((julianday({later}) - julianday({earlier})) * 86400.0) / 3600.0)"


@compiles(hours_between, "postgresql")
def _hours_between_postgresql(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


class epoch_seconds(FunctionElement):
    """`epoch_seconds(moment)`: a UtcDateTime expression as whole UTC seconds since 1970, worked out by the
    database. Bucketing thousands of reps into weeks costs less against numbers than against datetimes read
    back one by one. Whole seconds are exact for that: the weeks start on a local midnight."""

    type = Integer()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw) -> str:
    # The first 19 characters, "YYYY-MM-DD HH:MM:SS": SQLite rounds a fraction to milliseconds, which would carry
    # 23:59:59.9999 into the next day (and week).
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element, compiler, **kw) -> str:
    # The column is a timestamp without a zone, holding UTC: EXTRACT reads it as UTC.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def migration_filter(unmanaged: frozenset[str]):
    """Alembic's include_object: leave out objects built by raw DDL (and their `_`-suffixed shadows)."""
    prefixes = tuple(f"{name}_" for name in unmanaged)

    def include_object(_obj, name, _type, _reflected, _compare_to) -> bool:
        return not (name in unmanaged or (name or "").startswith(prefixes))

    return include_object
