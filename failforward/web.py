"""Web plumbing used by every domain: render/done, CSRF pre-check, headers, errors, filters."""

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, make_response, redirect, render_template, request, url_for
from flask import flash as flash_later
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from failforward.database import writes_done
from failforward.extensions import csrf, db, htmx

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def wants_fragment() -> bool:
    """True for a targeted htmx request; boosted requests and history restores get whole pages."""
    return bool(htmx) and bool(htmx.target) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str | None = None, /, http_status: int = 200, **context) -> Response:
    """Render the fragment for a targeted htmx request, else the full page. (`http_status`, not `status`:
    pages have a status of their own to show.)"""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), http_status)
    response.vary.add("HX-Request")
    return response


def done(location: str, fragment: str | None = None, /, flash: str = "", **context) -> Response:
    """After a successful POST: re-render the target for htmx, answer 303 to everyone else, with
    `flash` for the next page (a fragment says it in place: a flash would pop up again later).

    The change is committed by now, so what follows only reads (database.writes_done).
    """
    writes_done()
    if fragment and wants_fragment():
        return render(fragment, fragment, **context)
    if flash:
        flash_later(flash, "success")
    if htmx:
        # An untargeted htmx post (a boosted form) follows the redirect like a browser would.
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, 303)


def invalid(page: str, fragment: str | None = None, /, **context) -> Response:
    """A form that failed validation: the same form again, the text kept, status 422."""
    return render(page, fragment, http_status=422, **context)


def safe_next(target: str | None, fallback: str) -> str:
    """Return `target` only when it is a same-origin path; anything else becomes `fallback`."""
    # No page of ours has a longer path, and a pending sign-up keeps its `next` in 500 characters.
    if not target or len(target) > 500:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


def absolute_url(endpoint: str, **values) -> str:
    """A full URL for emails, built on BASE_URL so it is right outside a request (a task) too."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def local_time(moment: datetime | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    """Show a stored UTC time in the viewer's own time zone."""
    if moment is None:
        return ""
    viewer = current_user._get_current_object()  # one lookup, not two: lists call this once a row
    zone = ZoneInfo(viewer.timezone) if viewer.is_authenticated else ZoneInfo("UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).strftime(fmt)


def _check_csrf() -> None:
    """Check the CSRF token of every POST up front; each form then reports a failure itself."""
    if request.method == "POST":
        try:
            csrf.protect()
        except CSRFError:
            g.csrf_valid = False


def _security_headers(response: Response) -> Response:
    """Headers for every response, fragments and errors included."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


# The signed-in menu: endpoint, label, and what marks it current (endpoints, or blueprint prefixes ending
# in "."). Queue is for coaches only.
MENU = (
    ("home.index", "Home", ("home.index",)),
    ("ledger.goals_index", "Goals", ("ledger.goals_index", "ledger.goal", "goals.")),
    ("ledger.index", "Ledger", ("ledger.index", "ledger.new", "ledger.edit", "ledger.confirm_delete")),
    ("feedback.index", "Feedback", ("feedback.index", "feedback.show", "feedback.new")),
    ("lessons.index", "Lessons", ("lessons.",)),
    ("study.index", "Study", ("study.",)),
    ("reflection.new", "Setback", ("reflection.",)),
    ("checkins.index", "Check-ins", ("checkins.",)),
    ("feedback.queue", "Queue", ("feedback.queue",)),
    ("coaching.index", "Coaching", ("coaching.",)),
    ("accounts.settings", "Settings", ("accounts.",)),
)


def menu(coach: bool) -> list[tuple[str, str, bool]]:
    """The menu's links for this request: (url, label, is the current page). The paths are built once
    per app, below the script root, which each request puts in front: a dozen url_for calls on every
    page cost more than the rest of the header."""
    paths = current_app.extensions.get("failforward_menu")
    if paths is None:
        root = len(request.script_root)
        paths = current_app.extensions["failforward_menu"] = [url_for(endpoint)[root:] for endpoint, _, _ in MENU]
    here = request.endpoint or ""
    return [(request.script_root + path, label, here in marks or any(m.endswith(".") and here.startswith(m)
                                                                     for m in marks))
            for path, (endpoint, label, marks) in zip(paths, MENU, strict=True)
            if coach or endpoint != "feedback.queue"]


def _error_page(error: HTTPException) -> tuple[str, int]:
    """A friendly page for every HTTP error, with the status it stands for."""
    code = error.code or 500
    template = "errors/404.html" if code in (404, 405) else "errors/error.html"
    return render_template(template, error=error, code=code), code


def _server_error(_error: Exception) -> tuple[str, int]:
    """Generic 500 page: no detail leaks to the browser, the traceback goes to the log."""
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return render_template("errors/error.html", error=None, code=500), 500


def init_app(app: Flask) -> None:
    """Register the plumbing on the app."""
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(Exception, _server_error)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["wants_fragment"] = wants_fragment
    app.jinja_env.globals["menu"] = menu
