"""Command-line commands: `flask --app app demo`, `outbox list|retry`, `operators grant|revoke|list`,
`backup`, `restore`, `export-data`, `import-data`, `study-import`, `study-export`, `rebuild-weeks`."""

from pathlib import Path

import click
from flask import Flask, current_app

from failforward.accounts import services as accounts
from failforward.accounts.models import User
from failforward.backup import services as backup
from failforward.demo import create_demo_data
from failforward.export import importing
from failforward.export import services as export
from failforward.extensions import db
from failforward.ledger import weekly
from failforward.mail import services as mail
from failforward.mail.models import STATUSES
from failforward.study import exchange
from failforward.study import services as study


@click.command("demo")
@click.option("--first-run", is_flag=True, help="Only when the database has no accounts yet.")
def demo_command(first_run: bool) -> None:
    """Create the demo coach and learners (idempotent) and print how to sign in."""
    if first_run and db.session.scalar(db.select(User.id).limit(1)) is not None:
        return
    people = create_demo_data()
    click.echo("Demo accounts (sign in at http://127.0.0.1:5000/login):")
    for email, password in people:
        click.echo(f"  {email:<34} password: {password}")


@click.group("outbox")
def outbox_command() -> None:
    """Look at the email outbox and retry failed messages."""


@outbox_command.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only messages with this status.")
@click.option("--limit", default=50, show_default=True)
def outbox_list(status: str | None, limit: int) -> None:
    """List the newest messages (failed ones show their last error)."""
    counts = mail.counts()
    click.echo(" · ".join(f"{status} {counts[status]}" for status in STATUSES))
    for message in mail.listing(status, limit):
        click.echo(f"{message.id:>7} {message.status:<8} {message.attempts:>2}x {message.recipient:<32} {message.key}")
        if message.last_error and message.status != "sent":
            click.echo(f"{'':>10}last error: {message.last_error}")


@outbox_command.command("retry")
@click.argument("message_ids", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed message.")
def outbox_retry(message_ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed messages again (by id, or all with --failed)."""
    ids = list(message_ids) or ([m.id for m in mail.listing("failed", 10_000)] if all_failed else [])
    if not ids:
        raise click.UsageError("Give message ids, or --failed.")
    queued = sum(mail.retry(message_id) for message_id in ids)
    click.echo(f"{queued} message(s) queued again.")


@click.group("operators")
def operators_command() -> None:
    """Grant, revoke and list operator rights (the outbox page). Rights belong to an account and are
    managed here only: no page shows or changes them, and no change of address confers them."""


def _grant(email: str) -> bool:
    try:
        user = accounts.grant_operator(email)
    except accounts.AccountError as error:
        click.echo(str(error), err=True)
        return False
    click.echo(f"{user.email} is an operator now.")
    return True


@operators_command.command("grant")
@click.argument("emails", nargs=-1)
@click.option("--from-config", is_flag=True,
              help="Also grant the accounts that use an ADMIN_EMAILS address now (addresses without one are skipped).")
def operators_grant(emails: tuple[str, ...], from_config: bool) -> None:
    """Make the accounts with these addresses operators."""
    if not emails and not from_config:
        raise click.UsageError("Give email addresses, or --from-config.")
    named = [_grant(email) for email in emails]
    for email in current_app.config["ADMIN_EMAILS"] if from_config else ():
        _grant(email)  # a seed: an address that has no account yet is skipped, not an error
    if not all(named):
        raise click.exceptions.Exit(1)


@operators_command.command("revoke")
@click.argument("emails", nargs=-1, required=True)
def operators_revoke(emails: tuple[str, ...]) -> None:
    """Take operator rights from the accounts with these addresses."""
    for email in emails:
        try:
            user = accounts.revoke_operator(email)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"{user.email} is no longer an operator.")


@operators_command.command("list")
def operators_list() -> None:
    """List the operator accounts and when each was granted."""
    granted = accounts.operators()
    if not granted:
        click.echo("No operators. Grant one with: flask --app app operators grant EMAIL")
    for user, granted_at in granted:
        click.echo(f"{user.email:<40} {user.name:<30} since {granted_at:%Y-%m-%d %H:%M} UTC")


@click.command("backup")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def backup_command(folder: Path | None) -> None:
    """Write a consistent copy of the database and the secret key into a dated archive in FOLDER
    (default: BACKUP_DIR, else instance/backups). Safe while the app runs."""
    try:
        made = backup.create_backup(folder)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    tables = made.manifest["tables"]
    click.echo(f"Backed up {sum(table['rows'] for table in tables.values())} rows in {len(tables)} tables "
               f"(migration {made.manifest['migration_revision']}) to {made.path}")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data (stop the app first).")
def restore_command(archive: Path, force: bool) -> None:
    """Restore a backup archive into this instance: the database and the secret key."""
    try:
        restored = backup.restore_backup(archive, force=force)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    manifest = restored.manifest
    click.echo(f"Restored the backup made {manifest['created_at']} (failforward {manifest['app_version']}, "
               f"{sum(t['rows'] for t in manifest['tables'].values())} rows, every table's checksum matches).")
    if restored.config_kept:
        click.echo("Your instance/config.py was kept; the backup's is in instance/config.from-backup.py.")
    if restored.needs_upgrade:
        click.echo("The backup's schema is older than this code's: run `flask --app app db upgrade` now.")


def _person(email: str) -> User:
    person = accounts.user_by_email(email)
    if person is None:
        raise click.ClickException(f"No account has the address {email}.")
    return person


@click.command("export-data")
@click.argument("email")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_data_command(email: str, path: Path) -> None:
    """Write the archive "Download my data" gives the person with this EMAIL to PATH (a .zip)."""
    person = _person(email)
    with path.open("wb") as out:
        for piece in export.stream_archive(person.id):
            out.write(piece)
    click.echo(f"Wrote {email}'s data to {path} ({path.stat().st_size:,} bytes).")


@click.command("import-data")
@click.argument("email")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only say what would be added, skipped and refused.")
def import_data_command(email: str, path: Path, dry_run: bool) -> None:
    """Import an archive from "Download my data" into the account with this EMAIL, in one transaction."""
    person = _person(email)
    try:
        with path.open("rb") as upload:
            report = importing.import_archive(person, importing.read_archive(upload), dry_run=dry_run)
    except importing.ArchiveError as error:
        raise click.ClickException(str(error)) from error
    for kind in report.kinds:
        if kind.kept_out and kind.skipped:
            click.echo(f"{kind.name:<24} not imported: {kind.kept_out}")
        elif kind.added or kind.skipped or kind.refused:
            click.echo(f"{kind.name:<24} add {kind.added:>6}  already here {kind.skipped:>6}  "
                       f"refused {kind.refused:>4}")
    for kind, line, reason in report.refusals:
        click.echo(f"refused: {kind} record {line}: {reason}")
    if report.links_dropped:
        click.echo(f"{report.links_dropped} link(s) to other people left out.")
    click.echo(f"Dry run: {report.added} record(s) would be added; nothing was saved." if dry_run
               else f"Imported {report.added} record(s).")


@click.command("rebuild-weeks")
def rebuild_weeks_command() -> None:
    """Recompute every goal's weekly roll-up from its reps. The app keeps them as reps are written; this is for
    reps loaded around it (straight into the database)."""
    rows = weekly.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"Rebuilt {rows} goal weeks.")


@click.command("study-import")
@click.argument("email")
@click.argument("deck")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only say what would be imported and what not, line by line.")
def study_import_command(email: str, deck: str, path: Path, dry_run: bool) -> None:
    """Import a CSV or Anki "Notes in Plain Text" file into the study deck DECK of the person with this EMAIL
    (the deck is made if they have none of that name); items already in the deck are skipped."""
    person = _person(email)
    name = " ".join(deck.split())
    if not name or len(name) > 100:
        raise click.ClickException("A deck's name is 1 to 100 characters.")
    target = study.deck_named(person, name)
    data = path.read_bytes()
    if dry_run:
        preview = exchange.parse_import(data, target)
    else:
        target = target or study.create_deck(person, person, name, "")
        preview = exchange.import_items(person, target, data)
    for said in preview.header.summary():
        click.echo(said)
    for line in preview.bad:
        click.echo(f"line {line.lines}: {line.problem}")
    for line in preview.good:
        for note in line.notes:
            click.echo(f"line {line.lines}: {note}")
    count = f"{len(preview.good)} item(s)"
    click.echo(f"Dry run: {count} would be imported into {name}; nothing was saved." if dry_run
               else f"Imported {count} into {name}.")


@click.command("study-export")
@click.argument("email")
@click.argument("deck")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--csv", "as_csv", is_flag=True, help="A spreadsheet's CSV instead of Anki's text dialect.")
def study_export_command(email: str, deck: str, path: Path, as_csv: bool) -> None:
    """Write the study deck DECK of the person with this EMAIL to PATH, in Anki's text dialect (Anki imports it
    as Basic notes, and a re-import adds nothing) or, with --csv, as CSV."""
    target = study.deck_named(_person(email), " ".join(deck.split()))
    if target is None:
        raise click.ClickException(f"{email} has no deck named {deck}.")
    path.write_text(exchange.export_deck(target, tab_separated=not as_csv), encoding="utf-8")
    click.echo(f"Wrote the deck {target.name} to {path}.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(demo_command)
    app.cli.add_command(outbox_command)
    app.cli.add_command(operators_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(export_data_command)
    app.cli.add_command(import_data_command)
    app.cli.add_command(rebuild_weeks_command)
    app.cli.add_command(study_import_command)
    app.cli.add_command(study_export_command)
