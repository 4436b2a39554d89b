"""Create (or drop) a fresh PostgreSQL database for the scale-out run of the suite.

`create PG_URL REDIS_URL` prints the new database's URL, or a reason and exit 1 when PostgreSQL or
Redis is unreachable. `drop URL` removes it again, with the databases of the suite's parallel workers
(`create_beside`, called by tests/conftest.py in each pytest-xdist worker).
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create(admin_url: str, redis_url: str) -> int:
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        print(f"Redis unreachable at {redis_url} ({error})")
        return 1
    name = f"failforward_test_{os.getpid()}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"PostgreSQL unreachable at {admin_url} ({str(error).strip()})")
        return 1
    print(_with_database(admin_url, name))
    return 0


def create_beside(url: str, suffix: str) -> str:
    """A fresh database named after `url`'s with `_suffix` (a worker's own), on the same server; its URL."""
    name = f"{urlsplit(url).path.lstrip('/')}_{suffix}"
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(url, name)


def drop(url: str) -> int:
    """Drop the database at `url` and those made beside it."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True, connect_timeout=3) as conn:
        beside = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (f"{name}_",))
        for (found,) in beside.fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{found}" WITH (FORCE)')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit(create(*args) if command == "create" else drop(*args))
