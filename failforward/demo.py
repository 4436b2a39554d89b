"""Demo data: a coach and two learners, linked, with an accepted contract. Safe to run twice."""

from failforward.accounts.models import User
from failforward.accounts.passwords import hash_password
from failforward.accounts.services import user_by_email
from failforward.coaching import services as coaching
from failforward.extensions import db

DEMO_PASSWORD = "practice-makes-progress"
DEMO_PEOPLE = (
    ("coach@example.com", "Casey Coach", "Europe/London"),
    ("lee@example.com", "Lee Learner", "Europe/Berlin"),
    ("sam@example.com", "Sam Student", "America/New_York"),
)


def create_demo_data() -> list[tuple[str, str]]:
    """Create the demo people and links if missing; return their sign-in details."""
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
        if coaching.active_link(coach.id, learner.id) is None:
            invite = coaching.create_invite(coach, None)
            link = coaching.accept_invite(coaching.invite_token(invite), learner)
            coaching.accept_contract(learner, link, 1)
    return [(email, DEMO_PASSWORD) for email, _, _ in DEMO_PEOPLE]
