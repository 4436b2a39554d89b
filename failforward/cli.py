"""Command-line commands: `flask --app app demo`, `flask --app app outbox`."""

import click
from flask import Flask

from failforward.accounts.models import User
from failforward.demo import create_demo_data
from failforward.extensions import db


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


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(demo_command)
