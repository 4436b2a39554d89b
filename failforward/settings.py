"""Settings: defaults here, then instance/config.py, then FAILFORWARD_* and the conventional URLs."""

import os
import secrets
from pathlib import Path

from flask import Config, Flask

from failforward.database import normalise_url

PLACEHOLDER_KEYS = frozenset({"", "change-me", "changeme", "dev", "secret", "placeholder"})
SHORTEST_KEY_BYTES = 32  # 256 bits: a shorter key is within reach of guessing offline from one signed cookie


def defaults(instance_path: str) -> dict:
    """Return the built-in defaults; every key is documented in instance/config.example.py."""
    return {
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'failforward.sqlite3'}",
        # hide_parameters: a failed statement's error (and so the log) never quotes what a person typed.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "HUEY_IMMEDIATE": False,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": True,
        "WTF_CSRF_TIME_LIMIT": 3600,
        # Our before_request hook checks the token and lets each form answer for itself, so an
        # expired token re-renders the form with the text kept instead of a bare 400.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "MAIL_TRANSPORT": "file",
        "MAIL_DIR": str(Path(instance_path) / "mail"),
        "MAIL_FROM": "failforward <failforward@localhost>",
        "SMTP_HOST": "localhost",
        "SMTP_PORT": 25,
        "SMTP_USERNAME": None,
        "SMTP_PASSWORD": None,
        "SMTP_STARTTLS": False,
        "SMTP_TIMEOUT": 10,
        "MAIL_LEASE_SECONDS": 120,
        "MAIL_KEEP_DAYS": 30,
        "ADMIN_EMAILS": [],  # only a seed: `flask --app app operators grant --from-config`
        "BASE_URL": "http://127.0.0.1:5000",
        # Throttling (accounts/throttle.py) and the proxy hops that say who the client is.
        "PROXY_COUNT": 0,
        "LOGIN_ATTEMPTS_PER_ACCOUNT": 5,
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_DELAY_MAX_SECONDS": 4,
        "DEVICE_COOKIE_DAYS": 365,
        "MAIL_LIMIT_PER_RECIPIENT": 3,
        "MAIL_LIMIT_PER_CLIENT": 10,
        "MAIL_LIMIT_WINDOW_MINUTES": 60,
        "INVITE_DAYS": 14,
        "RESET_LINK_MINUTES": 60,
        # Server-side session lifetime: since signing in, and since this browser was last seen.
        "SESSION_MAX_DAYS": 30,
        "SESSION_IDLE_DAYS": 14,
        # The nightly backup (backup/services.py): off while BACKUP_DIR is unset; archives older than
        # BACKUP_KEEP days are removed. `flask --app app backup` without a path also writes to BACKUP_DIR.
        "BACKUP_DIR": None,
        "BACKUP_KEEP": 14,
        # The largest archive "Import data" accepts (the rest of the app takes uploads up to MAX_CONTENT_LENGTH).
        "IMPORT_MAX_MB": 100,
        "REDIS_URL": None,
        "HUEY_FILE": str(Path(instance_path) / "huey.sqlite3"),
    }


def read(instance_path: str) -> Config:
    """The deployment's settings in order: defaults, instance/config.py, FAILFORWARD_* and the
    conventional URLs. The app and the task queue (built before any app, for the worker) both read them here."""
    config = Config(instance_path, defaults(instance_path))
    config.from_pyfile("config.py", silent=True)
    config.from_prefixed_env("FAILFORWARD")
    for name, key in (("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"), ("REDIS_URL", "REDIS_URL")):
        if os.environ.get(name):
            config[key] = os.environ[name]
    return config


def load(app: Flask, overrides: dict | None) -> None:
    """Fill app.config from the deployment's settings, or from defaults and test overrides."""
    if overrides is None:
        app.config.from_mapping(read(app.instance_path))
    else:
        app.config.from_mapping(defaults(app.instance_path))
        app.config.from_mapping(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.debug:
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = False
    _ensure_secret_key(app)


def _ensure_secret_key(app: Flask) -> None:
    """Generate a secret key once into instance/; outside debug and tests, refuse a placeholder or a short key."""
    key = app.config.get("SECRET_KEY")
    if not key:
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        key = key_file.read_text().strip()
        app.config["SECRET_KEY"] = key
    if app.debug or app.testing:
        return
    remedy = (" Remove it to have one generated into instance/secret_key, or set FAILFORWARD_SECRET_KEY to a long"
              " random value (python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if str(key).strip().lower() in PLACEHOLDER_KEYS:
        raise RuntimeError("SECRET_KEY is a placeholder." + remedy)
    if len(key if isinstance(key, bytes) else str(key).encode()) < SHORTEST_KEY_BYTES:
        raise RuntimeError(f"SECRET_KEY is shorter than {SHORTEST_KEY_BYTES} bytes." + remedy)
