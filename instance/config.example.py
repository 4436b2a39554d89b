"""Example settings. Copy to instance/config.py and edit, or set FAILFORWARD_<NAME> in the environment.

Order: built-in defaults, then instance/config.py, then FAILFORWARD_* variables, then DATABASE_URL and
REDIS_URL. Values shown are the defaults.
"""

# Signs sessions and emailed links. Leave unset: one is generated into instance/secret_key on first
# start. The app refuses to start with a placeholder such as "change-me", or with a key shorter than
# 32 bytes, outside debug and tests.
# SECRET_KEY = None

# Database. Default: SQLite at instance/failforward.sqlite3 (WAL mode). DATABASE_URL overrides it,
# e.g. postgresql://user:pass@host/failforward (psycopg 3 is used).
# SQLALCHEMY_DATABASE_URI = "sqlite:///<instance>/failforward.sqlite3"
# Engine options. Keep hide_parameters: a failed statement's error, and so the log, never quotes what
# a person typed.
# SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

# Task queue. Default: SQLite file instance/huey.sqlite3. REDIS_URL (environment) switches to Redis,
# which several web processes and workers on several machines can share.
# REDIS_URL = None

# The address people use to reach the app; emailed links start with it.
# BASE_URL = "http://127.0.0.1:5000"

# Mail. "file" writes each message as an .eml file into MAIL_DIR (and logs the path); "smtp" sends.
# MAIL_TRANSPORT = "file"
# MAIL_DIR = "<instance>/mail"
# MAIL_FROM = "failforward <failforward@localhost>"
# SMTP_HOST = "localhost"
# SMTP_PORT = 25
# SMTP_USERNAME = None
# SMTP_PASSWORD = None
# SMTP_STARTTLS = False
# SMTP_TIMEOUT = 10

# Sign-in throttling: failed attempts allowed per account and per client address in the window.
# LOGIN_ATTEMPTS_PER_ACCOUNT = 5
# LOGIN_ATTEMPTS_PER_ADDRESS = 30
# LOGIN_WINDOW_MINUTES = 15

# Link lifetimes.
# INVITE_DAYS = 14
# RESET_LINK_MINUTES = 60

# Cookies are Secure by default; `make run` turns that off for http://127.0.0.1 only.
# SESSION_COOKIE_SECURE = True
# REMEMBER_COOKIE_SECURE = True

# Largest request body accepted, in bytes.
# MAX_CONTENT_LENGTH = 2 * 1024 * 1024
