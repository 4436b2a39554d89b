"""Static files and the site icon: versioned URLs cached for a year, gzip for browsers that take it,
/favicon.ico, and what a signed-out page tells search engines and browser tabs."""

import gzip
import re
from pathlib import Path

from failforward import assets
from tests.factories import text

STATIC = Path(__file__).resolve().parent.parent / "static"


def fetch(client, url: str, **headers):
    """A file's response, read to the end and closed (the file it was sent from is closed with it)."""
    return client.get(url, headers=headers, buffered=True)


def asset_urls(page: str) -> dict[str, str]:
    """The page's stylesheet, scripts and icons: file name to URL."""
    urls = re.findall(r'(?:href|src)="(/static/[^"]+|/favicon\.ico)"', page)
    return {url.split("?")[0].rsplit("/", 1)[-1]: url for url in urls}


def test_every_static_url_carries_the_files_version(client):
    urls = asset_urls(text(client.get("/")))
    assert {"app.css", "app.js", "htmx-2.0.11.min.js", "icon.svg", "favicon.ico"} <= urls.keys()
    for name in ("app.css", "app.js", "icon.svg"):
        assert re.fullmatch(rf"/static/{name}\?v=[0-9a-f]{{12}}", urls[name])


def test_a_versioned_file_is_cached_for_a_year_even_for_a_signed_in_person(client, login, learner):
    login(learner)
    url = asset_urls(text(client.get("/")))["htmx-2.0.11.min.js"]
    response = fetch(client, url)
    cache = response.headers["Cache-Control"]
    assert response.status_code == 200 and "max-age=31536000" in cache and "immutable" in cache
    assert "no-store" not in cache and "no-cache" not in cache
    assert "no-store" in client.get("/").headers["Cache-Control"]  # pages stay private


def test_an_old_or_missing_version_is_not_cached_for_long(client):
    for url in ("/static/app.css", "/static/app.css?v=000000000000"):
        cache = fetch(client, url).headers["Cache-Control"]
        assert "max-age=31536000" not in cache


def test_a_changed_file_gets_a_new_url(app, tmp_path):
    app.static_folder = str(tmp_path)
    sheet = tmp_path / "site.css"
    sheet.write_text("a { color: red; }")
    with app.test_request_context():
        first = assets.static_version("site.css")
        sheet.write_text("a { color: blue; }")
        assert assets.static_version("site.css") != first and len(first) == 12
        assert assets.static_version("../secrets.txt") == assets.static_version("missing.css") == ""


def test_text_files_are_gzipped_for_browsers_that_accept_it(client):
    url = asset_urls(text(client.get("/")))["app.css"]
    plain = fetch(client, url)
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    zipped = fetch(client, url, **{"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    body = zipped.get_data()
    assert gzip.decompress(body) == (STATIC / "app.css").read_bytes() == plain.get_data()
    assert int(zipped.headers["Content-Length"]) == len(body) < len(plain.get_data()) / 2
    again = fetch(client, url, **{"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304


def test_the_site_icon_is_at_favicon_ico_and_as_svg(client):
    icon = fetch(client, "/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/x-icon"
    assert icon.get_data()[:4] == b"\x00\x00\x01\x00" and "max-age" in icon.headers["Cache-Control"]
    svg = fetch(client, asset_urls(text(client.get("/")))["icon.svg"])
    assert svg.mimetype == "image/svg+xml" and svg.get_data().startswith(b"<svg")


def test_signed_out_pages_have_a_description_and_signed_in_pages_do_not(client, login, learner):
    for path in ("/", "/login", "/signup"):
        assert re.search(r'<meta name="description" content="[^"]{50,160}">', text(client.get(path))), path
    login(learner)
    assert 'name="description"' not in text(client.get("/"))
