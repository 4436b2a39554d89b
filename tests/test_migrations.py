"""The migrations build exactly the schema the models describe, and undo it cleanly."""

import logging

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from sqlalchemy import MetaData, inspect

from failforward import create_app
from failforward.extensions import db
from tests.conftest import database_url


@pytest.fixture
def keep_logging():
    """Alembic's env.py runs logging.fileConfig, which disables every existing logger: undo that."""
    manager = logging.root.manager
    saved = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
             for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root = (logging.root.level, list(logging.root.handlers))
    yield
    for name, lg in list(manager.loggerDict.items()):
        if isinstance(lg, logging.Logger):
            disabled, level, handlers, propagate = saved.get(name, (False, logging.NOTSET, [], True))
            lg.disabled, lg.level, lg.handlers[:], lg.propagate = disabled, level, handlers, propagate
    logging.root.level, logging.root.handlers[:] = root


@pytest.fixture
def empty_database(tmp_path, keep_logging):
    """An app on a database with no tables at all (a fresh SQLite file, or DATABASE_URL emptied)."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "HUEY_IMMEDIATE": True,
    })
    with app.app_context():
        drop_everything()
        yield app
        drop_everything()
        db.session.remove()
        db.engine.dispose()


def drop_everything() -> None:
    """Drop every table in the database, the models' and Alembic's alike."""
    found = MetaData()
    found.reflect(bind=db.engine)
    found.drop_all(bind=db.engine)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def managed_table_names() -> set[str]:
    """The tables, less the full-text search tables that raw DDL builds beside the models."""
    return {name for name in table_names() if not name.startswith("lesson_fts")}


def schema_differences() -> list:
    with db.engine.connect() as connection:
        include_object = current_app.extensions["migrate"].configure_args["include_object"]
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True,
                                                               "include_object": include_object})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_database):
    assert table_names() == set()

    flask_migrate.upgrade()

    assert managed_table_names() == {table.name for table in db.metadata.sorted_tables} | {"alembic_version"}
    assert schema_differences() == []

    flask_migrate.downgrade(revision="base")

    assert managed_table_names() == {"alembic_version"}
    flask_migrate.upgrade()  # and back up again from nothing
    assert schema_differences() == []


def test_the_migrations_have_a_single_head(empty_database):
    from alembic.script import ScriptDirectory

    config = empty_database.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_the_weekly_rollups_are_filled_from_the_reps_already_there(empty_database):
    """An instance upgraded past c9e4b7a2d5f1 shows its goals' weeks at once, not only after a new rep."""
    flask_migrate.upgrade(revision="b8e4f1a6c3d2")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (id, name, email, password_hash, timezone, session_version, checkin_weekday, "
            "checkin_hour, email_opt_in, checkin_always, created_at) VALUES (1, 'Lee', 'lee@example.com', 'x', "
            "'Pacific/Auckland', 1, 0, 8, true, false, '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO goal (id, learner_id, title, bottleneck, metric_name, unit, direction, baseline, target, "
            "weeks_required, aggregation, why, status, partial_from_pct, created_at) VALUES (1, 1, 'Serve', 'b', "
            "'errors', 'errors', 'lower', 10, 5, 2, 'total', '', 'active', 20, '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO drill (id, learner_id, goal_id, name, practises, environment, tools, feedback_source, "
            "planned_reps_per_week, difficulty_note, created_at) VALUES (1, 1, 1, 'Toss', 'p', '', '', 'video', 3, "
            "'d', '2026-03-01 00:00:00')")
        for rep_id, at in ((1, "2026-03-15 10:59:59"), (2, "2026-03-15 11:00:00")):  # Auckland's Monday 00:00
            connection.exec_driver_sql(
                "INSERT INTO rep (id, learner_id, goal_id, drill_id, performed_at, value, duration_minutes, outcome, "
                f"note, adjustment, idempotency_key, logged_at) VALUES ({rep_id}, 1, 1, 1, '{at}', 2, 10, 'hit', "
                f"'', '', 'k{rep_id}', '{at}')")
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        weeks = connection.exec_driver_sql("SELECT monday, value, reps, minutes FROM goal_week ORDER BY monday").all()
    # Auckland's week of 9 March ends at 10:59:59 UTC on 15 March: the two reps fall in two weeks.
    assert [(str(monday), value, reps, minutes) for monday, value, reps, minutes in weeks] == [
        ("2026-03-09", 2.0, 1, 10), ("2026-03-16", 2.0, 1, 10)]
