"""The WSGI app the bench serves: the product, plus bench-only routes in the same server.

`gunicorn "bench.app:create_bench_app()"`. These routes exist only here, never in the product:
- /bench/bare, the ceiling: a route that does no work, behind the product's own hooks and headers;
- /bench/signed-in, the page floor: what any signed-in page pays before its own content (the session,
  the user and their session row, the layout with its menu), with an empty body;
- /bench/signed-in-write, the write floor: what any POST pays (the CSRF check, a BEGIN IMMEDIATE
  transaction with one INSERT, committed with synchronous=FULL), answering 204.
"""

from flask import Flask, current_app, g, render_template
from flask_login import login_required
from sqlalchemy import Column, Float, Integer, MetaData, Table, func

from failforward import create_app
from failforward.extensions import db

# A table of its own, so the write floor touches nothing of the product's.
BENCH_WRITES = Table("bench_write", MetaData(), Column("id", Integer, primary_key=True), Column("at", Float))


def bare() -> str:
    """The ceiling: a Flask route that does no work, behind the product's own hooks and headers."""
    return "ok"


@login_required
def signed_in() -> str:
    """The page floor: the layout for a signed-in person, with nothing in it."""
    return render_template(current_app.extensions["bench_floor"])


@login_required
def signed_in_write() -> tuple[str, int]:
    """The write floor: one committed INSERT, after the same CSRF check as every form."""
    if not g.get("csrf_valid", True):  # set by the app's CSRF hook, which every form reads
        return "", 400
    db.session.execute(BENCH_WRITES.insert().values(at=func.random()))
    db.session.commit()
    return "", 204


def create_bench_app() -> Flask:
    """The product app, configured from the environment like production, with the bench routes added."""
    app = create_app()
    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["GET"])
    app.add_url_rule("/bench/signed-in", "bench_signed_in", signed_in, methods=["GET"])
    app.add_url_rule("/bench/signed-in-write", "bench_signed_in_write", signed_in_write, methods=["POST"])
    app.extensions["bench_floor"] = app.jinja_env.from_string(
        '{% extends "base.html" %}{% block title %}Floor{% endblock %}{% block content %}{% endblock %}')
    return app
