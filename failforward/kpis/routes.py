"""The Progress page and the CSV of each of its figures."""

from flask import Blueprint, Response, abort, request
from flask_login import current_user, login_required

from failforward.kpis import services
from failforward.web import render

bp = Blueprint("kpis", __name__)


@bp.get("/progress")
@login_required
def index():
    """Your learning KPIs, a chart and a table each, over 4, 12, 26 or 52 weeks (`weeks`)."""
    page = services.progress_page(current_user, services.window_of(request.args.get("weeks")))
    return render("kpis/index.html", page=page)


@bp.get("/progress/<key>.csv")
@login_required
def download(key: str):
    """One figure's weekly table as CSV, over the same window as the page."""
    page = services.progress_page(current_user, services.window_of(request.args.get("weeks")))
    kpi = services.kpi_of(page, key) or abort(404)
    return Response(services.kpi_csv(kpi), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="progress-{kpi.key}-{page.first_week.isoformat()}.csv"'})
