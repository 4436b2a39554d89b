"""The menu: the learner's places apart from the coach's, a short bar for phones with a More page that lists
every place (a real page, no JavaScript), and the setback drawn as an action."""

import re

from tests.factories import link, text


def bar(page: str) -> list[tuple[str, str]]:
    """The main menu's items: (the item's classes, its link text)."""
    nav = page[page.index('<nav aria-label="Main">'):page.index("</nav>")]
    return [(classes, label) for classes, label in re.findall(r'<li class="([^"]*)">\s*<a [^>]*>([^<]+)</a>', nav)]


def test_a_coachs_bar_keeps_the_coachs_places_short_and_groups_the_rest(app, client, login, coach, learner):
    link(coach, learner)
    login(coach)
    items = bar(text(client.get("/learners")))
    assert [label for classes, label in items if "nav__short" in classes] == ["Home", "Queue", "Learners"]
    assert [label for classes, label in items if "nav__group" in classes] == ["Queue", "Coaching", "Log a setback"]
    labels = [label for _, label in items]
    assert labels[-2:] == ["Log a setback", "More"] and "Setback" not in labels
    page = text(client.get("/learners"))
    assert '<a href="/learners" aria-current="page">Learners</a>' in page
    assert re.search(r'<a href="/more">More</a>', page)


def test_a_learners_bar_has_no_coach_places_and_more_is_marked_when_the_page_is_behind_it(app, client, login,
                                                                                         learner):
    login(learner)
    page = text(client.get("/lessons"))
    labels = [label for _, label in bar(page)]
    assert "Queue" not in labels and "Learners" not in labels
    assert [label for classes, label in bar(page) if "nav__short" in classes] == ["Home", "Goals", "Ledger"]
    assert '<a href="/more" aria-current="true">More</a>' in page  # Lessons is not in the short bar
    assert '<a href="/more">More</a>' in text(client.get("/ledger"))


def test_the_more_page_lists_every_place_and_the_setback_action(app, client, login, coach, learner):
    link(coach, learner)
    assert client.get("/more").status_code == 302
    login(coach)
    page = text(client.get("/more"))
    assert '<a href="/more" aria-current="page">More</a>' in page
    places = page[page.index('<nav aria-label="Every place"'):]
    for path, label in (("/learners", "Learners"), ("/queue", "Queue"), ("/goals", "Goals"), ("/ledger", "Ledger"),
                        ("/feedback", "Feedback"), ("/lessons", "Lessons"), ("/study", "Study"),
                        ("/checkins", "Check-ins"), ("/coaching", "Coaching"), ("/settings", "Settings")):
        assert f'<a href="{path}">{label}</a>' in places
    assert places.index("Your learners") < places.index("Your practice") < places.index("Links and account")
    assert '<a class="button" href="/setback">Log a setback</a>' in page
    login(learner)
    assert "Your learners" not in text(client.get("/more")).split('aria-label="Every place"')[1]
