"""The WSGI app the bench serves: the product, plus a bare route that is the ceiling, in the same server.

`gunicorn "bench.app:create_bench_app()"`. The bare route exists only here, never in the product.
"""

from flask import Flask

from failforward import create_app


def bare() -> str:
    """The ceiling: a Flask route that does no work, behind the product's own hooks and headers."""
    return "ok"


def create_bench_app() -> Flask:
    """The product app, configured from the environment like production, with /bench/bare added."""
    app = create_app()
    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["GET"])
    return app
