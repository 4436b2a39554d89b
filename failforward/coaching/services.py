"""Invites, links and contracts (the access rule is in coaching/access.py)."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, has_request_context, render_template

from failforward import clock
from failforward.accounts import throttle
from failforward.accounts.models import User
from failforward.coaching.access import active_link, link_or_404
from failforward.coaching.models import CoachingLink, Contract, Invite
from failforward.extensions import db
from failforward.mail.services import queue_mail, withdraw
from failforward.signing import LinkError, sign, unsign
from failforward.web import absolute_url

DEFAULT_FEEDBACK_DUE_HOURS = 24
CONTRACT_TERMS = ("experiment", "error", "incident", "near_miss", "failure")
DEFAULT_CONTRACT = {
    "experiment": "A planned, small try of something new, with the signal we will watch and a date to "
    "decide. An experiment that misses still did its job if we learn from it.",
    "error": "An action that did not go as intended: a wrong step, a slip, a misjudgement. Errors are "
    "expected while stretching; we log them, not hide them.",
    "incident": "Something that went wrong and had a real cost: a missed competition, a deadline, a "
    "session lost. An incident always gets a short written review.",
    "near_miss": "Something that almost went wrong and was caught in time. Near-misses are free lessons: "
    "we note what caught it.",
    "failure": "A goal or target not reached by its date, or a plan that did not work. Failure is a "
    "result to study, never a verdict on the person.",
    "review_thresholds": "3 misses on one drill in a week: write a lesson within 72 hours.\n"
    "A target week missed twice in a row: review the drill together at the next session.\n"
    "An incident: a blameless review within 72 hours.",
    "commitments": "We assume good intent.\nWe say what we see, kindly and plainly.\n"
    "We look for the system that made the mistake easy before we look at the person.\n"
    "We fix the process, not the people.",
}


class CoachingError(Exception):
    """A refusal to show to the person, e.g. an invite that cannot be accepted."""


# --- lists --------------------------------------------------------------------------------------

def is_coach(user: User) -> bool:
    """Does the person coach anyone right now? One EXISTS, nothing loaded, asked once a request: the menu's
    Queue link asks it on every page, and the home page's coach-only parts ask it before they query."""
    if not has_request_context():
        return _coaches_anyone(user)
    known = g.setdefault("coaches_anyone", {})
    if user.id not in known:
        known[user.id] = _coaches_anyone(user)
    return known[user.id]


def _coaches_anyone(user: User) -> bool:
    return bool(db.session.scalar(db.select(db.exists().where(
        CoachingLink.coach_id == user.id, CoachingLink.ended_at.is_(None)))))


def _links_changed() -> None:
    """A link began or ended: the request's answer to is_coach is out of date."""
    if has_request_context():
        g.pop("coaches_anyone", None)


def roster(coach: User) -> list[CoachingLink]:
    """The coach's active learners, by name (none, without a query, for someone the request already knows
    coaches no one)."""
    if has_request_context() and not is_coach(coach):
        return []
    return list(
        db.session.scalars(
            db.select(CoachingLink)
            .join(User, User.id == CoachingLink.learner_id)
            .where(CoachingLink.coach_id == coach.id, CoachingLink.ended_at.is_(None))
            .order_by(User.name)
            .options(db.contains_eager(CoachingLink.learner))
        )
    )


def coaches_of(learner: User) -> list[CoachingLink]:
    """The learner's active coaches, by name."""
    return list(
        db.session.scalars(
            db.select(CoachingLink)
            .join(User, User.id == CoachingLink.coach_id)
            .where(CoachingLink.learner_id == learner.id, CoachingLink.ended_at.is_(None))
            .order_by(User.name)
            .options(db.contains_eager(CoachingLink.coach))
        )
    )


def _open_invites(coach: User):
    return (db.select(Invite).where(Invite.coach_id == coach.id, Invite.used_at.is_(None),
                                    Invite.expires_at > clock.now()).order_by(Invite.created_at.desc()))


def open_invites(coach: User) -> list[Invite]:
    """Invites the coach made that are neither used nor expired, newest first."""
    return list(db.session.scalars(_open_invites(coach)))


def newest_open_invite(coach: User) -> Invite | None:
    """The coach's newest invite that anyone may still use (one made for an address is that person's)."""
    return db.session.scalar(_open_invites(coach).where(Invite.email.is_(None)).limit(1))


# --- invites ------------------------------------------------------------------------------------

def invite_token(invite: Invite) -> str:
    """The signed token that opens an invite."""
    return sign("coach-invite", {"i": invite.id, "n": invite.nonce})


@dataclass(frozen=True)
class CoachingPage:
    """The coaching page: the person's learners, their coaches, and the invites still open, with their links."""

    roster: list[CoachingLink]
    coaches: list[CoachingLink]
    invites: list[tuple[Invite, str]]


def coaching_page(person: User) -> CoachingPage:
    """What the coaching page shows `person`."""
    return CoachingPage(roster=roster(person), coaches=coaches_of(person),
                        invites=[(invite, invite_url(invite)) for invite in open_invites(person)])


def invite_url(invite: Invite) -> str:
    """The full link that opens an invite."""
    return absolute_url("coaching.show_invite", token=invite_token(invite))


def create_invite(coach: User, email: str | None, client: str | None = None) -> Invite:
    """Make a 14-day, single-use invite; when an address is given, email the link there too, limited per
    recipient and per client address (throttle.Throttled)."""
    email = email.strip().lower() if email else None
    if email:
        throttle.limit_mail(email, client)
    invite = Invite(
        coach_id=coach.id,
        email=email,
        nonce=secrets.token_urlsafe(24),
        expires_at=clock.now() + timedelta(days=current_app.config["INVITE_DAYS"]),
    )
    db.session.add(invite)
    db.session.flush()
    if invite.email:
        body = render_template("mail/invite.txt", coach=coach, url=invite_url(invite),
                               days=current_app.config["INVITE_DAYS"])
        queue_mail(f"coach-invite:{invite.id}", invite.email, f"{coach.name} invites you to failforward", body)
    db.session.commit()
    return invite


def invite_from_token(token: str, lock: bool = False) -> Invite:
    """The invite a link opens, or LinkError saying why it cannot be used; `lock` holds its row."""
    payload = unsign("coach-invite", token, current_app.config["INVITE_DAYS"] * 86400)
    invite = db.session.get(Invite, payload.get("i"), with_for_update=lock, populate_existing=lock)
    if invite is None or invite.nonce != payload.get("n"):
        raise LinkError("This invite was withdrawn. Ask your coach for a new one.")
    if invite.used_at is not None:
        raise LinkError("This invite has been used already. Ask your coach for a new one.")
    if invite.expires_at <= clock.now():
        raise LinkError("This invite has expired. Ask your coach for a new one.")
    return invite


def check_invite_for(invite: Invite, learner: User) -> None:
    """Raise CoachingError when this person cannot accept this invite."""
    if invite.coach_id == learner.id:
        raise CoachingError("This is your own invite. Send the link to your learner.")
    if invite.email and invite.email != learner.email:
        raise CoachingError("This invite was sent to another email address. Sign in with that address, "
                            "or ask your coach for an invite to yours.")
    if active_link(invite.coach_id, learner.id):
        raise CoachingError(f"{invite.coach.name} is already your coach.")


def accept_invite(token: str, learner: User) -> CoachingLink:
    """Link the learner to the inviting coach and propose the default contract."""
    # Locked until the commit: a second accept at the same moment (a double tap, or someone else with
    # the link) waits here on PostgreSQL, then finds the invite used. SQLite serialises POSTs already.
    invite = invite_from_token(token, lock=True)
    check_invite_for(invite, learner)
    invite.used_at, invite.used_by_id = clock.now(), learner.id
    link = CoachingLink(coach_id=invite.coach_id, learner_id=learner.id)
    db.session.add(link)
    db.session.flush()
    db.session.add(Contract(link_id=link.id, version=1, proposed_by_id=invite.coach_id,
                            feedback_due_hours=DEFAULT_FEEDBACK_DUE_HOURS, **DEFAULT_CONTRACT))
    db.session.commit()
    _links_changed()
    return link


def withdraw_invite(coach: User, invite_id: int) -> None:
    """Withdraw an unused invite (idempotent)."""
    invite = db.session.get(Invite, invite_id)
    if invite is None or invite.coach_id != coach.id:
        abort(404)
    if invite.used_at is None:
        db.session.delete(invite)
        db.session.commit()


# --- links and contracts ------------------------------------------------------------------------

def end_link(viewer: User, link: CoachingLink) -> None:
    """End a link; either side may. Access stops on the next request, and the mail waiting to tell
    the coach about the learner (held for quiet hours, say) is withdrawn. Ending twice does nothing."""
    if link.ended_at is None:
        link.ended_at, link.ended_by_id = clock.now(), viewer.id
        _links_changed()
        withdraw(recipient_id=link.coach_id, about_id=link.learner_id)
        db.session.commit()


def current_contract(link: CoachingLink) -> Contract:
    """The newest version of the link's contract."""
    return db.session.scalar(
        db.select(Contract).where(Contract.link_id == link.id).order_by(Contract.version.desc()).limit(1)
    )


@dataclass(frozen=True)
class ContractPage:
    """A link with the contract's newest version and the one in force (they differ while a change waits)."""

    link: CoachingLink
    contract: Contract
    in_force: Contract | None


def contract_page(viewer: User, link_id: int) -> ContractPage:
    """A link the viewer is a party to, with its contract; a 404 for anyone else."""
    link = link_or_404(viewer, link_id)
    return ContractPage(link=link, contract=current_contract(link), in_force=accepted_contract(link))


def accepted_contract(link: CoachingLink) -> Contract | None:
    """The newest version the learner accepted (the one in force)."""
    return db.session.scalar(
        db.select(Contract)
        .where(Contract.link_id == link.id, Contract.accepted_at.is_not(None))
        .order_by(Contract.version.desc())
        .limit(1)
    )


def feedback_due_hours(link: CoachingLink) -> int:
    """Hours a coach has to answer a feedback request on this link."""
    contract = accepted_contract(link)
    return contract.feedback_due_hours if contract else DEFAULT_FEEDBACK_DUE_HOURS


def propose_contract(coach: User, link: CoachingLink, terms: dict) -> Contract:
    """Propose a changed contract; it is in force only once the learner accepts it."""
    if coach.id != link.coach_id or not link.active:
        raise CoachingError("Only the coach of an active link can propose changes.")
    latest = current_contract(link)
    contract = Contract(link_id=link.id, version=latest.version + 1, proposed_by_id=coach.id, **terms)
    db.session.add(contract)
    db.session.commit()
    return contract


def accept_contract(learner: User, link: CoachingLink, version: int) -> Contract:
    """Record the learner's acceptance of one version (idempotent; an outdated version is refused)."""
    if learner.id != link.learner_id or not link.active:
        raise CoachingError("Only the learner of an active link can accept its contract.")
    contract = current_contract(link)
    if contract.version != version:
        raise CoachingError("The contract changed while you were reading it. Read the new version first.")
    if contract.accepted_at is None:
        contract.accepted_at = clock.now()
        db.session.commit()
    return contract
