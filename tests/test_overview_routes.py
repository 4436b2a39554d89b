"""The overview page: a coach sees every learner's row with links to their pages, sorts by plain links,
filters to who needs attention; strangers and people who coach nobody get 404; visitors sign in first."""

import re
from datetime import UTC, datetime, timedelta

from failforward.feedback import services as feedback
from tests.factories import link, log, make_drill, make_goal, text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def test_the_coach_sees_a_row_per_learner_with_links_to_their_pages(app, client, login, clock, coach, learner,
                                                                   make_user):
    clock.set(NOW - timedelta(hours=25))
    the_link = link(coach, learner)
    goal = make_goal(learner)
    feedback.ask(learner, log(learner, make_drill(goal, time_box_minutes=10), 4.0, duration_minutes=12), "Ok?")
    idle = make_user(name="Ida Idle")
    link(coach, idle)
    clock.set(NOW)
    login(coach)
    page = text(client.get("/learners"))
    assert "<h1>Your learners</h1>" in page
    lee = page[page.index(f'id="learner-{learner.id}"'):]
    lee = lee[:lee.index("</tr>")]
    assert f'href="/coaching/links/{the_link.id}">Lee Learner</a>' in lee
    assert f'href="/goals/{goal.id}">Answer pages faster</a>: <span class="held">0 of 2 weeks</span>' in lee
    assert re.search(r">25 hours ago</td>\s*<td[^>]*>1 of 5</td>\s*<td[^>]*>12 of 50</td>", lee)
    assert "1, oldest asked 25 hours ago" in lee and "1 overdue" in lee
    ida = page[page.index(f'id="learner-{idle.id}"'):page.index(f'id="learner-{learner.id}"')]
    assert "no practice in 7 days" in ida
    assert "Needs attention (2)" in page and "All 2" in page


def test_sorting_and_the_attention_filter_are_plain_links(app, client, login, clock, coach, learner, make_user):
    clock.set(NOW - timedelta(hours=2))
    link(coach, learner)
    log(learner, make_drill(make_goal(learner)), 4.0)
    idle = make_user(name="Ida Idle")
    link(coach, idle)
    clock.set(NOW)
    login(coach)
    page = text(client.get("/learners"))
    assert page.index("Ida Idle") < page.index("Lee Learner")
    assert 'href="/learners?sort=name&amp;order=desc"' in page and 'aria-sort="ascending"' in page
    page = text(client.get("/learners?sort=name&order=desc"))
    assert page.index("Lee Learner") < page.index("Ida Idle") and 'aria-sort="descending"' in page
    page = text(client.get("/learners?sort=practice&order=desc&show=attention"))
    assert "Ida Idle" in page and 'id="learner-' + str(learner.id) not in page
    assert 'href="/learners?sort=practice&amp;show=attention"' in page  # the other order keeps the filter
    page = text(client.get("/learners?sort=practice&show=everything-please"))
    assert 'id="learner-' + str(learner.id) in page


def test_strangers_and_people_who_coach_nobody_get_404(app, client, login, coach, learner, make_user):
    link(coach, learner)
    assert client.get("/learners").status_code == 302  # a visitor signs in first
    for person in (learner, make_user()):
        login(person)
        assert client.get("/learners").status_code == 404
    login(coach)
    assert client.get("/learners").status_code == 200


def test_a_learners_row_never_shows_another_coachs_learners(app, client, login, coach, learner, make_user):
    link(coach, learner)
    other_coach, theirs = make_user(name="Olu Other"), make_user(name="Tess Theirs")
    link(other_coach, theirs)
    login(coach)
    page = text(client.get("/learners"))
    assert "Lee Learner" in page and "Tess Theirs" not in page


def test_an_overdue_request_shows_first_on_the_coachs_home(app, client, login, clock, coach, learner, make_user):
    clock.set(NOW - timedelta(hours=30))
    the_link = link(coach, learner)
    feedback.ask(learner, log(learner, make_drill(make_goal(learner), name="Tempo run"), 4.0), "Pacing?")
    clock.set(NOW)
    login(coach)
    home = text(client.get("/"))
    assert "Set your first goal" not in home  # a coach without goals of their own is not onboarded as a learner
    queue = home[home.index("Your feedback queue"):]
    assert re.search(r"<strong>1 waiting</strong>,\s*<span class=\"badge badge--miss\">1 overdue</span>", queue)
    assert "Nearest due: Lee Learner on Tempo run,\n      overdue since Wed 4 Mar, 09:00" in queue
    assert 'href="/queue">Open the queue</a>' in queue
    needs = home[home.index("Learners who need you"):]
    assert f'<a href="/coaching/links/{the_link.id}">Lee Learner</a>: a feedback request is overdue' in needs
    assert 'href="/learners">See all 1 learner in the overview</a>' in needs
    assert home.index("Your feedback queue") < home.index("Learners who need you")


def test_a_coach_who_practises_too_sees_their_own_practice_after_their_learners(app, client, login, coach, learner):
    link(coach, learner)
    make_drill(make_goal(coach, title="Coach better"))
    login(coach)
    home = text(client.get("/"))
    assert "Nobody needs you right now" not in home  # Lee never practised
    assert home.index("Learners who need you") < home.index("Your own practice") < home.index("Coach better")
    login(learner)
    home = text(client.get("/"))
    assert "Your feedback queue" not in home and "Set your first goal" in home
