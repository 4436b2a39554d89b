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

# Task queue. Default: SQLite file instance/huey.sqlite3 (HUEY_FILE). REDIS_URL (here or in the
# environment) switches to Redis, which several web processes and workers on several machines can share.
# The worker reads these settings too (instance/config.py, then FAILFORWARD_* and REDIS_URL).
# REDIS_URL = None
# HUEY_FILE = "<instance>/huey.sqlite3"

# The address people use to reach the app; emailed links start with it.
# BASE_URL = "http://127.0.0.1:5000"

# Mail. "file" writes each message as an .eml file into MAIL_DIR (and logs the path); "smtp" sends.
# MAIL_TRANSPORT = "file"
# MAIL_DIR = "<instance>/mail"
# MAIL_FROM = "failforward <failforward@localhost>"  # its domain (else BASE_URL's host) ends each Message-ID
# SMTP_HOST = "localhost"
# SMTP_PORT = 25
# SMTP_USERNAME = None
# SMTP_PASSWORD = None
# SMTP_STARTTLS = False
# SMTP_TIMEOUT = 10
# Days after which the sweep drops the bodies (links, private text) of sent, failed and cancelled mail;
# the envelope (recipient, subject, key, status, dates) stays for the outbox page.
# MAIL_KEEP_DAYS = 30

# Reverse proxies in front of the app (1 behind one nginx or Caddy). The client's address (throttling) and
# scheme come from the last PROXY_COUNT hops of X-Forwarded-For/-Proto; 0 ignores those headers.
# PROXY_COUNT = 0

# Sign-in throttling. Untrusted browsers get LOGIN_ATTEMPTS_PER_ACCOUNT attempts per account in the window;
# a browser that signed in to the account before carries a device cookie (DEVICE_COOKIE_DAYS) and has its
# own count instead. A client address is never refused, only slowed: 0.25 s after one recent failure,
# doubling with each, up to LOGIN_DELAY_MAX_SECONDS.
# LOGIN_ATTEMPTS_PER_ACCOUNT = 5
# LOGIN_WINDOW_MINUTES = 15
# LOGIN_DELAY_MAX_SECONDS = 4
# DEVICE_COOKIE_DAYS = 365

# Mail sent without an account (sign-up, password reset, coach invites to an address): at most this many
# per recipient address and per client address in the window, checked before any password is hashed.
# MAIL_LIMIT_PER_RECIPIENT = 3
# MAIL_LIMIT_PER_CLIENT = 10
# MAIL_LIMIT_WINDOW_MINUTES = 60

# Link lifetimes.
# INVITE_DAYS = 14
# RESET_LINK_MINUTES = 60

# Operators (the outbox page) are accounts granted with `flask --app app operators grant EMAIL`.
# ADMIN_EMAILS is only a seed for `flask --app app operators grant --from-config`, which grants the
# accounts that use these addresses at that moment; the setting alone grants nothing.
# ADMIN_EMAILS = []

# A signed-in session ends SESSION_MAX_DAYS after signing in however much it is used, and after
# SESSION_IDLE_DAYS without a request from its browser.
# SESSION_MAX_DAYS = 30
# SESSION_IDLE_DAYS = 14

# Cookies are Secure by default; `make run` turns that off for http://127.0.0.1 only.
# SESSION_COOKIE_SECURE = True
# REMEMBER_COOKIE_SECURE = True

# Largest request body accepted, in bytes.
# MAX_CONTENT_LENGTH = 2 * 1024 * 1024

# The nightly backup (03:17 UTC, in the worker): off while BACKUP_DIR is unset. Each night a dated
# archive is written there and archives older than BACKUP_KEEP days are removed. `flask --app app backup`
# without a path writes to BACKUP_DIR too (else instance/backups).
# BACKUP_DIR = "/var/backups/failforward"
# BACKUP_KEEP = 14
