"""Command-line commands: `flask --app app demo`, `flask --app app outbox list|retry`."""

import click
from flask import Flask

from failforward.accounts.models import User
from failforward.demo import create_demo_data
from failforward.extensions import db
from failforward.mail import services as mail
from failforward.mail.models import STATUSES


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


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(demo_command)
    app.cli.add_command(outbox_command)
