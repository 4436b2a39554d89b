"""Static files and the site icon: a version in each URL (a hash of the file), a year's caching for a
versioned URL, and gzip for browsers that take it. htmx and the CSS are most of a page's bytes: fetched
once, they are then reused until they change."""

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, send_from_directory
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

YEAR = 365 * 24 * 3600
DAY = 24 * 3600
# The endpoints that serve files: the same bytes for everyone, so never "no-store" and no user lookup.
FILE_ENDPOINTS = frozenset({"static", "favicon"})
COMPRESSIBLE = frozenset({"text/css", "text/javascript", "application/javascript", "image/svg+xml"})


@lru_cache(maxsize=256)
def _fingerprint(path: str, modified_ns: int, size: int) -> str:
    """The first 12 hex digits of the file's SHA-256 (keyed on its time and size, so an edit is seen)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=64)
def _gzipped(path: str, modified_ns: int, size: int) -> bytes:
    """The file gzipped once per version; mtime=0 so the same file always gives the same bytes."""
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _stamped(filename: str) -> tuple[str, int, int] | None:
    """The file's path with its modification time and size, or None when there is no such file."""
    path = safe_join(current_app.static_folder, filename)
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return path, stat.st_mtime_ns, stat.st_size


def static_version(filename: str) -> str:
    """The version a static file's URL carries: it changes whenever the file's bytes do."""
    stamped = _stamped(filename)
    return _fingerprint(*stamped) if stamped else ""


def _add_version(endpoint: str, values: dict) -> None:
    """url_for("static", filename=...) gets ?v=<hash>, so a changed file is a new URL."""
    if endpoint == "static" and values.get("filename") and "v" not in values:
        values["v"] = static_version(values["filename"])


def _favicon() -> Response:
    """/favicon.ico, where browsers and feed readers look for it without asking the page."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=DAY, mimetype="image/x-icon")


def _file_headers(response: Response) -> Response:
    """A versioned file is cached for a year; text files are gzipped for a browser that accepts it."""
    if request.endpoint != "static" or response.status_code != 200:
        return response
    filename = (request.view_args or {}).get("filename", "")
    stamped = _stamped(filename)
    if stamped and request.args.get("v") == _fingerprint(*stamped):
        response.cache_control.no_cache = None  # send_file's default for a file without a max age
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    if stamped and response.mimetype in COMPRESSIBLE:
        response.vary.add("Accept-Encoding")
        if "gzip" in request.accept_encodings:
            response.close()  # the file send_file opened
            response.direct_passthrough = False
            response.set_data(_gzipped(*stamped))
            response.content_encoding = "gzip"
            etag, _weak = response.get_etag()
            if etag:  # weak: the same content, another encoding; a revalidation still gets its 304
                response.set_etag(etag, weak=True)
    return response


def init_app(app: Flask) -> None:
    """Version the static URLs, serve the icon at /favicon.ico, and set the files' headers."""
    app.url_defaults(_add_version)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.after_request(_file_headers)
