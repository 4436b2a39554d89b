"""Own your data, in a phone's browser with JavaScript on and off: Lee downloads everything from Settings,
Robin imports that ZIP after its dry run, and Lee's practice shows up in Robin's ledger; a second import
adds nothing."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from failforward import clock
from failforward.accounts.models import User
from failforward.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import log, make_drill, make_goal


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_download_imports_into_another_account_after_a_dry_run(live_server, open_page, js, tmp_path):
    lee = live_server.make_user("Lee Learner", "lee@example.com")
    live_server.make_user("Robin Reader", "robin@example.com")
    with live_server.app.app_context():
        drill = make_drill(make_goal(db.session.get(User, lee.id), title="Answer pages faster"))
        for n in range(3):
            log(db.session.get(User, lee.id), drill, 4 + n, at=clock.now() - timedelta(days=n),
                note=f"Calm triage {n} ✓")

    mine = open_page(js=js, viewport={"width": 360, "height": 780})
    sign_in(mine, live_server.url, "lee@example.com")
    mine.goto(f"{live_server.url}/settings")
    with mine.expect_download() as download:
        mine.get_by_role("link", name="Download my data (ZIP)").click()
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert archive.name.startswith("failforward-") and archive.suffix == ".zip"

    theirs = open_page(js=js, viewport={"width": 360, "height": 780})
    sign_in(theirs, live_server.url, "robin@example.com")
    theirs.goto(f"{live_server.url}/settings")
    theirs.get_by_role("link", name="Import data from an archive…").click()
    theirs.get_by_role("button", name="Check the archive").click()
    expect(theirs.get_by_text("Choose the ZIP file to import.")).to_be_visible()
    theirs.get_by_label("The ZIP from “Download my data”").set_input_files(archive)
    theirs.get_by_role("button", name="Check the archive").click()
    expect(theirs.get_by_role("heading", name="Check the import")).to_be_visible()
    expect(theirs.get_by_role("row", name="reps 3 0 0")).to_be_visible()
    if js:
        assert theirs.evaluate("document.documentElement.scrollWidth") <= 360
    theirs.get_by_role("button", name="Import 5 records").click()
    expect(theirs.get_by_text("Imported 5 records.")).to_be_visible()

    theirs.goto(f"{live_server.url}/ledger")
    expect(theirs.get_by_text("Calm triage 2 ✓")).to_be_visible()

    theirs.goto(f"{live_server.url}/account/import")
    theirs.get_by_label("The ZIP from “Download my data”").set_input_files(archive)
    theirs.get_by_role("button", name="Check the archive").click()
    expect(theirs.get_by_text("Nothing new to add")).to_be_visible()
    expect(theirs.get_by_role("button", name="Import")).to_have_count(0)
