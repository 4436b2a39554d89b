"""The Progress page: signed in only, the window links and what a bad window falls back to, each figure's table
and its CSV with the same numbers, the figures not started yet with how to start them, and the menu link."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from tests.factories import link, log, make_drill, make_goal, text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def learner(app, clock, make_user):
    clock.set(NOW - timedelta(days=60))
    person = make_user(name="Lee Learner", timezone="Europe/Berlin")
    drill = make_drill(make_goal(person), time_box_minutes=20, planned_reps_per_week=3)
    for days in range(0, 50, 3):
        clock.set(NOW - timedelta(days=days))
        log(person, drill, 5 + days % 5, at=NOW - timedelta(days=days), duration_minutes=15 + days % 10)
    clock.set(NOW)
    return person


def tables(page: str) -> dict[str, list[list[str]]]:
    """Each figure's table on the page (header row first), by the figure's section id."""
    found = {}
    for key, section in re.findall(r'<section class="card kpi" id="kpi-([a-z]+)".*?>(.*?)</section>', page, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
        found[key] = [[unescape(cell.strip()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                      for row in rows]
    return found


def test_signed_out_goes_to_sign_in(client):
    for url in ("/progress", "/progress/reps.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_charts_what_exists_and_says_how_to_start_the_rest(client, login, learner):
    login(learner)
    response = client.get("/progress")
    page = text(response)
    assert response.status_code == 200
    shown = tables(page)
    assert list(shown) == ["practice", "reps"]
    assert len(shown["reps"]) == 1 + 12 and shown["reps"][0] == ["Week of", "Reps", "Hit %", "Partial %", "Miss %"]
    assert page.count("<svg") == 2 and 'aria-current="page">12 weeks' in page
    assert "Ask your coach for feedback on a rep" in page and "Not started yet" in page
    assert 'href="/progress"' in page and ">Progress<" in page  # the menu


@pytest.mark.parametrize("weeks, rows", [("4", 4), ("26", 26), ("52", 52), ("13", 12), ("abc", 12), ("", 12),
                                         ("99999999999999999999", 12), ("-4", 12), ("4&weeks=52", 4)])
def test_the_window_takes_only_the_offered_values(client, login, learner, weeks, rows):
    login(learner)
    response = client.get(f"/progress?weeks={weeks}")
    assert response.status_code == 200
    assert len(tables(text(response))["reps"]) == 1 + rows


def test_each_csv_holds_the_numbers_of_its_table(client, login, learner):
    login(learner)
    for weeks in ("4", "52"):
        shown = tables(text(client.get(f"/progress?weeks={weeks}")))
        for key, table in shown.items():
            response = client.get(f"/progress/{key}.csv?weeks={weeks}")
            assert response.status_code == 200 and response.mimetype == "text/csv"
            assert response.headers["Content-Disposition"].startswith(f'attachment; filename="progress-{key}-')
            rows = list(csv.reader(io.StringIO(text(response))))
            assert rows[0] == table[0]
            assert [row[1:] for row in rows[1:]] == [row[1:] for row in table[1:]]
            assert [datetime.fromisoformat(row[0]).strftime("%-d %b %Y") for row in rows[1:]] == \
                   [row[0] for row in table[1:]]


def test_an_unknown_figure_is_404(client, login, learner):
    login(learner)
    assert client.get("/progress/nothing.csv").status_code == 404
    assert client.get("/progress/..%2Freps.csv").status_code == 404


def test_a_coach_sees_their_own_figures_not_their_learners(client, login, learner, make_user):
    coach = make_user(name="Casey Coach")
    link(coach, learner)
    login(coach)
    page = text(client.get("/progress"))
    assert tables(page) == {} and "Nothing to chart yet" in page
    assert text(client.get("/progress/reps.csv?weeks=4")).splitlines()[1:] == [
        f"{monday},0,—,—,—" for monday in ("2026-03-02", "2026-02-23", "2026-02-16", "2026-02-09")]
