"""failforward: the app factory."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from failforward import cli, settings, tasks, web
from failforward.accounts.routes import bp as accounts_bp
from failforward.checkins.routes import bp as checkins_bp
from failforward.coaching.access import may_see_learner
from failforward.coaching.routes import bp as coaching_bp
from failforward.cycles.routes import bp as cycles_bp
from failforward.database import configure_sqlite, migration_filter
from failforward.export.routes import bp as export_bp
from failforward.extensions import csrf, db, htmx, login_manager, migrate
from failforward.feedback.routes import bp as feedback_bp
from failforward.goals.routes import bp as goals_bp
from failforward.home.routes import bp as home_bp
from failforward.kpis.routes import bp as kpis_bp
from failforward.ledger import weekly
from failforward.ledger.routes import bp as ledger_bp
from failforward.lessons.routes import bp as lessons_bp
from failforward.lessons.search import SEARCH_OBJECTS
from failforward.mail import services as mail
from failforward.ops.routes import bp as ops_bp
from failforward.overview.routes import bp as overview_bp
from failforward.premortems.routes import bp as premortems_bp
from failforward.pulse.routes import bp as pulse_bp
from failforward.reflection.routes import bp as reflection_bp
from failforward.reviews.routes import bp as reviews_bp
from failforward.study.routes import bp as study_bp
from failforward.thresholds import services as thresholds
from failforward.thresholds.routes import bp as thresholds_bp

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: folders, settings, extensions, blueprints, web plumbing."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    if config and config.get("INSTANCE_PATH"):
        app.instance_path = config["INSTANCE_PATH"]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings.load(app, config)
    if app.config["PROXY_COUNT"]:
        # Trust exactly this many proxies' X-Forwarded-For/-Proto: the client's address (throttling) and
        # whether it used HTTPS. Any more, and a client could pick its own address.
        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), include_object=migration_filter(SEARCH_OBJECTS))
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)

    tasks.configure(app)
    weekly.listen()
    thresholds.listen()
    mail.init_app(app, may_see_learner)  # mail sits below coaching, so it is handed coaching's access rule
    web.init_app(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Attach every domain's routes and CLI commands."""
    app.register_blueprint(home_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(coaching_bp)
    app.register_blueprint(goals_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(checkins_bp)
    app.register_blueprint(pulse_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(reflection_bp)
    app.register_blueprint(lessons_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(study_bp)
    app.register_blueprint(cycles_bp)
    app.register_blueprint(export_bp)
    app.register_blueprint(premortems_bp)
    app.register_blueprint(thresholds_bp)
    app.register_blueprint(kpis_bp)
    app.register_blueprint(overview_bp)
    cli.init_app(app)
