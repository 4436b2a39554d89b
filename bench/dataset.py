"""The bench data set: one coach, 50 learners, 3 goals and 6 drills each, a year of reps, feedback on a third.

Rows go in with bulk inserts (`db.session.execute(insert(Model), rows)`) with ids assigned here, so the
whole year takes seconds. Values drift from the baseline towards the target but stop short of it, so
every goal stays active and the load run logs reps against live drills.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from failforward import clock
from failforward.accounts.models import User
from failforward.accounts.passwords import hash_password
from failforward.coaching.models import CoachingLink, Contract
from failforward.coaching.services import DEFAULT_CONTRACT
from failforward.extensions import db
from failforward.feedback.models import FeedbackMessage, FeedbackRequest, request_reps
from failforward.goals.models import HIGHER, LOWER, PARTIAL_FROM_PCT, Drill, Goal
from failforward.ledger import weekly
from failforward.ledger.models import Rep
from failforward.ledger.services import auto_outcome, refresh_all_goals

PASSWORD = "bench-practice-password"
COACH_EMAIL = "coach@bench.example"
LEARNERS = 50
DAYS = 365
FEEDBACK_SHARE = 1 / 3
FEEDBACK_DUE_HOURS = 24
# Requests made in the last two days are often still open; an older one is answered unless forgotten.
RECENT_OPEN_SHARE = 0.7
FORGOTTEN_SHARE = 0.003
FOLLOW_UP_SHARE = 0.02
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
# Reps on a day: 0..4, two on average.
REPS_PER_DAY = (0, 1, 2, 2, 3, 4)
# How far from the baseline towards the target a learner gets in a year (below 1: the median never holds).
REACH = 0.7
NOISE = 0.3

GOALS = (
    dict(title="Run 5 km faster", bottleneck="I fade in the third kilometre.", metric_name="5 km time",
         unit="min", direction=LOWER, baseline=30.0, target=25.0, weeks_required=4, aggregation="median",
         drills=(("Tempo intervals", 25), ("Hill repeats", 20))),
    dict(title="Sight-read cleanly", bottleneck="I stop at every accidental.", metric_name="errors per page",
         unit="errors", direction=LOWER, baseline=12.0, target=4.0, weeks_required=3, aggregation="median",
         drills=(("Sight-read one new page", 15), ("Accidentals flash cards", 10))),
    dict(title="Hold the plank longer", bottleneck="My hips drop after a minute.", metric_name="plank hold",
         unit="s", direction=HIGHER, baseline=60.0, target=120.0, weeks_required=2, aggregation="median",
         drills=(("Timed plank", 5), ("Side plank ladder", 10))),
)
NOTES = ("", "", "", "Felt rushed at the start.", "Good focus today.", "Tired after work.",
         "Tried the new cue from my coach.", "Lost count halfway; estimated.")
ADJUSTMENTS = ("", "", "", "Start slower.", "Warm up for five more minutes.", "Count out loud.")
ANSWERS = ("Nice progress. Keep the same cue next time.", "Slow the first third down; you pay for it later.",
           "This is a typical plateau. Change one variable, not three.", "Good miss: now you know where it breaks.")


@dataclass
class Dataset:
    """What was generated: counts for the report, and the accounts the load clients sign in with."""

    coach_email: str
    learner_emails: list[str]
    password: str
    counts: dict[str, int] = field(default_factory=dict)


def _noise(rng: random.Random) -> float:
    return rng.uniform(-NOISE, NOISE)


def _value(goal: dict, progress: float, rng: random.Random) -> float:
    span = goal["target"] - goal["baseline"]
    value = goal["baseline"] + span * (REACH * progress + _noise(rng))
    return round(max(value, 0.0), 1)


def generate(seed: int = 3) -> Dataset:
    """Fill an empty, migrated database with the bench data set (inside an app context)."""
    rng = random.Random(seed)
    now = clock.now()
    year_ago = now - timedelta(days=DAYS)
    password_hash = hash_password(PASSWORD)  # one hash for everybody: argon2 is slow on purpose

    users = [dict(id=1, email=COACH_EMAIL, name="Casey Bench-Coach", password_hash=password_hash,
                  timezone="Europe/London", session_version=1, checkin_weekday=0, checkin_hour=8,
                  email_opt_in=False, created_at=year_ago - timedelta(days=30))]
    links, contracts, goals, drills = [], [], [], []
    goal_specs: dict[int, dict] = {}
    goal_models: dict[int, Goal] = {}
    drills_of: dict[int, list[tuple[int, int, int]]] = {}  # learner id -> (drill id, goal id, minutes)
    for n in range(1, LEARNERS + 1):
        learner_id = n + 1
        zone = ZONES[n % len(ZONES)]
        users.append(dict(id=learner_id, email=f"learner{n:02d}@bench.example", name=f"Learner {n:02d}",
                          password_hash=password_hash, timezone=zone, session_version=1,
                          checkin_weekday=n % 7, checkin_hour=8, email_opt_in=False,
                          created_at=year_ago - timedelta(days=7)))
        links.append(dict(id=n, coach_id=1, learner_id=learner_id, started_at=year_ago - timedelta(days=5),
                          ended_at=None, ended_by_id=None))
        contracts.append(dict(id=n, link_id=n, version=1, feedback_due_hours=FEEDBACK_DUE_HOURS,
                              proposed_by_id=1, proposed_at=year_ago - timedelta(days=5),
                              accepted_at=year_ago - timedelta(days=4), **DEFAULT_CONTRACT))
        drills_of[learner_id] = []
        for spec in GOALS:
            goal_id = len(goals) + 1
            row = dict(id=goal_id, learner_id=learner_id, why="It is what holds the rest back.", status="active",
                       deadline=None, reached_on=None, drop_reason=None, partial_from_pct=PARTIAL_FROM_PCT,
                       created_at=year_ago - timedelta(days=1),
                       **{k: v for k, v in spec.items() if k != "drills"})
            goals.append(row)
            goal_specs[goal_id] = spec
            goal_models[goal_id] = Goal(partial_from_pct=PARTIAL_FROM_PCT,
                                        **{k: row[k] for k in ("direction", "baseline", "target")})
            for name, minutes in spec["drills"]:
                drill_id = len(drills) + 1
                drills.append(dict(id=drill_id, goal_id=goal_id, learner_id=learner_id, name=name,
                                   practises=spec["bottleneck"], environment="Same place, same time of day.",
                                   tools="Timer", time_box_minutes=minutes, feedback_source="coach",
                                   planned_reps_per_week=3, difficulty_note="Just beyond what I can do today.",
                                   archived_at=None, created_at=year_ago - timedelta(days=1)))
                drills_of[learner_id].append((drill_id, goal_id, minutes))

    reps = []
    for learner_id, options in drills_of.items():
        zone = ZoneInfo(users[learner_id - 1]["timezone"])
        first_day = year_ago.astimezone(zone).date() + timedelta(days=1)
        for day in range(DAYS):
            local_day = first_day + timedelta(days=day)
            for _ in range(rng.choice(REPS_PER_DAY)):
                moment = datetime.combine(local_day, time(6), tzinfo=zone) + timedelta(minutes=rng.randrange(16 * 60))
                performed_at = moment.astimezone(UTC)
                if performed_at > now - timedelta(minutes=5):
                    continue
                drill_id, goal_id, minutes = rng.choice(options)
                value = _value(goal_specs[goal_id], (performed_at - year_ago) / (now - year_ago), rng)
                reps.append(dict(learner_id=learner_id, goal_id=goal_id, drill_id=drill_id, performed_at=performed_at,
                                 value=value, duration_minutes=minutes + rng.randrange(-3, 4),
                                 outcome=auto_outcome(goal_models[goal_id], value), note=rng.choice(NOTES),
                                 adjustment=rng.choice(ADJUSTMENTS),
                                 logged_at=min(performed_at + timedelta(minutes=rng.randrange(1, 30)), now)))
    reps.sort(key=lambda rep: rep["logged_at"])
    for rep_id, rep in enumerate(reps, start=1):
        rep["id"], rep["idempotency_key"] = rep_id, f"bench-seed-{rep_id}"

    requests, links_to_reps, messages = [], [], []
    for rep in reps:
        if rng.random() >= FEEDBACK_SHARE:
            continue
        request_id = len(requests) + 1
        practised_at = rep["performed_at"]
        created_at = min(practised_at + timedelta(minutes=rng.randrange(5, 180)), now)
        answered_at = practised_at + timedelta(hours=math.exp(rng.gauss(math.log(8), 0.8)))
        answered_at = max(answered_at, created_at + timedelta(minutes=10))
        recent = now - created_at < timedelta(hours=48)
        if answered_at > now or (recent and rng.random() < RECENT_OPEN_SHARE) or rng.random() < FORGOTTEN_SHARE:
            answered_at = None
        follow_up = (answered_at is not None and now - answered_at < timedelta(days=14)
                     and rng.random() < FOLLOW_UP_SHARE)
        requests.append(dict(id=request_id, learner_id=rep["learner_id"], rep_id=rep["id"],
                             question=rng.choice(("", "", "Was my pacing right?", "What should I change first?")),
                             practised_at=practised_at, created_at=created_at,
                             due_at=practised_at + timedelta(hours=FEEDBACK_DUE_HOURS), answered_at=answered_at,
                             follow_up_open=follow_up,
                             helpful=rng.choice((None, None, True, True, False)) if answered_at else None))
        links_to_reps.append(dict(request_id=request_id, rep_id=rep["id"]))
        if answered_at is not None:
            messages.append(dict(id=len(messages) + 1, request_id=request_id, author_id=1,
                                 body=rng.choice(ANSWERS), created_at=answered_at))
        if follow_up:
            messages.append(dict(id=len(messages) + 1, request_id=request_id, author_id=rep["learner_id"],
                                 body="Should I change the drill or the target?",
                                 created_at=min(answered_at + timedelta(hours=2), now)))

    for model, rows in ((User, users), (CoachingLink, links), (Contract, contracts), (Goal, goals),
                        (Drill, drills), (Rep, reps), (FeedbackRequest, requests), (FeedbackMessage, messages)):
        db.session.execute(insert(model), rows)
    db.session.execute(insert(request_reps), links_to_reps)
    weekly.rebuild(db.session.connection())  # a bulk load passes by the session's flush, which keeps them
    db.session.commit()
    # The product's own rule decides whether a generated goal is reached (by design none should be).
    reached = refresh_all_goals()

    counts = {
        "learners": LEARNERS,
        "goals": len(goals),
        "drills": len(drills),
        "reps": len(reps),
        "feedback_requests": len(requests),
        "answered": sum(1 for r in requests if r["answered_at"] is not None),
        "open_in_queue": db.session.scalar(select(func.count()).select_from(FeedbackRequest).where(
            (FeedbackRequest.answered_at.is_(None)) | FeedbackRequest.follow_up_open.is_(True))),
        "goals_reached_by_data": reached,
    }
    return Dataset(COACH_EMAIL, [u["email"] for u in users[1:]], PASSWORD, counts)
