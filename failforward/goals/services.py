"""Goal and drill rules: who may see or change them, creating, editing, archiving, copying."""


from flask import abort

from failforward import clock
from failforward.accounts.models import User
from failforward.calendar import today_for
from failforward.coaching.access import learners_record_or_404, own_record_or_404
from failforward.extensions import db
from failforward.goals.models import ACTIVE, DROPPED, REACHED, Drill, Goal

GOAL_FIELDS = ("title", "bottleneck", "metric_name", "unit", "direction", "baseline", "target",
               "weeks_required", "aggregation", "deadline", "why", "partial_from_pct")
DRILL_FIELDS = ("name", "practises", "environment", "tools", "time_box_minutes", "feedback_source",
                "planned_reps_per_week", "difficulty_note")


def goal_or_404(viewer: User, goal_id: int) -> Goal:
    """A goal the viewer may see (its learner, or an active coach); 404 for anyone else."""
    return learners_record_or_404(viewer, Goal, goal_id)


def own_goal_or_404(viewer: User, goal_id: int) -> Goal:
    """A goal the viewer owns (only the learner changes their goals)."""
    return own_record_or_404(viewer, Goal, goal_id)


def drill_or_404(viewer: User, drill_id: int) -> Drill:
    """A drill the viewer may see; 404 for anyone else."""
    return learners_record_or_404(viewer, Drill, drill_id)


def own_drill_or_404(viewer: User, drill_id: int) -> Drill:
    """A drill the viewer owns."""
    return own_record_or_404(viewer, Drill, drill_id)


def goals_of(learner: User) -> list[Goal]:
    """All the learner's goals: active first, then by newest."""
    order = db.case((Goal.status == ACTIVE, 0), (Goal.status == REACHED, 1), else_=2)
    return list(db.session.scalars(
        db.select(Goal).where(Goal.learner_id == learner.id).order_by(order, Goal.created_at.desc())))


def drills_of(goal: Goal, include_archived: bool = False) -> list[Drill]:
    """A goal's drills, archived ones only when asked."""
    query = db.select(Drill).where(Drill.goal_id == goal.id).order_by(Drill.created_at)
    if not include_archived:
        query = query.where(Drill.archived_at.is_(None))
    return list(db.session.scalars(query))


def drills_of_learner(learner: User) -> list[Drill]:
    """Every drill the learner has, archived ones included, by name."""
    return list(db.session.scalars(db.select(Drill).where(Drill.learner_id == learner.id).order_by(Drill.name)))


def active_drills(learner: User) -> list[Drill]:
    """The learner's drills on active goals that are not archived: what they can log now."""
    return list(db.session.scalars(
        db.select(Drill)
        .join(Goal, Goal.id == Drill.goal_id)
        .where(Drill.learner_id == learner.id, Drill.archived_at.is_(None), Goal.status == ACTIVE)
        .order_by(Drill.name)
        .options(db.contains_eager(Drill.goal))))


def create_goal(learner: User, fields: dict) -> Goal:
    """Create a goal for the learner."""
    goal = Goal(learner_id=learner.id, **{name: fields[name] for name in GOAL_FIELDS})
    db.session.add(goal)
    db.session.commit()
    return goal


def update_goal(goal: Goal, fields: dict) -> Goal:
    """Change a goal's definition."""
    for name in GOAL_FIELDS:
        setattr(goal, name, fields[name])
    db.session.commit()
    return goal


def set_status(goal: Goal, status: str, drop_reason: str | None = None) -> None:
    """Pause, resume, drop (with a reason) or mark a goal reached by hand."""
    goal.status = status
    goal.drop_reason = drop_reason if status == DROPPED else None
    if status == REACHED and goal.reached_on is None:
        goal.reached_on = today_for(goal.learner)
    if status == ACTIVE:
        goal.reached_on = None
    db.session.commit()


def create_drill(goal: Goal, fields: dict) -> Drill:
    """Add a drill to a goal."""
    drill = Drill(goal_id=goal.id, learner_id=goal.learner_id, **{name: fields[name] for name in DRILL_FIELDS})
    db.session.add(drill)
    db.session.commit()
    return drill


def update_drill(drill: Drill, fields: dict) -> Drill:
    """Change a drill's design."""
    for name in DRILL_FIELDS:
        setattr(drill, name, fields[name])
    db.session.commit()
    return drill


def set_archived(drill: Drill, archived: bool) -> None:
    """Archive a drill (its reps stay in the record) or bring it back."""
    drill.archived_at = clock.now() if archived else None
    db.session.commit()


def copy_drill(drill: Drill, goal: Goal) -> Drill:
    """Copy one of the learner's drills onto another of their goals."""
    if drill.learner_id != goal.learner_id:
        abort(404)
    return create_drill(goal, {name: getattr(drill, name) for name in DRILL_FIELDS})


def copyable_drills(goal: Goal) -> list[Drill]:
    """The learner's drills on their other goals, to copy onto this one."""
    return list(db.session.scalars(
        db.select(Drill).where(Drill.learner_id == goal.learner_id, Drill.goal_id != goal.id)
        .order_by(Drill.name).options(db.joinedload(Drill.goal))))
