"""Coaching rules: invites, links, the learning contract, and who may see a learner's data."""

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.exceptions import NotFound

from failforward.coaching import access, services
from failforward.coaching.models import CoachingLink, Invite
from failforward.extensions import db
from failforward.signing import LinkError, sign

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def link(coach, learner):
    """An active link between coach and learner, its default contract not yet accepted."""
    return services.accept_invite(services.invite_token(services.create_invite(coach, None)), learner)


def links_between(coach, learner) -> list[CoachingLink]:
    return list(db.session.scalars(db.select(CoachingLink).where(
        CoachingLink.coach_id == coach.id, CoachingLink.learner_id == learner.id)))


# --- invites ------------------------------------------------------------------------------------

def test_an_invite_lasts_fourteen_days_and_works_once(app, clock, coach, learner, make_user, inbox):
    clock.set(START)
    invite = services.create_invite(coach, None)
    assert invite.expires_at == START + timedelta(days=14)
    assert inbox.messages == []  # an invite without an address is only a link to copy
    token = services.invite_token(invite)

    link = services.accept_invite(token, learner)
    assert (link.coach_id, link.learner_id, link.active) == (coach.id, learner.id, True)
    assert (invite.used_at, invite.used_by_id) == (START, learner.id)
    with pytest.raises(LinkError, match="used already"):
        services.accept_invite(token, make_user())
    assert services.open_invites(coach) == []


def test_an_invite_to_a_named_address_is_emailed_and_its_link_opens_it(app, coach, learner, inbox):
    invite = services.create_invite(coach, "  Lee@Example.com ")
    assert invite.email == "lee@example.com"
    mail = inbox.last_to("lee@example.com")
    assert "Casey Coach" in mail["Subject"]
    body = inbox.body(mail)
    assert "14 days" in body
    url = next(word for word in body.split() if word.startswith("http://localhost/invite/"))
    link = services.accept_invite(url.rsplit("/", 1)[1], learner)
    assert link.coach_id == coach.id
    assert len(inbox.to("lee@example.com")) == 1


def test_accepting_your_own_invite_is_refused_and_leaves_it_usable(app, coach, learner):
    token = services.invite_token(services.create_invite(coach, None))
    with pytest.raises(services.CoachingError, match="your own invite"):
        services.accept_invite(token, coach)
    assert links_between(coach, coach) == []
    assert services.accept_invite(token, learner).learner_id == learner.id


def test_an_invite_for_another_address_is_refused(app, coach, learner, make_user):
    token = services.invite_token(services.create_invite(coach, "someone.else@example.com"))
    with pytest.raises(services.CoachingError, match="another email address"):
        services.accept_invite(token, learner)
    assert links_between(coach, learner) == []
    intended = make_user(email="someone.else@example.com")
    assert services.accept_invite(token, intended).learner_id == intended.id


def test_a_second_invite_from_your_current_coach_is_refused(app, coach, learner, link):
    token = services.invite_token(services.create_invite(coach, None))
    with pytest.raises(services.CoachingError, match="already your coach"):
        services.accept_invite(token, learner)
    assert links_between(coach, learner) == [link]


def test_an_expired_invite_is_refused(app, clock, coach, learner):
    clock.set(START)
    token = services.invite_token(services.create_invite(coach, None))
    clock.set(START + timedelta(days=14) - timedelta(minutes=1))
    assert services.invite_from_token(token).coach_id == coach.id
    clock.set(START + timedelta(days=14, seconds=1))
    with pytest.raises(LinkError, match="expired"):
        services.accept_invite(token, learner)
    assert links_between(coach, learner) == []
    assert services.open_invites(coach) == []


def test_a_withdrawn_invite_is_refused(app, coach, learner):
    invite = services.create_invite(coach, None)
    token = services.invite_token(invite)
    services.withdraw_invite(coach, invite.id)
    assert services.open_invites(coach) == []
    with pytest.raises(LinkError, match="withdrawn"):
        services.accept_invite(token, learner)


def test_only_the_coach_who_made_an_invite_can_withdraw_it(app, coach, learner):
    invite = services.create_invite(coach, None)
    with pytest.raises(NotFound):
        services.withdraw_invite(learner, invite.id)
    assert db.session.get(Invite, invite.id) is not None


def test_a_link_tampered_to_point_at_another_invite_is_refused(app, coach, learner):
    first = services.create_invite(coach, None)
    second = services.create_invite(coach, None)
    forged = sign("coach-invite", {"i": second.id, "n": first.nonce})
    with pytest.raises(LinkError, match="withdrawn"):
        services.accept_invite(forged, learner)


# --- the learning contract ----------------------------------------------------------------------

def test_accepting_an_invite_proposes_the_default_contract(app, coach, learner, link):
    contract = services.current_contract(link)
    assert contract.version == 1
    assert contract.proposed_by_id == coach.id
    assert contract.accepted_at is None
    assert contract.feedback_due_hours == services.DEFAULT_FEEDBACK_DUE_HOURS == 24
    for term, text in services.DEFAULT_CONTRACT.items():
        assert getattr(contract, term) == text
    assert services.accepted_contract(link) is None


def test_accepting_the_contract_records_when_and_accepting_again_changes_nothing(app, clock, learner, link):
    clock.set(START)
    contract = services.accept_contract(learner, link, 1)
    assert contract.accepted_at == START
    clock.set(START + timedelta(days=3))
    again = services.accept_contract(learner, link, 1)
    assert again.id == contract.id and again.accepted_at == START
    assert services.accepted_contract(link).version == 1


def test_only_the_learner_can_accept_the_contract(app, coach, make_user, link):
    for someone in (coach, make_user()):
        with pytest.raises(services.CoachingError, match="Only the learner"):
            services.accept_contract(someone, link, 1)
    assert services.current_contract(link).accepted_at is None


def test_a_proposed_change_needs_acceptance_before_it_applies(app, clock, coach, learner, link):
    clock.set(START)
    services.accept_contract(learner, link, 1)
    terms = {**services.DEFAULT_CONTRACT, "feedback_due_hours": 48, "commitments": "Answer within two days."}
    clock.set(START + timedelta(days=1))
    proposed = services.propose_contract(coach, link, terms)

    assert (proposed.version, proposed.accepted_at, proposed.proposed_by_id) == (2, None, coach.id)
    assert services.current_contract(link).version == 2
    assert services.accepted_contract(link).version == 1
    assert services.feedback_due_hours(link) == 24  # version 1 stays in force until accepted

    with pytest.raises(services.CoachingError, match="changed while you were reading"):
        services.accept_contract(learner, link, 1)
    clock.set(START + timedelta(days=2))
    services.accept_contract(learner, link, 2)
    assert services.accepted_contract(link).accepted_at == START + timedelta(days=2)
    assert services.feedback_due_hours(link) == 48


def test_feedback_due_hours_is_the_default_before_any_acceptance(app, coach, link):
    services.propose_contract(coach, link, {**services.DEFAULT_CONTRACT, "feedback_due_hours": 6})
    assert services.feedback_due_hours(link) == services.DEFAULT_FEEDBACK_DUE_HOURS


def test_only_the_coach_of_an_active_link_proposes_changes(app, coach, learner, link):
    terms = {**services.DEFAULT_CONTRACT, "feedback_due_hours": 12}
    with pytest.raises(services.CoachingError, match="Only the coach"):
        services.propose_contract(learner, link, terms)
    services.end_link(learner, link)
    with pytest.raises(services.CoachingError, match="Only the coach"):
        services.propose_contract(coach, link, terms)
    with pytest.raises(services.CoachingError, match="Only the learner"):
        services.accept_contract(learner, link, 1)
    assert services.current_contract(link).version == 1


# --- ending a link and who may see what ---------------------------------------------------------

@pytest.mark.parametrize("side", ["coach", "learner"])
def test_either_side_can_end_a_link_and_access_stops_at_once(app, clock, coach, learner, link, side):
    ender = coach if side == "coach" else learner
    assert access.can_view_learner(coach, learner.id)
    clock.set(START)
    services.end_link(ender, link)

    assert (link.active, link.ended_at, link.ended_by_id) == (False, START, ender.id)
    assert not access.can_view_learner(coach, learner.id)
    with pytest.raises(NotFound):
        access.learner_or_404(coach, learner.id)
    assert services.roster(coach) == [] and services.coaches_of(learner) == []
    assert access.link_or_404(ender, link.id) == link  # both keep the record of the link itself

    clock.set(START + timedelta(hours=1))
    services.end_link(coach if side == "learner" else learner, link)  # ending twice changes nothing
    assert (link.ended_at, link.ended_by_id) == (START, ender.id)


def test_a_new_invite_after_an_ended_link_starts_a_new_link(app, coach, learner, link):
    services.end_link(coach, link)
    again = services.accept_invite(services.invite_token(services.create_invite(coach, None)), learner)
    assert again.id != link.id and again.active
    assert services.current_contract(again).version == 1
    assert access.can_view_learner(coach, learner.id)


def test_who_can_view_a_learner(app, coach, learner, make_user, link):
    other_learner = make_user()
    services.accept_invite(services.invite_token(services.create_invite(coach, None)), other_learner)
    stranger = make_user()

    assert access.can_view_learner(learner, learner.id)  # yourself
    assert access.can_view_learner(coach, learner.id)  # your active coach
    assert not access.can_view_learner(learner, coach.id)  # a learner never sees the coach's own data
    assert not access.can_view_learner(stranger, learner.id)
    assert not access.can_view_learner(other_learner, learner.id)  # same coach, still not each other


def test_learner_or_404_returns_the_learner_or_hides_that_they_exist(app, coach, learner, make_user, link):
    stranger = make_user()
    assert access.learner_or_404(learner, learner.id) == learner
    assert access.learner_or_404(coach, learner.id) == learner
    for viewer, learner_id in ((stranger, learner.id), (learner, coach.id), (coach, 999_999)):
        with pytest.raises(NotFound):
            access.learner_or_404(viewer, learner_id)


def test_link_or_404_is_for_the_two_parties_only(app, coach, learner, make_user, link):
    assert access.link_or_404(coach, link.id) == access.link_or_404(learner, link.id) == link
    with pytest.raises(NotFound):
        access.link_or_404(make_user(), link.id)
    with pytest.raises(NotFound):
        access.link_or_404(coach, 999_999)


def test_roster_and_coaches_list_active_links_by_name(app, coach, learner, make_user, link):
    zoe = make_user(name="Zoe")
    abe = make_user(name="Abe")
    for person in (zoe, abe):
        services.accept_invite(services.invite_token(services.create_invite(coach, None)), person)
    assert [each.learner.name for each in services.roster(coach)] == ["Abe", "Lee Learner", "Zoe"]
    assert [each.coach.name for each in services.coaches_of(learner)] == ["Casey Coach"]
    assert services.roster(learner) == [] and services.coaches_of(coach) == []
