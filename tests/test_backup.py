"""Backup and restore from the CLI: what the archive holds, restoring into an empty instance, and the
refusals (a database with data, a newer schema, a damaged archive); the nightly task's retention."""

import gzip
import hashlib
import io
import json
import re
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from failforward import create_app, tasks
from failforward.backup import services as backup
from failforward.extensions import db
from failforward.ledger.models import Rep
from tests.conftest import PASSWORD, database_url
from tests.factories import count, log, text

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET_KEY = "the-instance-secret-key-of-this-deployment-0123456789"


def scripts() -> ScriptDirectory:
    return ScriptDirectory(current_app.extensions["migrate"].directory)


def postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture(autouse=True)
def migrated(app, clock):
    """The test database as `flask db upgrade` leaves it: stamped with this code's migration head."""
    clock.set(MONDAY)
    (Path(app.instance_path) / "secret_key").write_text(SECRET_KEY)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{scripts().get_current_head()}')")
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


@pytest.fixture
def reps(learner, drill):
    return [log(learner, drill, value) for value in (4, 6, 3)]


@pytest.fixture
def archive(app, runner, reps, tmp_path) -> Path:
    result = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    db.session.commit()  # end the test's own read: PostgreSQL's restore drops tables
    return tmp_path / "backups" / "failforward-backup-20260302T090000Z.tar.gz"


def instance_app(tmp_path: Path, smtp_server) -> Flask:
    """The app of another instance, as a fresh checkout runs it: its own folder and database (a SQLite
    file there; on PostgreSQL, the test database), its secret key read from (or made into) that folder."""
    folder = tmp_path / "restored"
    folder.mkdir(exist_ok=True)
    return create_app({"TESTING": True, "INSTANCE_PATH": str(folder / "instance"), "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_DATABASE_URI": database_url(folder), "HUEY_IMMEDIATE": True,
                       "SESSION_COOKIE_SECURE": False, "MAIL_TRANSPORT": "smtp",
                       "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server[0].port})


def empty_instance(tmp_path: Path, smtp_server) -> Flask:
    """Another instance with an empty database (on PostgreSQL, the test database emptied)."""
    db.session.commit()  # end the test's own read: PostgreSQL's DROP TABLE would wait for it
    app = instance_app(tmp_path, smtp_server)
    with app.app_context():
        if postgresql():
            with db.engine.begin() as connection:
                for name in backup._tables(connection):
                    connection.exec_driver_sql(f'DROP TABLE "{name}" CASCADE')
        db.engine.dispose()
    return app


def restore(app: Flask, archive: Path, *options: str):
    """`flask --app app restore ARCHIVE` on that app (its own app context: the CLI reuses an open one)."""
    db.session.commit()  # end the test's own read, as the operator's shell would have
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["restore", str(archive), *options])
        db.session.remove()
        db.engine.dispose()
    return result


def rewritten(archive: Path, manifest_change=None, database_change=None) -> Path:
    """A copy of the archive with its manifest or database changed (the file checksums kept consistent)."""
    manifest, files = backup.read_archive(archive)
    database_name = backup.PG_FILE if backup.PG_FILE in files else backup.SQLITE_FILE
    if database_change:
        files[database_name] = database_change(files[database_name])
        manifest["files"][database_name] = hashlib.sha256(files[database_name]).hexdigest()
    if manifest_change:
        manifest_change(manifest)
    files[backup.MANIFEST] = json.dumps(manifest).encode()
    changed = archive.with_name("changed.tar.gz")
    with tarfile.open(changed, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return changed


def test_a_backup_holds_the_database_the_secret_key_and_a_manifest(app, archive, learner):
    manifest, files = backup.read_archive(archive)
    assert archive.stat().st_mode & 0o777 == 0o600  # it holds the secret key
    assert manifest["migration_revision"] == scripts().get_current_head()
    assert manifest["database"] == db.engine.dialect.name
    assert manifest["app_version"] == "0.1.0"
    assert manifest["created_at"] == MONDAY.isoformat()
    assert manifest["tables"]["rep"]["rows"] == 3
    assert manifest["tables"]["users"]["rows"] == 1
    assert "alembic_version" in manifest["tables"]
    assert files["secret_key"] == (Path(app.instance_path) / "secret_key").read_bytes()
    assert set(files) == {"secret_key", backup.PG_FILE if postgresql() else backup.SQLITE_FILE}


def test_the_default_folder_is_backup_dir_else_instance_backups(app, runner, reps, tmp_path):
    assert runner.invoke(args=["backup"]).exit_code == 0
    assert [path.name for path in (Path(app.instance_path) / "backups").iterdir()] == [
        "failforward-backup-20260302T090000Z.tar.gz"]
    app.config["BACKUP_DIR"] = str(tmp_path / "elsewhere")
    assert "to " + str(tmp_path / "elsewhere") in runner.invoke(args=["backup"]).output


def test_a_restored_instance_has_every_row_the_secret_key_and_serves_the_ledger(app, archive, tmp_path,
                                                                                smtp_server, learner, reps):
    manifest, shown = backup.read_archive(archive)[0], {f'id="rep-{rep.id}"' for rep in reps}
    target = empty_instance(tmp_path, smtp_server)
    result = restore(target, archive)
    assert result.exit_code == 0, result.output
    assert "every table's checksum matches" in result.output
    assert "db upgrade" not in result.output
    assert (Path(target.instance_path) / "secret_key").read_text() == SECRET_KEY

    with target.app_context():
        with db.engine.connect() as connection:
            assert backup.describe(connection) == manifest["tables"]
        db.engine.dispose()

    served = instance_app(tmp_path, smtp_server)  # the app started again on the restored instance
    assert served.config["SECRET_KEY"] == SECRET_KEY
    # Requests outside a pushed context of this app, so each pushes its own and tears it down (its
    # session and connection closed) as a server would: reusing one left a connection open on PostgreSQL.
    client = served.test_client()
    assert client.post("/login", data={"email": learner.email, "password": PASSWORD}).status_code == 303
    page = text(client.get("/ledger"))
    with served.app_context():
        db.engine.dispose()
    assert shown <= set(re.findall(r'id="rep-\d+"', page))


def test_restore_refuses_a_database_that_holds_data_unless_forced(app, archive, learner, drill):
    later = log(learner, drill, 9).id  # logged after the backup
    db.session.commit()
    result = restore(app, archive)
    assert result.exit_code == 1
    assert "already holds data" in result.output and "--force" in result.output
    assert count(Rep) == 4

    result = restore(app, archive, "--force")
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert count(Rep) == 3 and db.session.get(Rep, later) is None


def test_an_archive_from_a_newer_version_is_refused(app, archive, tmp_path, smtp_server):
    newer = rewritten(archive, manifest_change=lambda m: m.update(migration_revision="f00dfacef00d"))
    target = empty_instance(tmp_path, smtp_server)
    result = restore(target, newer)
    assert result.exit_code == 1
    assert "migration f00dfacef00d, which this code does not know" in result.output
    assert "newer version of failforward" in result.output
    with target.app_context():
        with db.engine.connect() as connection:
            assert backup.describe(connection).get("rep") is None  # nothing was restored
        db.engine.dispose()


def test_an_archive_from_an_older_version_is_restored_and_says_to_upgrade(app, archive, tmp_path, smtp_server):
    previous = scripts().get_revision(scripts().get_current_head()).down_revision
    older = rewritten(archive, manifest_change=lambda m: m.update(migration_revision=previous))
    result = restore(empty_instance(tmp_path, smtp_server), older)
    assert result.exit_code == 0, result.output
    assert "run `flask --app app db upgrade` now" in result.output


def test_a_truncated_archive_is_refused_and_the_database_left_alone(app, archive, learner):
    damaged = archive.with_name("damaged.tar.gz")
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    result = restore(app, damaged, "--force")
    assert result.exit_code == 1
    assert "is damaged or not a failforward backup" in result.output and "nothing was restored" in result.output
    assert count(Rep) == 3


def test_an_archive_whose_database_does_not_match_its_manifest_is_refused(app, archive):
    data = bytearray(gzip.decompress(archive.read_bytes()))
    data[len(data) // 2] ^= 0xFF  # one byte flipped inside the archived database
    flipped = archive.with_name("flipped.tar.gz")
    flipped.write_bytes(gzip.compress(bytes(data)))
    result = restore(app, flipped, "--force")
    assert result.exit_code == 1
    assert "is damaged: database." in result.output and "does not match its manifest" in result.output


def test_a_database_that_fails_the_integrity_check_is_never_put_in_place(app, archive, learner):
    if postgresql():
        pytest.skip("PRAGMA integrity_check is SQLite's")
    live = Path(db.engine.url.database)

    def break_pages(database: bytes) -> bytes:
        broken = bytearray(database)
        page = 4096 * 3  # a table's b-tree page: its header is overwritten
        broken[page:page + 12] = b"\x0d" + b"\xff" * 11
        return bytes(broken)

    result = restore(app, rewritten(archive, database_change=break_pages), "--force")
    assert result.exit_code == 1
    assert "fails SQLite's integrity check" in result.output and "Nothing was restored" in result.output
    assert count(Rep) == 3
    assert not live.with_name(live.name + ".restoring").exists()


def test_the_postgresql_client_tools_missing_is_said_clearly(app, reps, runner, monkeypatch, tmp_path):
    if not postgresql():
        pytest.skip("pg_dump is only used on PostgreSQL")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 1
    assert "`pg_dump` is not on the PATH: install the PostgreSQL client tools" in result.output


def test_the_nightly_backup_is_off_until_backup_dir_is_set(app, reps):
    assert tasks.nightly_backup()() is None
    assert not (Path(app.instance_path) / "backups").exists()


def test_the_nightly_backup_keeps_only_backup_keep_days(app, reps, clock, tmp_path):
    folder = tmp_path / "nightly"
    app.config.update(BACKUP_DIR=str(folder), BACKUP_KEEP=3)
    folder.mkdir()
    (folder / "notes.txt").write_text("the operator's own file")
    for day in range(6):
        clock.set(MONDAY + timedelta(days=day, hours=-6))  # 03:00 each night
        tasks.nightly_backup()
    assert sorted(path.name for path in folder.iterdir()) == [
        "failforward-backup-20260304T030000Z.tar.gz",
        "failforward-backup-20260305T030000Z.tar.gz",
        "failforward-backup-20260306T030000Z.tar.gz",
        "failforward-backup-20260307T030000Z.tar.gz",
        "notes.txt",
    ]
