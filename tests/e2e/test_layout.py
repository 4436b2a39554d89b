"""At 360 px wide, no page of the foundation scrolls sideways and every main control is a 44 px tap target."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, sign_in

NARROW = {"viewport": {"width": 360, "height": 780}}
MIN_TAP_PX = 44
# Buttons, button-styled links, navigation, and links that stand on their own (a link inside a
# sentence is exempt, as WCAG 2.5.8 allows; it still must not make the page scroll sideways).
MEASURE = """() => {
  const inSentence = (a) => [...a.parentElement.childNodes].some(
    (node) => node !== a && node.nodeType === Node.TEXT_NODE && node.textContent.trim() !== "");
  const small = [];
  for (const el of document.querySelectorAll("a[href], button, input[type=submit]")) {
    if (el.classList.contains("skip-link")) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const main = el.tagName !== "A" || el.classList.contains("button") || el.closest("nav") || !inSentence(el);
    if (main && box.height < 43.5) small.push(`${el.textContent.trim()} (${Math.round(box.height)} px)`);
  }
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, small, wide: wide.slice(0, 5)};
}"""

LONG_NAME = "Maximiliane Featherstonehaugh-Worthington"
LONG_EMAIL = "maximiliane.featherstonehaugh-worthington@example-coaching.org"


@pytest.fixture
def foundation(live_server: LiveServer) -> dict[str, list[str]]:
    """A coach with a learner (contract accepted), a coach of her own (contract pending) and open invites.

    Returns the pages to visit, signed out and signed in as that coach.
    """
    coach = live_server.make_user(LONG_NAME, LONG_EMAIL)
    learner = live_server.make_user("Lee Learner", "lee@example.com")
    mentor = live_server.make_user("Kim Mentor", "kim@example.com")
    as_coach = live_server.link(coach, learner)
    live_server.accept_contract(as_coach)
    as_learner = live_server.link(mentor, coach)
    live_server.invite_url(coach)
    live_server.invite_url(coach, "someone.with.a.rather.long.address@example-organisation.org")
    invite = live_server.invite_url(mentor)
    return {
        "signed out": ["/", "/login", "/signup", "/reset", invite.removeprefix(live_server.url)],
        "signed in": ["/", "/coaching", f"/coaching/links/{as_coach}", f"/coaching/links/{as_learner}",
                      f"/coaching/links/{as_coach}/contract/edit", f"/coaching/links/{as_coach}/end",
                      "/settings", "/settings/password", "/account/delete", "/more", "/learners", "/pulse",
                      "/pulse/coach"],
    }


def visit_all(page: Page, live_server: LiveServer, foundation: dict[str, list[str]], look) -> None:
    """Open every foundation page, signed out and then signed in, and call `look(page, path)` on each."""
    for path in foundation["signed out"]:
        page.goto(live_server.url + path)
        look(page, path)
    sign_in(page, live_server.url, LONG_EMAIL)
    for path in foundation["signed in"]:
        page.goto(live_server.url + path)
        look(page, path)


def test_no_page_scrolls_sideways_at_360px_and_main_controls_are_44px(live_server, open_page, foundation):
    page = open_page(**NARROW)
    trouble = {}

    def look(page: Page, path: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        found = page.evaluate(MEASURE)
        if found["scrollWidth"] > found["clientWidth"]:
            trouble.setdefault(path, []).append(
                f"scrolls sideways: {found['scrollWidth']} > {found['clientWidth']} px, e.g. {found['wide']}")
        if found["small"]:
            trouble.setdefault(path, []).append(f"tap targets under {MIN_TAP_PX} px: {found['small']}")

    visit_all(page, live_server, foundation, look)
    assert not trouble, "\n".join(f"{path}: {problems}" for path, problems in trouble.items())


def test_at_360px_the_menu_shows_every_link_it_has_in_view(live_server, open_page, foundation):
    """A short bar that fits, not a long row that hides most of itself off-screen: every link the bar shows is
    wholly in view, and More (a real page) reaches the rest."""
    page = open_page(**NARROW)
    sign_in(page, live_server.url, LONG_EMAIL)
    for path in ("/", "/learners", "/lessons", "/more"):
        page.goto(live_server.url + path)
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        names = [name.strip() for name in links.all_inner_texts() if name.strip()]
        assert names[-1] == "More" and len(names) <= 5, (path, names)
        for n in range(links.count()):
            if links.nth(n).is_visible():
                expect(links.nth(n)).to_be_in_viewport(ratio=1)
    page.get_by_role("navigation", name="Every place").get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()


@pytest.mark.parametrize("width", [800, 1024, 1280, 1440])
def test_on_wider_screens_a_coachs_menu_keeps_to_one_row(live_server, open_page, foundation, width):
    """The whole bar, or the short one with More, but never a bar that wraps under the name (a coach's 14 places
    did at 1280 px)."""
    page = open_page(viewport={"width": width, "height": 800})
    sign_in(page, live_server.url, LONG_EMAIL)
    page.goto(live_server.url + "/learners")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 50, header
    names = [n.strip() for n in page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
             if n.strip()]
    assert names[-1] in ("More", "Log a setback") and "Learners" in names, names
