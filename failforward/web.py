"""Web plumbing used by every domain: render/done, CSRF pre-check, headers, errors, filters, and reading ids,
pages and days from URLs (a number no id column holds is 404, never a database error)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask import flash as flash_later
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from failforward import assets, clock
from failforward.calendar import zone_of
from failforward.database import LARGEST_ID, as_id, whole_number, without_values, writes_done
from failforward.extensions import csrf, db, htmx
from failforward.signing import LinkError

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
# The days a week or month in a query string may start on: far beyond any record, and far enough from the ends
# of the calendar (years 1 and 9999) that a page's week before, month after or eight weeks back still exist.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


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


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: a number an id column holds. A larger one is 404, like an unknown id, before a
    view asks the database (which cannot even compare it)."""

    def to_python(self, value: str) -> int:
        try:
            return whole_number(value)
        except ValueError:
            # NotFound, not the converter's ValidationError: Werkzeug answers that with 405 when a rule for
            # another method has the same path (GET and POST /checkins/<id>). No other rule takes digits here.
            raise NotFound() from None


def query_number(name: str) -> int | None:
    """An id from the query string: None when missing or not digits, 404 when too large to name anything."""
    text = request.args.get(name, "")
    number = as_id(text)
    if number is None and text.isascii() and text.isdigit():
        abort(404)
    return number


def query_page(last: int = LARGEST_ID) -> int:
    """The page number from the query string, 1 to `last`: 1 when missing or not digits, `last` when larger
    (however many digits)."""
    text = request.args.get("page", "")
    number = as_id(text)
    if number is None:
        return last if text.isascii() and text.isdigit() else 1
    return max(1, min(number, last))


def query_day(name: str, fallback: date) -> date:
    """A day from the query string, `2026-03-04`, or a month as `2026-03` (its first day): `fallback` when missing
    or not a date, 404 outside FIRST_DAY to LAST_DAY."""
    text = request.args.get(name, "")
    text = f"{text}-01" if len(text) == 7 else text
    try:
        day = date.fromisoformat(text) if len(text) == 10 else fallback
    except ValueError:
        return fallback
    if not FIRST_DAY <= day <= LAST_DAY:
        abort(404)
    return day


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
    zone = zone_of(viewer) if viewer.is_authenticated else UTC
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(fmt)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def duration(hours: float | None) -> str:
    """A length of time as people say it: "under a minute", "25 minutes", "2 hours 30 minutes",
    "17 hours", "4 days"."""
    if hours is None:
        return ""
    minutes = round(hours * 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return _count(minutes, "minute")
    if minutes < 180:
        whole, rest = divmod(minutes, 60)
        return _count(whole, "hour") + (f" {_count(rest, 'minute')}" if rest else "")
    if hours < 47.5:
        return f"{round(hours)} hours"
    return f"{round(hours / 24)} days"


def ago(moment: datetime | None) -> str:
    """How long ago a stored UTC time was, as people say it: "3 hours ago"."""
    if moment is None:
        return ""
    return f"{duration((clock.now() - moment).total_seconds() / 3600)} ago"


def upload_limit(setting: str):
    """Mark a view that takes uploads up to `setting` megabytes (a config key) instead of MAX_CONTENT_LENGTH."""
    def mark(view):
        view.upload_limit = setting
        return view
    return mark


def _check_csrf() -> None:
    """Check the CSRF token of every POST up front; each form then reports a failure itself."""
    if request.method == "POST":
        # The check reads the body, so a view's own upload limit must be in place first.
        setting = getattr(current_app.view_functions.get(request.endpoint), "upload_limit", None)
        if setting:
            request.max_content_length = current_app.config[setting] * 1024 * 1024
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
    if request.is_secure:  # HTTPS, also behind the proxy (ProxyFix reads X-Forwarded-Proto); never on plain http
        response.headers["Strict-Transport-Security"] = HSTS
    # A file is the same for everyone: it may be cached (and needs no look-up of who is signed in).
    if request.endpoint not in assets.FILE_ENDPOINTS and current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


# The signed-in menu: endpoint, label, what marks it current (endpoints, or blueprint prefixes ending in "."),
# and whose place it is: the learner's, the coach's (only for someone who coaches), the account's, or an action
# (a setback is something one logs, not a place: it is drawn as a button, last).
LEARNER, COACH, ACCOUNT, ACTION = "learner", "coach", "account", "action"
MENU = (
    ("home.index", "Home", ("home.index",), LEARNER),
    ("ledger.goals_index", "Goals", ("ledger.goals_index", "home.goal", "goals."), LEARNER),
    ("ledger.index", "Ledger", ("ledger.index", "ledger.new", "ledger.edit", "ledger.confirm_delete"), LEARNER),
    ("kpis.index", "Progress", ("kpis.",), LEARNER),
    ("feedback.index", "Feedback", ("feedback.index", "feedback.show", "feedback.new"), LEARNER),
    ("lessons.index", "Lessons", ("lessons.",), LEARNER),
    ("study.index", "Study", ("study.",), LEARNER),
    ("checkins.index", "Check-ins", ("checkins.",), LEARNER),
    ("feedback.queue", "Queue", ("feedback.queue",), COACH),
    ("overview.index", "Learners", ("overview.",), COACH),
    ("pulse.coach", "Pulse", ("pulse.coach",), COACH),
    ("coaching.index", "Coaching", ("coaching.",), ACCOUNT),
    ("accounts.settings", "Settings", ("accounts.",), ACCOUNT),
    ("reflection.new", "Log a setback", ("reflection.",), ACTION),
)
# On a phone the bar keeps these (and "More"); every place is on the More page. A coach's bar holds the coach's
# places, a learner's their goals and ledger.
SHORT = {COACH: ("home.index", "feedback.queue", "overview.index"),
         LEARNER: ("home.index", "ledger.goals_index", "ledger.index")}


@dataclass(frozen=True)
class MenuLink:
    """One place in the menu: where it goes, its name, whether it is this page, whose place it is, and whether a
    phone's short bar shows it."""

    url: str
    label: str
    current: bool
    group: str
    short: bool


def menu(coach: bool) -> list[MenuLink]:
    """The menu's links for this request. The paths are built once per app, below the script root, which each
    request puts in front: a dozen url_for calls on every page cost more than the rest of the header."""
    paths = current_app.extensions.get("failforward_menu")
    if paths is None:
        root = len(request.script_root)
        paths = current_app.extensions["failforward_menu"] = [url_for(endpoint)[root:] for endpoint, *_ in MENU]
    here = request.endpoint or ""
    short = SHORT[COACH if coach else LEARNER]
    return [MenuLink(request.script_root + path, label,
                     here in marks or any(m.endswith(".") and here.startswith(m) for m in marks), group,
                     endpoint in short)
            for path, (endpoint, label, marks, group) in zip(paths, MENU, strict=True)
            if coach or group != COACH]


def _error_page(error: HTTPException) -> tuple[str, int]:
    """A friendly page for every HTTP error, with the status it stands for."""
    code = error.code or 500
    template = "errors/404.html" if code in (404, 405) else "errors/error.html"
    return render_template(template, error=error, code=code), code


def _link_error(error: LinkError) -> tuple[str, int]:
    """An emailed link that cannot be used (expired, used, damaged, meant for something else): say why."""
    db.session.rollback()
    return render_template("errors/link_error.html", message=str(error)), 400


def _server_error(error: Exception) -> tuple[str, int]:
    """Generic 500 page: no detail leaks to the browser; the traceback goes to the log, without what was typed."""
    current_app.logger.error("unhandled error on %s %s", request.method, request.path, exc_info=without_values(error))
    db.session.rollback()
    return render_template("errors/error.html", error=None, code=500), 500


def init_app(app: Flask) -> None:
    """Register the plumbing on the app (before the blueprints: their routes take its `int` converter)."""
    app.url_map.converters["int"] = IdConverter
    assets.init_app(app)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(LinkError, _link_error)
    app.register_error_handler(Exception, _server_error)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.globals["wants_fragment"] = wants_fragment
    app.jinja_env.globals["menu"] = menu
