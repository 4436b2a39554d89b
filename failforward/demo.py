"""Demo data: a coach and four learners, linked, with an accepted contract, a goal with a drill and
three weeks of reps for the first learner, feedback answered and waiting, a pre-mortem taken to its
tripwire, a small test (PDSA cycle) under way, this week's lesson, setback and review with a fix done (so
the Progress page has something in each), a lesson of the coach's shared with the learners, and two closed
periods of safety pulses (enough answers for the coach to see them) with this period's pulse waiting for the
first learner. Safe to run twice."""

import random
from datetime import UTC, timedelta

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.passwords import hash_password
from failforward.accounts.services import user_by_email
from failforward.calendar import day_start, zone_of
from failforward.coaching import access
from failforward.coaching import services as coaching
from failforward.cycles import services as cycles
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.goals import services as goals
from failforward.ledger import services as ledger
from failforward.ledger.models import MISS
from failforward.lessons import services as lessons
from failforward.premortems import models as premortem_models
from failforward.premortems import services as premortems
from failforward.pulse import services as pulse
from failforward.pulse.models import STATEMENTS, Pulse
from failforward.reflection import services as reflection
from failforward.reviews import services as reviews
from failforward.reviews.models import DONE

DEMO_PASSWORD = "practice-makes-progress"
DEMO_PEOPLE = (
    ("coach@example.com", "Casey Coach", "Europe/London"),
    ("lee@example.com", "Lee Learner", "Europe/Berlin"),
    ("sam@example.com", "Sam Student", "America/New_York"),
    ("ana@example.com", "Ana Alvarez", "Europe/Madrid"),
    ("bo@example.com", "Bo Berg", "Asia/Tokyo"),
)
COACH_LESSON = {  # the coach's own miss, shared with the learners ("model fallibility")
    "happened_on": None, "context": "Wednesday's session with Lee",
    "what_failed": "I gave feedback on a rep two days late, after Lee had already practised the same mistake.",
    "what_tried": "Answering requests only on Fridays.", "try_next": "Answer feedback requests every morning first.",
    "check_on": None, "shared": False, "shared_with_learners": True,
}
PULSE_COMMENTS = ("Being told a miss was the drill's fault, not mine, made it easy to say the next one.",
                  "I'd like a few minutes at the end of a session to ask questions.", "", "")
DEMO_GOAL = {
    "title": "Answer pages faster", "bottleneck": "My first response to a page takes over 10 minutes.",
    "metric_name": "first response", "unit": "min", "direction": "lower", "baseline": 10.0, "target": 3.0,
    "weeks_required": 4, "aggregation": "median", "deadline": None, "partial_from_pct": 50,
    "why": "Slow first responses turn small incidents into long ones.",
}
DEMO_DRILL = {
    "name": "Simulated page", "practises": "Acknowledge, triage and post a first update.",
    "environment": "Staging alert replay", "tools": "Timer, triage checklist", "time_box_minutes": 15,
    "feedback_source": "coach", "planned_reps_per_week": 5,
    "difficulty_note": "Harder alerts each week; aim to miss about one in three.",
}


def create_demo_data() -> list[tuple[str, str]]:
    """Create the demo people, links and practice if missing; return their sign-in details."""
    people = []
    for email, name, zone in DEMO_PEOPLE:
        user = user_by_email(email)
        if user is None:
            user = User(email=email, name=name, timezone=zone, password_hash=hash_password(DEMO_PASSWORD))
            db.session.add(user)
        people.append(user)
    db.session.commit()
    coach, *learners = people
    for learner in learners:
        if access.active_link(coach.id, learner.id) is None:
            invite = coaching.create_invite(coach, None)
            link = coaching.accept_invite(coaching.invite_token(invite), learner)
            coaching.accept_contract(learner, link, 1)
    if not goals.goals_of(learners[0]):
        _practice(learners[0])
    if not db.session.scalar(db.select(db.exists().where(Pulse.learner_id == learners[0].id))):
        _pulses(coach, learners)
    if not lessons.recent_lessons(coach, 1):
        lessons.create_lesson(coach, {**COACH_LESSON, "happened_on": clock.now().date() - timedelta(days=5)}, {},
                              None, "demo-coach-lesson")
    return [(email, DEMO_PASSWORD) for email, _, _ in DEMO_PEOPLE]


def _practice(learner: User) -> None:
    """Three weeks of reps getting better, one answered feedback request and one waiting."""
    goal = goals.create_goal(learner, DEMO_GOAL)
    drill = goals.create_drill(goal, DEMO_DRILL)
    now, pick = clock.now(), random.Random(7)
    reps = []
    for day in range(20, 0, -1):
        if day % 7 in (2, 5):
            continue
        value = round(max(2.0, 9.0 - (20 - day) * 0.3 + pick.uniform(-1.5, 1.5)), 1)
        fields = {"performed_at": now - timedelta(days=day, hours=pick.randint(0, 5)), "value": value,
                  "duration_minutes": 15, "outcome": None, "note": "", "adjustment": ""}
        reps.append(ledger.log_rep(learner, drill, fields, f"demo-{day}")[0])
    answered = feedback.ask(learner, reps[-3], "Was my first update clear enough?")
    coach = coaching.coaches_of(learner)[0].coach
    feedback.answer(coach, answered, "Clear, and fast. Next time name the impact in the first line.")
    feedback.ask(learner, reps[-1], "I hesitated on severity. How would you have called it?")
    _experiments(learner, goal, drill)
    _looking_back(learner, goal, next((rep for rep in reversed(reps) if rep.outcome == MISS), reps[-1]))


def _experiments(learner: User, goal, drill) -> None:
    """A pre-mortem taken to its tripwire, and a small test (PDSA cycle) half-way through its week."""
    premortem = premortems.start(learner, goal, 6, 3, None)
    premortems.write_causes(premortem, learner, [
        "On-call weeks left no time to practise", "Practised only the easy alerts", "Stopped timing myself",
        "No feedback for weeks", "The runbook changed and I did not notice"], finished=True)
    premortems.reveal(premortem)
    causes = {cause.text: cause.id for cause in premortem.causes}
    busy = premortems.add_risk(premortem, learner.id, "Practice squeezed out by on-call",
                               [causes["On-call weeks left no time to practise"]])
    easy = premortems.add_risk(premortem, learner.id, "Drills drift to the easy cases",
                               [causes["Practised only the easy alerts"], causes["Stopped timing myself"]])
    premortems.vote(premortem, learner, {busy.id: 2, easy.id: 1})
    premortems.close_vote(premortem)
    premortems.convert(busy, {
        "prevention": "Book two 15-minute drill slots in the on-call calendar", "owner": "learner",
        "contingency": "Do one drill the next morning, before email", "due_on": clock.now().date() + timedelta(days=7),
        "tripwire": premortem_models.NO_REP, "drill_id": drill.id, "threshold": 4})
    cycles.create_cycle(learner, goal, {
        "drill_id": drill.id, "objective": "Faster first updates", "change": "Write the first update from a template",
        "prediction": "Under 4 minutes, because I stop wording it from scratch", "harm": "miss-rate",
        "harm_goal_id": None, "adopt_if_pct": 5.0, "harm_tolerance_pct": 0.0, "min_reps": 5, "scope_pct": 10,
        "timebox_days": 7, "starts_on": clock.now().date() - timedelta(days=3), "undo_plan": "Go back to free text",
        "undo_speed": "at once", "next_if_inconclusive": "Run it for another week"}, None, "demo-cycle")


def _looking_back(learner: User, goal, missed) -> None:
    """A lesson from a missed rep, a setback worked through (intensity 7 down to 4), and a blameless review whose
    first fix is done."""
    today = clock.now().date()
    lessons.create_lesson(learner, {
        "happened_on": today, "context": "A disk-full alert on the replay", "what_failed": "I paged the database "
        "team before checking which host filled up", "what_tried": "Read the alert title only",
        "try_next": "Open the host graph before anyone else", "check_on": None, "shared": True, "goal_id": goal.id},
        {}, ("rep", missed.id), "demo-lesson")
    setback = reflection.start_reflection(learner, {
        "situation": "missed-target", "intensity_before": 7, "rep_id": missed.id,
        "what_happened": "Missed the 3-minute target again on a noisy alert."}, "demo-setback")
    reflection.finish_reflection(setback, "next-rep", "", False, 4)
    review, _ = reviews.create_review(learner, {
        "trigger": "Two slow first updates on noisy alerts", "scope": "This week's drills", "counterfactual": "",
        "what_worked": "The triage checklist kept the order right", "assumptions": "Noisy alerts need a filter first",
        "shared": True}, [], [("tools", "The replay shows every alert at the same severity")], None, "demo-review")
    fix, _ = reviews.add_action(review, {
        "what": "Sort the replay's alerts by severity", "owner_id": learner.id, "due_on": None,
        "done_condition": "The replay opens with the worst alert on top", "verify_plan": "", "check_on": None},
        "demo-review-fix")
    reviews.set_status(fix, DONE, "")


def _pulses(coach: User, learners: list[User]) -> None:
    """Two closed periods of pulses that every learner answered (links dated back to cover them), and this
    period's pulse waiting for the first learner."""
    now, pick = clock.now(), random.Random(14)
    # The same two periods for everyone, both over in every zone: the one before the period that held the day
    # before yesterday (UTC) ended at least a day ago everywhere, and the one before that.
    latest = pulse.period_start(now - timedelta(days=2), UTC) - pulse.PERIOD
    for n, learner in enumerate(learners):
        zone = zone_of(learner)
        link = access.active_link(coach.id, learner.id)
        link.started_at = now - timedelta(weeks=16)
        for start in (latest - pulse.PERIOD, latest):
            scores = {name: pick.choice((3, 4, 4, 5, 5)) for name in STATEMENTS}
            db.session.add(Pulse(link_id=link.id, learner_id=learner.id, period_start=start,
                                 closes_at=pulse.period_end(start, zone), emailed=True,
                                 answered_at=day_start(start + timedelta(days=n + 1), zone), **scores,
                                 comment=PULSE_COMMENTS[n] if start == latest else ""))
        if n == 0:
            current = pulse.period_start(now, zone)
            db.session.add(Pulse(link_id=link.id, learner_id=learner.id, period_start=current,
                                 closes_at=pulse.period_end(current, zone)))
    db.session.commit()
