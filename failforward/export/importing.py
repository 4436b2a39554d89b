"""Import data: an archive from "Download my data" (this instance or another) into a person's account.

The same code runs for the dry run and the import: it writes everything in one transaction and counts
what it added, skipped (already there: a second import adds nothing) and refused (line by line, with
the reason); the dry run then rolls back, the import commits. Nothing is ever half-imported.
Ids are remapped; other people's ids mean nothing on another instance, so links to them are dropped
(a coach's answer stays, without its author) and said so.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Boolean, Date, Float, Integer, String, Table, insert, select

from failforward.accounts.models import User
from failforward.database import UtcDateTime
from failforward.export.services import FORMAT, KINDS, VERSION, Kind
from failforward.extensions import db
from failforward.goals.models import Goal
from failforward.ledger import weekly

MAX_ARCHIVE_JSON = 500 * 1024 * 1024  # the largest failforward.json read, unpacked (a ZIP bomb stops here)
SHOWN_REFUSALS = 100  # refusals listed line by line; the rest are counted


class _LeftOut(Exception):
    """A record that only another person's account can hold (their vote, say): left out, and said so."""


class ArchiveError(ValueError):
    """The upload is not an archive this instance can read; the message says why, for a person."""


@dataclass
class KindReport:
    """What the import did, or would do, with one kind of record."""

    name: str
    added: int = 0
    skipped: int = 0
    refused: int = 0
    links_dropped: int = 0
    kept_out: str = ""


@dataclass
class Report:
    """The whole import: per kind, the refusals (kind, line, reason), and whether it was written."""

    kinds: list[KindReport] = field(default_factory=list)
    refusals: list[tuple[str, int, str]] = field(default_factory=list)
    written: bool = False

    @property
    def added(self) -> int:
        return sum(k.added for k in self.kinds)

    @property
    def refused(self) -> int:
        return sum(k.refused for k in self.kinds)

    @property
    def links_dropped(self) -> int:
        return sum(k.links_dropped for k in self.kinds)

    def refuse(self, kind: KindReport, line: int, reason: str) -> None:
        kind.refused += 1
        if len(self.refusals) < SHOWN_REFUSALS:
            self.refusals.append((kind.name, line, reason))


def read_archive(upload: IO[bytes]) -> dict:
    """failforward.json from an uploaded ZIP, checked to be ours and of a version this instance reads."""
    try:
        with zipfile.ZipFile(upload) as archive:
            info = archive.getinfo("failforward.json")
            if info.file_size > MAX_ARCHIVE_JSON:
                raise ArchiveError("The archive is larger than this instance imports.")
            document = json.loads(archive.read(info))
    except KeyError:
        raise ArchiveError("The ZIP has no failforward.json: is it a download from failforward?") from None
    except (zipfile.BadZipFile, EOFError):
        raise ArchiveError("That file is not a ZIP archive (or it is damaged).") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ArchiveError("failforward.json in the archive is damaged.") from None
    if (not isinstance(document, dict) or document.get("format") != FORMAT
            or not isinstance(document.get("records"), dict)):
        raise ArchiveError("The archive's failforward.json is not a failforward export.")
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ArchiveError(f"The archive is of export version {version}; this instance reads version {VERSION} "
                           "and older. Upgrade this instance first.")
    return document


def _cell(column, value):
    """An archive value as the column stores it; ValueError with a reason when it cannot be."""
    if value is None:
        if not column.nullable and column.default is None and column.server_default is None:
            raise ValueError(f"{column.name} is missing")
        return None
    kind = column.type
    if isinstance(kind, UtcDateTime):
        moment = datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(kind, Date):
        return date.fromisoformat(str(value))
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"{column.name} is not true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{column.name} is not a whole number")
        return value
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{column.name} is not a number")
        return float(value)
    if isinstance(kind, String):
        text = str(value)
        if kind.length and len(text) > kind.length:
            raise ValueError(f"{column.name} is longer than {kind.length} characters")
        return text
    return str(value)


class _Importer:
    """One import: the new ids of each kind's records, the report, the person and the exporter's id."""

    def __init__(self, person: User, document: dict) -> None:
        self.person, self.exporter = person, document.get("person_id")
        self.records = document["records"]
        self.new_ids: dict[str, dict[int, int]] = {kind.name: {} for kind in KINDS}
        self.report = Report()

    def run(self) -> Report:
        for kind in KINDS:
            kind_report = KindReport(kind.name, kept_out=kind.kept_out)
            self.report.kinds.append(kind_report)
            rows = self.records.get(kind.name) or []
            if kind.kept_out:
                kind_report.skipped = len(rows) if isinstance(rows, list) else 0
            elif not isinstance(rows, list):
                self.report.refuse(kind_report, 0, "not a list of records")
            else:
                self._import(kind, rows, kind_report)
        return self.report

    def _row(self, kind: Kind, record) -> tuple[dict, int]:
        """The row to insert for an archive record (ids remapped), and how many links to people it lost."""
        if not isinstance(record, dict):
            raise ValueError("not a record")
        row, dropped = {}, 0
        for column in kind.table.columns:
            name = column.name
            if name == "id" or name in kind.secret:
                continue
            value = record.get(name)
            if name == kind.owner:
                value = self.person.id
            elif name in kind.refs and value is not None:
                value = self.new_ids[kind.refs[name]].get(value)
                if value is None:
                    if not column.nullable:
                        raise ValueError(f"its {kind.refs[name].replace('_', ' ')[:-1]} is not in the archive")
                    dropped += 1
            elif name in kind.people and value is not None:
                if value == self.exporter:
                    value = self.person.id
                elif not column.nullable:
                    raise _LeftOut
                else:
                    value, dropped = None, dropped + 1
            row[name] = _cell(column, value)
        return row, dropped

    def _existing(self, kind: Kind, table: Table) -> set[tuple]:
        """The key of every record of this kind the person already has (their own or under their records)."""
        key = [table.c[name] for name in kind.key]
        query = select(*key, table.c.id) if "id" in table.c else select(*key)
        return {tuple(row[:len(key)]): (row[-1] if "id" in table.c else None)
                for row in db.session.execute(query.where(kind.mine(self.person.id)))}

    def _import(self, kind: Kind, rows: list, report: KindReport) -> None:
        table = kind.table
        existing = self._existing(kind, table)
        has_id = "id" in table.c
        batch = []
        for line, record in enumerate(rows, start=1):
            try:
                row, dropped = self._row(kind, record)
            except _LeftOut:
                report.links_dropped += 1
                continue
            except (ValueError, TypeError) as error:
                self.report.refuse(report, line, str(error))
                continue
            key = tuple(row[name] for name in kind.key)
            if key in existing:
                report.skipped += 1
                if has_id and isinstance(record.get("id"), int):
                    self.new_ids[kind.name][record["id"]] = existing[key]
                continue
            report.added += 1
            report.links_dropped += dropped
            if has_id:
                # Children of this kind need its new id: one insert at a time, returning it.
                new_id = db.session.execute(insert(table).values(row).returning(table.c.id)).scalar_one()
                existing[key] = new_id
                if isinstance(record.get("id"), int):
                    self.new_ids[kind.name][record["id"]] = new_id
            else:
                existing[key] = None
                batch.append(row)
        if batch:
            db.session.execute(insert(table), batch)


def import_archive(person: User, document: dict, dry_run: bool) -> Report:
    """Import `document` into `person`'s account in one transaction; a dry run reports and rolls back."""
    report = _Importer(person, document).run()
    if dry_run:
        db.session.rollback()
    else:
        # The rows went in as plain inserts, around the flush that keeps each goal's weekly roll-up.
        weekly.rebuild(db.session.connection(), Goal.learner_id == person.id)
        db.session.commit()
        report.written = True
    return report


# --- the upload between the dry run and the import -------------------------------------------------
# One pending upload per person, in the instance folder, named by their id: a new upload replaces it,
# and the import takes it only when its digest is the one the dry run showed.

def _pending(folder: Path, person: User) -> Path:
    return folder / f"{person.id}.zip"


def dry_run(person: User, upload: IO[bytes], folder: Path) -> tuple[Report, str]:
    """Keep the upload and report what importing it would do; its digest names it for the import."""
    data = upload.read()
    report = import_archive(person, read_archive(io.BytesIO(data)), dry_run=True)
    folder.mkdir(parents=True, exist_ok=True)
    _pending(folder, person).write_bytes(data)
    return report, hashlib.sha256(data).hexdigest()


def apply_pending(person: User, digest: str, folder: Path) -> Report:
    """Import the upload the dry run reported on, then forget it."""
    pending = _pending(folder, person)
    data = pending.read_bytes() if pending.exists() else b""
    if hashlib.sha256(data).hexdigest() != digest:
        raise ArchiveError("That upload is no longer waiting (another was chosen since, or it was imported). "
                           "Choose the file again to see its dry run.")
    report = import_archive(person, read_archive(io.BytesIO(data)), dry_run=False)
    pending.unlink()
    return report
