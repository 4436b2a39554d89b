"""Importing a file that Anki wrote with HTML, on a 360 px phone, JavaScript on and off: the preview shows the
formatting (not tags), a script in a field never runs, and the items keep their formatting in the deck."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

LEARNER = "lee@example.com"
ANKI_NOTES = (
    "#separator:tab\n#html:true\n#guid column:1\n#notetype column:2\n#deck column:3\n#tags column:6\n"
    "q1Xz!kP0a\tBasic\tFrench\tla <b>maison</b><script>alert(1)</script>\t"
    '<img src="x" onerror="alert(2)">the <i onclick="alert(3)">house</i>[sound:maison.mp3]\tnoun\n'
    'Rt9+w2LmE\tBasic\tFrench\t"le <u>chat</u>\nnoir"\tthe black cat\t\n'
)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_an_anki_file_with_html_previews_as_formatting_and_no_script_runs(live_server, open_page, js):
    live_server.make_user("Lee Learner", LEARNER)
    me = open_page(js=js, viewport={"width": 360, "height": 780})
    sign_in(me, live_server.url, LEARNER)
    me.goto(f"{live_server.url}/study")
    me.get_by_role("link", name="New deck").click()
    me.get_by_label("Name").fill("French")
    me.get_by_role("button", name="Create deck").click()

    me.get_by_role("link", name="Import").click()
    me.get_by_label("A file").set_input_files(
        files=[{"name": "French.txt", "mimeType": "text/plain", "buffer": ANKI_NOTES.encode()}])
    me.get_by_role("button", name="Preview").click()
    to_import = me.get_by_role("region", name="To import")
    expect(to_import.locator("b", has_text="maison")).to_be_visible()
    expect(to_import.locator("i", has_text="house")).to_be_visible()
    expect(to_import.get_by_role("cell", name="8–9")).to_be_visible()
    expect(to_import.get_by_text("Media left out (files are not imported): sound maison.mp3, picture x.")) \
        .to_be_visible()
    expect(me.locator("main").get_by_text("<b>")).to_have_count(0)
    expect(me.locator("main script, main img, main [onclick]")).to_have_count(0)
    if js:  # the page is no wider than the phone (measured by the page's own script)
        assert me.evaluate("document.documentElement.scrollWidth") <= 360

    me.get_by_role("button", name="Import 2 items").click()
    expect(me.get_by_text("Imported 2 items.")).to_be_visible()
    expect(me.locator("main b", has_text="maison")).to_be_visible()
    expect(me.locator("main u", has_text="chat")).to_be_visible()
    expect(me.locator("main script, main img, main [onclick]")).to_have_count(0)
