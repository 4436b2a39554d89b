"""Read models of the pages that gather several domains: the signed-in home page and a goal's page.
Each is everything its page shows, from one call."""

from dataclasses import dataclass

from failforward.accounts.models import User
from failforward.calendar import zone_of
from failforward.coaching import services as coaching
from failforward.coaching.models import CoachingLink
from failforward.cycles import services as cycles
from failforward.cycles.models import Cycle
from failforward.cycles.services import ChainLink
from failforward.goals import services as goals
from failforward.goals.models import ACTIVE, Drill, Goal
from failforward.ledger import progress
from failforward.ledger import services as ledger
from failforward.ledger.models import Rep
from failforward.ledger.progress import Chart, Progress
from failforward.lessons import services as lessons
from failforward.lessons.models import Lesson
from failforward.overview import services as overview
from failforward.premortems import services as premortems
from failforward.premortems.models import PreMortem
from failforward.pulse import services as pulse
from failforward.pulse.models import Pulse
from failforward.reviews import services as reviews
from failforward.thresholds import services as thresholds
from failforward.thresholds.models import FollowUp


@dataclass(frozen=True)
class HomePage:
    """For a coach, first their queue and the learners who need them; then the quick-log card, the active
    goals with where each rule stands, the 30-day checks due, the person's coaches, the
    pre-mortem card (tripwires that fired, risks a coach owns), the lessons and reviews the contract asks
    for, the fixes from reviews due or ready to check, and the safety pulses waiting for an answer."""

    coach: overview.CoachCard | None
    card: ledger.QuickLog
    goals: list[Goal]
    progress: dict[int, Progress]
    checks: list[Lesson]
    coaches: list[CoachingLink]
    ended_cycles: list[Cycle]
    premortems: premortems.HomeCard
    follow_ups: list[FollowUp]
    actions: reviews.ActionsDue
    pulses: list[Pulse]


def home_page(person: User, wanted_drill: int | None = None) -> HomePage:
    """What a signed-in person's home page shows (`wanted_drill` picked on the card if it can be logged)."""
    active = [g for g in goals.goals_of(person) if g.status == ACTIVE]
    return HomePage(coach=overview.coach_card(person), card=ledger.quick_log(person, wanted_drill), goals=active,
                    progress=ledger.goal_progress(active, zone_of(person), ledger.STATUS_WEEKS),
                    checks=lessons.due_checks(person), coaches=coaching.coaches_of(person),
                    ended_cycles=cycles.ended_cycles(person), premortems=premortems.home_card(person),
                    follow_ups=thresholds.due_follow_ups(person), actions=reviews.actions_due(person),
                    pulses=pulse.open_pulses(person))


@dataclass(frozen=True)
class GoalPage:
    """A goal with where its rule stands, the weekly chart, its drills (archived ones too) and its
    latest reps, its pre-mortems; `mine` when the viewer is the learner (a coach reads)."""

    goal: Goal
    state: Progress
    chart: Chart
    drills: list[Drill]
    reps: list[Rep]
    mine: bool
    cycles: list[ChainLink]
    premortems: list[PreMortem]


def goal_page(viewer: User, goal: Goal) -> GoalPage:
    """What a goal's page shows to `viewer` (the learner or their coach: goals.goal_or_404 checked)."""
    state = ledger.goal_progress([goal], zone_of(goal.learner))[goal.id]
    return GoalPage(goal=goal, state=state,
                    chart=progress.chart(state.weeks, goal.target, goal.baseline, goal.direction),
                    drills=goals.drills_of(goal, include_archived=True), reps=ledger.recent_reps(goal),
                    mine=goal.learner_id == viewer.id, cycles=cycles.cycles_of_goal(goal),
                    premortems=premortems.premortems_of_goal(goal))
