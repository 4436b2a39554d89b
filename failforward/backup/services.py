"""Backup and restore: one dated archive holding a consistent copy of the database (SQLite's online
backup API, or pg_dump in custom format), the secret key, instance/config.py, and a manifest that lists
each table's rows and checksum, so that a restore can prove it put back exactly what was saved."""

import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Connection, create_engine, inspect
from sqlalchemy.exc import DatabaseError, OperationalError

from failforward import clock
from failforward.extensions import db

FORMAT = 1
ARCHIVE = re.compile(r"^failforward-backup-(\d{8}T\d{6}Z)\.tar\.gz$")
STAMP = "%Y%m%dT%H%M%SZ"
MANIFEST = "manifest.json"
SQLITE_FILE, PG_FILE = "database.sqlite3", "database.pgdump"
INSTANCE_FILES = ("secret_key", "config.py")
CLIENT_TOOLS = "install the PostgreSQL client tools of the server's version (Debian: apt-get install postgresql-client)"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Backup:
    """An archive written, and the manifest it holds."""

    path: Path
    manifest: dict


@dataclass
class Restored:
    """What a restore put back, and whether the schema still needs `db upgrade`."""

    manifest: dict
    needs_upgrade: bool
    config_kept: bool  # the instance already had a config.py: the backup's was put beside it


# --- describing a database: the manifest's tables ------------------------------------------------

def _tables(connection: Connection) -> list[str]:
    """Every table holding rows of its own; SQLite's FTS virtual tables are left out (their shadow tables
    hold the index and are checked)."""
    names = inspect(connection).get_table_names()
    if connection.dialect.name == "sqlite":
        virtual = set(connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").scalars())
        names = [name for name in names if name not in virtual]
    return sorted(names)


def describe(connection: Connection) -> dict[str, dict]:
    """Each table's row count and a SHA-256 of its rows in primary-key order, as read in this transaction."""
    quote = connection.dialect.identifier_preparer.quote
    tables = {}
    for name in _tables(connection):
        key = inspect(connection).get_pk_constraint(name)["constrained_columns"]
        order = ", ".join(quote(column) for column in key) if key else "1"
        digest, rows = hashlib.sha256(), 0
        for row in connection.exec_driver_sql(f"SELECT * FROM {quote(name)} ORDER BY {order}"):
            digest.update(repr(tuple(row)).encode())
            rows += 1
        tables[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return tables


def _revision(connection: Connection) -> str:
    if "alembic_version" not in inspect(connection).get_table_names():
        raise BackupError("The database has no migration version: run `flask --app app db upgrade` first.")
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()


def _has_data(connection: Connection) -> bool:
    quote = connection.dialect.identifier_preparer.quote
    return any(connection.exec_driver_sql(f"SELECT 1 FROM {quote(name)} LIMIT 1").first()
               for name in _tables(connection) if name != "alembic_version")


# --- backing up -----------------------------------------------------------------------------------

def default_folder() -> Path:
    """Where archives go when no path is given: BACKUP_DIR, else instance/backups."""
    return Path(current_app.config["BACKUP_DIR"] or Path(current_app.instance_path) / "backups")


def create_backup(folder: Path | None = None) -> Backup:
    """Write a consistent copy of the database and the instance files into a new dated archive in `folder`."""
    folder = Path(folder or default_folder())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = clock.now()
    archive = folder / f"failforward-backup-{created:{STAMP}}.tar.gz"
    if archive.exists():
        raise BackupError(f"{archive} exists already: wait a second and run the backup again.")
    with tempfile.TemporaryDirectory(dir=folder, prefix=".backup-") as work:
        copy = _copy_sqlite if db.engine.dialect.name == "sqlite" else _copy_postgresql
        database_file, manifest = copy(Path(work))
        manifest.update(format=FORMAT, app_version=importlib.metadata.version("failforward"),
                        database=db.engine.dialect.name, created_at=created.isoformat())
        members = {database_file.name: database_file.read_bytes()}
        for name in INSTANCE_FILES:
            path = Path(current_app.instance_path) / name
            if path.is_file():
                members[name] = path.read_bytes()
        manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
        members[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
        partial = Path(work) / archive.name
        # The archive holds the secret key and everyone's data: readable by its owner only.
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw, \
                tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name in (MANIFEST, *sorted(set(members) - {MANIFEST})):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(members[name]), 0o600, int(created.timestamp())
                tar.addfile(info, io.BytesIO(members[name]))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, archive)  # a half-written archive never carries a backup's name
    return Backup(archive, manifest)


def _copy_sqlite(work: Path) -> tuple[Path, dict]:
    """SQLite's online backup API, in one step: one read transaction, so a consistent snapshot while
    writers go on (WAL lets them); the manifest describes that copy."""
    target = work / SQLITE_FILE
    source, copy = sqlite3.connect(db.engine.url.database), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return target, {"migration_revision": _revision(connection), "tables": describe(connection)}
    finally:
        engine.dispose()


def _libpq(url) -> tuple[str, dict]:
    """The database's address for the PostgreSQL client tools; the password goes in their environment,
    where `ps` does not show it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _client_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"`{name}` is not on the PATH: {CLIENT_TOOLS}, then run this again.")
    return found


def _run(command: list[str], env: dict, doing: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{doing} failed: {result.stderr.strip() or result.stdout.strip()}")


def _copy_postgresql(work: Path) -> tuple[Path, dict]:
    """pg_dump in custom format from a snapshot that this transaction exports, so the manifest's counts
    and checksums describe exactly what the dump holds."""
    pg_dump = _client_tool("pg_dump")
    target = work / PG_FILE
    address, env = _libpq(db.engine.url)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        manifest = {"migration_revision": _revision(connection), "tables": describe(connection)}
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={address}"],
             env, "pg_dump")
    return target, manifest


# --- restoring ------------------------------------------------------------------------------------

def read_archive(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and files of an archive, each file checked against the manifest's checksum."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            # Read by name only, never extracted: a crafted archive cannot write outside the instance.
            files = {member.name: tar.extractfile(member).read() for member in tar.getmembers()
                     if member.isfile() and member.name in (MANIFEST, SQLITE_FILE, PG_FILE, *INSTANCE_FILES)}
        manifest = json.loads(files.pop(MANIFEST))
    except FileNotFoundError:
        raise BackupError(f"{path} does not exist.") from None
    except (tarfile.TarError, EOFError, OSError, KeyError, ValueError) as error:
        raise BackupError(f"{path} is damaged or not a failforward backup ({error}); nothing was restored.") from None
    expected = manifest.get("files", {})
    damaged = sorted(name for name, data in files.items() if hashlib.sha256(data).hexdigest() != expected.get(name))
    missing = sorted(set(expected) - set(files))
    if damaged or missing or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is damaged: {', '.join(damaged + missing) or 'the manifest'} does not match "
                          "its manifest; nothing was restored.")
    return manifest, files


def _check_revision(revision: str) -> bool:
    """True when the archive's schema is older than this code's (a `db upgrade` follows); refuse a newer one."""
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    try:
        known = scripts.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"The backup's database is at migration {revision}, which this code does not know: it "
                          "was made by a newer version of failforward. Restore it with that version (or newer).")
    return revision not in scripts.get_heads()


def restore_backup(path: Path, force: bool = False) -> Restored:
    """Put an archive's database and secret key in place of this instance's, after every check has passed."""
    manifest, files = read_archive(Path(path))
    kind = db.engine.dialect.name
    if manifest["database"] != kind:
        raise BackupError(f"The backup holds a {manifest['database']} database, but this instance uses {kind}: "
                          f"set DATABASE_URL to a {manifest['database']} database and run this again.")
    needs_upgrade = _check_revision(manifest["migration_revision"])
    with db.engine.connect() as connection:
        if _has_data(connection) and not force:
            raise BackupError(f"The database at {db.engine.url.render_as_string()} already holds data: restoring "
                              "would replace it. Restore into an empty instance, or add --force (stop the app first).")
    if kind == "sqlite":
        _restore_sqlite(files[SQLITE_FILE], manifest)
    else:
        _restore_postgresql(files[PG_FILE], manifest)
    config_kept = _restore_instance_files(files)
    return Restored(manifest, needs_upgrade, config_kept)


def _verify(connection: Connection, manifest: dict, where: str) -> None:
    found = describe(connection)
    differ = sorted(name for name in set(found) | set(manifest["tables"])
                    if found.get(name) != manifest["tables"].get(name))
    if differ:
        raise BackupError(f"{where} does not match the backup's manifest (tables: {', '.join(differ)}).")


def _restore_sqlite(data: bytes, manifest: dict) -> None:
    """Write the copy beside the live file, check it (integrity_check, every table's checksum), then
    rename it over the live file in one step."""
    live = Path(db.engine.url.database)
    live.parent.mkdir(parents=True, exist_ok=True)
    incoming = live.with_name(f"{live.name}.restoring")
    incoming.write_bytes(data)
    try:
        engine = create_engine(f"sqlite:///{incoming}")
        try:
            with engine.connect() as connection:
                try:
                    problems = list(connection.exec_driver_sql("PRAGMA integrity_check").scalars())
                except DatabaseError as error:  # too damaged to even be checked
                    problems = [str(error.orig)]
                if problems != ["ok"]:
                    raise BackupError("The backup's database fails SQLite's integrity check: "
                                      f"{'; '.join(problems[:5])}. Nothing was restored.")
                _verify(connection, manifest, "The backup's database")
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        _fsync(incoming)
        db.engine.dispose()
        # The old database's write-ahead log would be replayed onto the new file: it goes first.
        for suffix in ("-wal", "-shm"):
            live.with_name(live.name + suffix).unlink(missing_ok=True)
        os.replace(incoming, live)
        _fsync(live.parent)
    finally:
        for leftover in (incoming, *(incoming.with_name(incoming.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _restore_postgresql(data: bytes, manifest: dict) -> None:
    """Empty the database, then pg_restore in one transaction, then check every table's checksum."""
    pg_restore = _client_tool("pg_restore")
    address, env = _libpq(db.engine.url)
    db.session.remove()
    try:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # the app still running: say so
            quote = connection.dialect.identifier_preparer.quote
            for name in _tables(connection):
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
    except OperationalError as error:
        raise BackupError(f"The database is in use ({error.orig}): stop the app and the worker, then run this "
                          "again. Nothing was changed.") from None
    with tempfile.NamedTemporaryFile(suffix=".pgdump") as dump:
        dump.write(data)
        dump.flush()
        _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={address}", dump.name], env, "pg_restore")
    with db.engine.connect() as connection:
        _verify(connection, manifest, "The restored database")


def _restore_instance_files(files: dict[str, bytes]) -> bool:
    """Put the secret key back (sessions and emailed links keep working); keep an existing config.py and
    put the backup's beside it. True when config.py was kept."""
    instance = Path(current_app.instance_path)
    if "secret_key" in files:
        _write_private(instance / "secret_key", files["secret_key"])
    if "config.py" not in files:
        return False
    existing = instance / "config.py"
    if existing.exists() and existing.read_bytes() != files["config.py"]:
        _write_private(instance / "config.from-backup.py", files["config.py"])
        return True
    _write_private(existing, files["config.py"])
    return False


def _write_private(path: Path, data: bytes) -> None:
    incoming = path.with_name(f".{path.name}.restoring")
    with os.fdopen(os.open(incoming, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data)
    os.replace(incoming, path)


# --- the nightly backup ---------------------------------------------------------------------------

def archives(folder: Path) -> Iterator[tuple[Path, datetime]]:
    """The backup archives in `folder`, with the time each was made (from its name)."""
    for path in sorted(folder.glob("failforward-backup-*.tar.gz")):
        match = ARCHIVE.match(path.name)
        if match:
            yield path, datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)


def nightly() -> Path | None:
    """Back up into BACKUP_DIR and remove archives older than BACKUP_KEEP days; nothing when BACKUP_DIR is unset."""
    if not current_app.config["BACKUP_DIR"]:
        return None
    folder = Path(current_app.config["BACKUP_DIR"])
    archive = create_backup(folder).path
    cutoff = clock.now() - timedelta(days=int(current_app.config["BACKUP_KEEP"]))
    for path, made in archives(folder):
        if made < cutoff and path != archive:
            path.unlink()
    return archive
