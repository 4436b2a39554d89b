"""Pre-mortem screens: the whole exercise from a goal's page without JavaScript, the coach invited into it,
422 with the text kept, 404 for strangers, the goal page and the home card after a tripwire fired, and every
form fuzzed."""

import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from failforward.extensions import db
from failforward.premortems import services
from failforward.premortems.models import Cause, PreMortem, PreMortemComment, Risk
from tests.factories import field_error, link, make_drill, make_goal, text
from tests.premortem_world import converted
from tests.test_forms_fuzz import FUZZ, NASTY, assert_answered_well, body_kind, field, json_of, json_value, submit

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def people(app, clock, make_user):
    clock.set(NOW)
    learner, coach, stranger = make_user(name="Lee Learner"), make_user(name="Casey Coach"), make_user(name="Sam")
    link(coach, learner)
    drill = make_drill(make_goal(learner))
    return learner, coach, stranger, drill


def latest() -> PreMortem:
    db.session.expire_all()
    return db.session.scalar(db.select(PreMortem).order_by(PreMortem.id.desc()))


def test_a_learner_runs_a_pre_mortem_alone_without_javascript(client, login, people):
    learner, _coach, _stranger, drill = people
    goal_id = drill.goal_id
    login(learner)
    goal_page = text(client.get(f"/goals/{goal_id}"))
    assert "No pre-mortem yet" in goal_page and f'href="/goals/{goal_id}/premortems/new"' in goal_page
    prime = text(client.get(f"/goals/{goal_id}/premortems/new"))
    assert "It is <strong>Friday 4 September 2026</strong> and “Answer pages faster” failed." in prime

    response = client.post(f"/goals/{goal_id}/premortems", data={"timer_minutes": "6", "dots": "3"})
    premortem = latest()
    assert response.status_code == 303 and response.location == f"/premortems/{premortem.id}/write"
    write = text(client.get(response.location))
    assert 'data-countdown="360"' in write and "Take about 6 minutes." in write

    response = client.post(f"/premortems/{premortem.id}/causes",
                           data={"causes": "Night shifts\n\nLost the runbook\nNo feedback", "action": "finish"})
    assert response.location == f"/premortems/{premortem.id}/reveal"
    assert "3 causes so far: aim for at least 5" in text(client.get(response.location))
    assert [c.text for c in latest().causes] == ["Night shifts", "Lost the runbook", "No feedback"]

    causes = latest().causes
    client.post(f"/premortems/{premortem.id}/risks", data={"title": "Tired", "causes": [str(causes[0].id)]})
    client.post(f"/premortems/{premortem.id}/risks", data={"title": "Blind", "causes": [str(causes[2].id)]})
    tired, blind = latest().risks
    assert [c.text for c in tired.causes] == ["Night shifts"]
    response = client.post(f"/premortems/{premortem.id}/votes",
                           data={"risk_ids": f"{tired.id},{blind.id}", "dots-0": "2", "dots-1": "1"})
    assert response.status_code == 303
    assert client.post(f"/premortems/{premortem.id}/close").location == f"/premortems/{premortem.id}/convert"
    assert [r.forward for r in latest().risks] == [True, True]

    assert f'href="/risks/{tired.id}/edit"' in text(client.get(f"/premortems/{premortem.id}/convert"))
    form = {"prevention": "Practise before shifts", "tripwire": "no-rep", "drill_id": str(drill.id), "threshold": "3",
            "contingency": "Ten-minute reps only", "owner": "learner", "due_on": "2026-03-20"}
    assert client.post(f"/risks/{tired.id}", data=form).location == f"/risks/{blind.id}/edit"  # the next one
    goal_page = text(client.get(f"/goals/{goal_id}"))
    assert "Tripwire: no rep on Pager drill for 3 days" in goal_page
    assert "Then: Ten-minute reps only" in goal_page and "Watching" in goal_page
    assert (f'href="/goals/{goal_id}/cycles/new?change=Practise+before+shifts&amp;objective=Tired&amp;drill={drill.id}"'
            in goal_page)

    client.post(f"/risks/{tired.id}/prevented")
    assert "Prevention done" in text(client.get(f"/goals/{goal_id}"))


def test_bad_input_answers_422_with_the_text_kept(client, login, people):
    learner, _coach, _stranger, drill = people
    login(learner)
    response = client.post(f"/goals/{drill.goal_id}/premortems", data={"timer_minutes": "9", "dots": "3"})
    assert response.status_code == 422 and "Pick 5, 6 or 7 minutes." in field_error(response, "timer_minutes")
    premortem = services.start(learner, drill.goal, 6, 3, None)
    typed = "Night shifts\n" + "x" * 301
    response = client.post(f"/premortems/{premortem.id}/causes", data={"causes": typed, "action": "save"})
    assert response.status_code == 422 and "Keep each cause to 300 characters." in text(response)
    assert "Night shifts" in text(response)

    services.write_causes(premortem, learner, ["Night shifts"], finished=True)
    risk = services.add_risk(premortem, learner.id, "Tired", [premortem.causes[0].id])
    response = client.post(f"/premortems/{premortem.id}/votes", data={"risk_ids": str(risk.id), "dots-0": "4"})
    assert response.status_code == 422 and "You have 3 dots: take some off." in text(response)
    assert 'value="4"' in text(response)
    services.vote(premortem, learner, {risk.id: 1})
    services.close_vote(premortem)
    response = client.post(f"/risks/{risk.id}", data={"prevention": "Sleep first", "tripwire": "misses",
                                                      "threshold": "2.5", "owner": "learner", "due_on": "2026-03-20"})
    assert response.status_code == 422
    assert "Pick the drill this tripwire watches." in field_error(response, "drill_id")
    assert "Write what you&#39;ll do when the tripwire fires." in text(response)
    assert "Sleep first</textarea>" in text(response)


def test_a_learner_without_a_coach_is_not_offered_the_coach_as_a_risks_owner(client, login, make_user, clock):
    """On their own, "The coach" would own a step nobody sees: the form offers the learner only."""
    clock.set(NOW)
    learner = make_user(name="Solo")
    drill = make_drill(make_goal(learner))
    premortem = services.start(learner, drill.goal, 6, 3, None)
    services.write_causes(premortem, learner, ["Night shifts"], finished=True)
    risk = services.add_risk(premortem, learner.id, "Tired", [premortem.causes[0].id])
    services.vote(premortem, learner, {risk.id: 1})
    services.close_vote(premortem)
    login(learner)
    page = text(client.get(f"/risks/{risk.id}/edit"))
    assert 'value="learner"' in page and 'value="coach"' not in page
    response = client.post(f"/risks/{risk.id}", data={"prevention": "Sleep first", "tripwire": "manual",
                                                      "contingency": "Rest", "owner": "coach", "due_on": "2026-03-20"})
    assert response.status_code == 422 and field_error(response, "owner")
    assert "Sleep first</textarea>" in text(response)


def test_the_invited_coach_writes_votes_and_sees_the_others_causes_only_after_the_reveal(client, login, people, app):
    learner, coach, _stranger, drill = people
    login(learner)
    client.post(f"/goals/{drill.goal_id}/premortems", data={"timer_minutes": "5", "dots": "3", "coach": str(coach.id)})
    premortem = latest()
    client.post(f"/premortems/{premortem.id}/causes", data={"causes": "Night shifts", "action": "finish"})
    coach_client = app.test_client()
    login(coach, coach_client)
    assert "Pre-mortems you're invited to" in text(coach_client.get("/"))
    assert "Write your causes" in text(coach_client.get(f"/goals/{drill.goal_id}"))
    assert "Night shifts" not in text(coach_client.get(f"/premortems/{premortem.id}/reveal"))
    assert "Night shifts" not in text(coach_client.get(f"/premortems/{premortem.id}/write"))
    coach_client.post(f"/premortems/{premortem.id}/causes", data={"causes": "Coach is away", "action": "finish"})
    reveal = text(coach_client.get(f"/premortems/{premortem.id}/reveal"))
    assert "Night shifts" in reveal and "Coach is away" in reveal
    assert "invited to" not in text(coach_client.get("/"))
    assert {c.author_id for c in latest().causes} == {learner.id, coach.id}
    client.post(f"/premortems/{premortem.id}/risks", data={"title": "Tired", "causes": [str(latest().causes[0].id)]})
    client.post(f"/premortems/{premortem.id}/votes", data={"risk_ids": str(latest().risks[0].id), "dots-0": "3"})
    assert "Casey Coach has not put any dots yet" in text(client.get(f"/premortems/{premortem.id}/vote"))
    coach_client.post(f"/premortems/{premortem.id}/votes", data={"risk_ids": str(latest().risks[0].id), "dots-0": "1"})
    assert "not put any dots yet" not in text(client.get(f"/premortems/{premortem.id}/vote"))
    assert coach_client.post(f"/premortems/{premortem.id}/close").status_code == 404  # only the owner steers
    assert coach_client.get(f"/premortems/{premortem.id}/convert").status_code == 404


def test_strangers_and_an_uninvited_coach_get_404(client, login, people, app):
    learner, coach, stranger, drill = people
    premortem = services.start(learner, drill.goal, 6, 3, None)
    services.write_causes(premortem, learner, ["Night shifts"], finished=True)
    risk = services.add_risk(premortem, learner.id, "Tired", [premortem.causes[0].id])
    login(stranger)
    for url in [f"/goals/{drill.goal_id}/premortems/new", f"/premortems/{premortem.id}/write", f"/risks/{risk.id}/edit",
                f"/premortems/{premortem.id}/reveal", f"/premortems/{premortem.id}/vote",
                f"/premortems/{premortem.id}/convert"]:
        assert client.get(url).status_code == 404, url
    for url in [f"/premortems/{premortem.id}/causes", f"/premortems/{premortem.id}/risks", f"/risks/{risk.id}",
                f"/risks/{risk.id}/trigger"]:
        assert client.post(url, data={"causes": "Mine now", "title": "Mine"}).status_code == 404, url
    coach_client = app.test_client()
    login(coach, coach_client)
    assert coach_client.get(f"/premortems/{premortem.id}/reveal").status_code == 200  # reads along
    assert coach_client.get(f"/premortems/{premortem.id}/write").status_code == 404  # was not invited
    assert coach_client.post(f"/premortems/{premortem.id}/votes",
                             data={"risk_ids": str(risk.id), "dots-0": "1"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Cause)) == 1


def test_a_fired_tripwire_shows_its_contingency_on_home_and_on_the_goal_page(client, login, people, app):
    learner, coach, _stranger, drill = people
    premortem = services.start(learner, drill.goal, 6, 3, None)
    services.write_causes(premortem, learner, ["Lost the runbook"], finished=True)
    risk = services.add_risk(premortem, learner.id, "No runbook", [premortem.causes[0].id])
    services.vote(premortem, learner, {risk.id: 3})
    services.close_vote(premortem)
    services.convert(risk, {"prevention": "Print it", "contingency": "Ask my coach for theirs", "owner": "coach",
                            "due_on": NOW.date(), "tripwire": "manual", "drill_id": None, "threshold": None})
    login(learner)
    assert "A tripwire fired" not in text(client.get("/"))
    response = client.post(f"/risks/{risk.id}/trigger")
    assert response.location == "/"
    home = text(client.get("/"))
    assert "A tripwire fired" in home and "Ask my coach for theirs" in home
    goal_page = text(client.get(f"/goals/{drill.goal_id}"))
    assert "Tripwire fired" in goal_page and "marked by hand" in goal_page and "owner: your coach" in goal_page
    client.post(f"/risks/{risk.id}/clear")
    assert "A tripwire fired" not in text(client.get("/"))
    assert re.search(r"Fired: 4 Mar \(marked by hand\), cleared", text(client.get(f"/goals/{drill.goal_id}")))

    coach_client = app.test_client()
    login(coach, coach_client)
    coach_home = text(coach_client.get("/"))
    assert "Risks you own" in coach_home and "No runbook</a>" in coach_home and "Prevent: Print it" in coach_home
    assert "owner: you" in text(coach_client.get(f"/goals/{drill.goal_id}"))
    services.set_prevented(risk)
    assert "Risks you own" not in text(coach_client.get("/"))


def test_the_coach_reads_along_and_comments_and_the_learner_answers(client, login, people, app):
    learner, coach, stranger, drill = people
    premortem = services.start(learner, drill.goal, 6, 3, None)  # the coach is not invited: they read along
    services.write_causes(premortem, learner, ["Night shifts"], finished=True)
    coach_client = app.test_client()
    login(coach, coach_client)
    assert "The causes and comments (0)" in text(coach_client.get(f"/goals/{drill.goal_id}"))
    response = coach_client.post(f"/premortems/{premortem.id}/comments", data={"body": "x" * 2001})
    assert response.status_code == 422 and "x" * 2001 in text(response)
    assert "Field cannot be longer than 2000 characters." in field_error(response, "body")
    response = coach_client.post(f"/premortems/{premortem.id}/comments", data={"body": "Night shifts: every week?"})
    assert response.location == f"/premortems/{premortem.id}/reveal#comments"
    coach_client.post(f"/premortems/{premortem.id}/comments", data={"body": "Night shifts: every week?"})  # double tap

    login(learner)
    assert "The causes and comments (1)" in text(client.get(f"/goals/{drill.goal_id}"))
    client.post(f"/premortems/{premortem.id}/comments", data={"body": "Two a week."})
    reveal = text(client.get(f"/premortems/{premortem.id}/reveal"))
    assert re.search(r"Casey Coach · .*\n\s*<p class=\"prewrap\">Night shifts: every week\?</p>", reveal)
    assert "Two a week." in reveal and "Night shifts" in reveal

    stranger_client = app.test_client()
    login(stranger, stranger_client)
    assert stranger_client.post(f"/premortems/{premortem.id}/comments", data={"body": "Mine"}).status_code == 404
    assert [c.body for c in latest().comments] == ["Night shifts: every week?", "Two a week."]


def test_only_the_learner_is_offered_a_risks_prevention_as_a_pdsa_cycle(client, login, people, app):
    learner, coach, _stranger, drill = people
    (risk,) = converted(learner, drill.goal, ["Tired"])
    services.convert(risk, {"prevention": "Sleep first", "contingency": "Short reps", "owner": "learner",
                            "due_on": NOW.date(), "tripwire": "no-rep", "drill_id": drill.id, "threshold": 3})
    login(learner)
    link_to_plan = (f'href="/goals/{drill.goal_id}/cycles/new?change=Sleep+first&amp;objective=Tired'
                    f'&amp;drill={drill.id}"')
    assert link_to_plan in text(client.get(f"/goals/{drill.goal_id}"))
    coach_client = app.test_client()
    login(coach, coach_client)
    coach_page = text(coach_client.get(f"/goals/{drill.goal_id}"))
    assert "Prevent: Sleep first" in coach_page and "Try it as a PDSA cycle" not in coach_page  # it would be a 404


# --- every form, fuzzed -------------------------------------------------------------------------

@pytest.fixture
def running(client, people, login):
    """The client, signed in as the learner, with a pre-mortem at the convert step (one top risk)."""
    learner, _coach, _stranger, drill = people
    premortem = services.start(learner, drill.goal, 6, 3, None)
    services.write_causes(premortem, learner, ["Night shifts"], finished=True)
    risk = services.add_risk(premortem, learner.id, "Tired", [premortem.causes[0].id])
    services.vote(premortem, learner, {risk.id: 1})
    services.close_vote(premortem)
    writing = services.start(learner, drill.goal, 6, 3, None)
    voting = services.start(learner, drill.goal, 6, 3, None)
    services.write_causes(voting, learner, ["Pager fatigue"], finished=True)
    client.ids = {"goal": drill.goal_id, "risk": risk.id, "writing": writing.id, "voting": voting.id,
                  "voting_risk": services.add_risk(voting, learner.id, "Fatigue", []).id}
    login(learner)
    return client


@FUZZ
@given(minutes=field, dots=field, coach=field, kind=body_kind, json_values=st.lists(json_value, min_size=3,
                                                                                     max_size=3))
def test_start_form(running, minutes, dots, coach, kind, json_values):
    fields = {"timer_minutes": minutes, "dots": dots, "coach": coach}
    response = submit(running, f"/goals/{running.ids['goal']}/premortems", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind)
    for premortem in db.session.scalars(db.select(PreMortem)):
        assert 5 <= premortem.timer_minutes <= 7 and 1 <= premortem.dots <= 10 and premortem.coach_id is None


@FUZZ
@given(causes=field, action=field, kind=body_kind, json_values=st.lists(json_value, min_size=2, max_size=2))
@example(causes="\n".join(NASTY[:12]), action="finish", kind="form", json_values=[None, None])
def test_causes_form(running, causes, action, kind, json_values):
    fields = {"causes": causes, "action": action}
    response = submit(running, f"/premortems/{running.ids['writing']}/causes", fields, kind, json_of(fields,
                                                                                                    json_values))
    assert_answered_well(response, fields, kind)
    for cause in db.session.scalars(db.select(Cause)):
        assert 0 < len(cause.text) <= 300 and "\n" not in cause.text and "\x00" not in cause.text


@FUZZ
@given(title=field, causes=field, dots=field, kind=body_kind, json_values=st.lists(json_value, min_size=3,
                                                                                    max_size=3))
def test_risk_and_dots_forms(running, title, causes, dots, kind, json_values):
    fields = {"title": title, "causes": causes}
    response = submit(running, f"/premortems/{running.ids['voting']}/risks", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind, kept_text=("title",) if isinstance(title, str) else ())
    votes = {"risk_ids": str(running.ids["voting_risk"]), "dots-0": dots}
    assert_answered_well(submit(running, f"/premortems/{running.ids['voting']}/votes", votes, kind,
                                json_of(votes, json_values)), votes, kind)
    for risk in db.session.scalars(db.select(Risk)):
        assert 0 < len(risk.title) <= 200 and 0 <= risk.dots <= 3


@FUZZ
@given(body=field, kind=body_kind, json_values=st.lists(json_value, min_size=1, max_size=1))
def test_comment_form(running, body, kind, json_values):
    fields = {"body": body}
    response = submit(running, f"/premortems/{running.ids['writing']}/comments", fields, kind, json_of(fields,
                                                                                                     json_values))
    assert_answered_well(response, fields, kind, kept_text=("body",) if isinstance(body, str) else ())
    for comment in db.session.scalars(db.select(PreMortemComment)):
        assert comment.body.strip() and len(comment.body) <= 2000 and "\x00" not in comment.body


@FUZZ
@given(prevention=field, tripwire=st.one_of(st.sampled_from(["no-rep", "misses", "metric", "planned", "manual"]),
                                             field),
       drill=field, threshold=field, due_on=field, kind=body_kind,
       json_values=st.lists(json_value, min_size=5, max_size=5))
def test_convert_form(running, prevention, tripwire, drill, threshold, due_on, kind, json_values):
    fields = {"prevention": prevention, "tripwire": tripwire, "drill_id": drill, "threshold": threshold,
              "due_on": due_on, "contingency": "Plan B", "owner": "learner"}
    response = submit(running, f"/risks/{running.ids['risk']}", fields, kind, json_of(fields, json_values))
    assert_answered_well(response, fields, kind)
    for risk in db.session.scalars(db.select(Risk).where(Risk.tripwire.is_not(None))):
        assert risk.prevention and len(risk.prevention) <= 1000
        assert risk.tripwire == "manual" or risk.threshold is not None
        assert risk.tripwire not in ("no-rep", "misses", "planned") or risk.drill_id is not None
