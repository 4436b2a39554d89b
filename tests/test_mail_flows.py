"""Email end to end through a real SMTP server: feedback requests, reminders and digests, quiet hours,
one-click unsubscribe (RFC 8058), the settings switches, retries after 4xx, failures after 5xx, the
outbox command and ops page, header injection, and the two parts of every message."""

import re
import smtplib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from failforward.accounts import services as accounts
from failforward.accounts.models import OPTIONAL_KINDS, EmailSwitch
from failforward.coaching import services as coaching
from failforward.extensions import db
from failforward.feedback import services as feedback
from failforward.mail.models import FAILED, PENDING, SENT, OutboxMessage
from tests.conftest import Inbox
from tests.factories import link, log, make_drill, make_goal, sweep, text

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning in UTC
TOKYO = ZoneInfo("Asia/Tokyo")


def body(message) -> str:
    return Inbox.body(message)


def path_of(url: str) -> str:
    assert url.startswith("http://localhost/"), url
    return url.removeprefix("http://localhost")


def outbox(**where) -> list[OutboxMessage]:
    db.session.expire_all()
    query = db.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def switch(person, kind: str, enabled: bool) -> None:
    db.session.merge(EmailSwitch(user_id=person.id, kind=kind, enabled=enabled))
    db.session.commit()


@pytest.fixture(autouse=True)
def _start(clock):
    clock.set(START)


@pytest.fixture
def coach(make_user, learner):
    coach = make_user(name="Casey Coach", email="casey@example.com")
    link(coach, learner)
    return coach


@pytest.fixture
def drill(learner):
    return make_drill(make_goal(learner))


@pytest.fixture
def ask(learner, drill, clock):
    """`ask(question)`: the learner logs a rep now and asks their coaches about it."""

    def do(question: str = "Was my triage order right?", who=None):
        person = who or learner
        the_drill = drill if who is None else make_drill(make_goal(person))
        rep = log(person, the_drill, 4.0, note="Two pages at once")
        return feedback.ask(person, rep, question)

    return do


# --- feedback requests ---------------------------------------------------------------------------

def test_each_active_coach_gets_one_email_at_once(app, client, login, inbox, make_user, learner, coach, ask):
    tokyo_coach = make_user(name="Tomo Coach", email="tomo@example.com", timezone="Asia/Tokyo")
    link(tokyo_coach, learner)
    former = make_user(name="Former Coach", email="former@example.com")
    coaching.end_link(former, link(former, learner))

    request = ask()

    assert sorted(m["To"] for m in inbox.messages) == ["casey@example.com", "tomo@example.com"]
    mail = inbox.last_to("casey@example.com")
    assert mail["Subject"] == "Lee Learner asks for feedback on Pager drill"
    text_part = body(mail)
    assert "Lee Learner asks for your feedback on Pager drill:" in text_part
    assert '4 min, hit ("Two pages at once").' in text_part
    assert "Their question: Was my triage order right?" in text_part
    assert "It is due by Tue 3 Mar, 09:00 (UTC)." in text_part
    # Each coach reads the due time in their own zone.
    assert "It is due by Tue 3 Mar, 18:00 (Asia/Tokyo)." in body(inbox.last_to("tomo@example.com"))

    answer_url = re.search(r"Answer here: (\S+)", text_part).group(1)
    assert path_of(answer_url) == f"/feedback/{request.id}"
    login(coach)
    page = client.get(path_of(answer_url))
    assert page.status_code == 200 and "Was my triage order right?" in text(page)
    assert f'action="/feedback/{request.id}/answer"' in text(page)

    ask("And this one?")  # a second request: one more email each, never a repeat of the first
    assert len(inbox.to("casey@example.com")) == 2 and len(inbox.to("tomo@example.com")) == 2


def test_a_coach_who_switched_requests_off_gets_none(app, inbox, make_user, learner, coach, ask):
    other = make_user(name="Other Coach", email="other@example.com")
    link(other, learner)
    switch(coach, "feedback-request", False)
    ask()
    assert inbox.to("casey@example.com") == []
    assert len(inbox.to("other@example.com")) == 1


def test_an_unanswered_request_sends_one_reminder_when_due(app, clock, inbox, coach, ask):
    request = ask()
    answered = ask("Answered in time?")
    feedback.answer(coach, answered, "Yes.")
    inbox.messages.clear()

    clock.set(request.due_at - timedelta(minutes=1))
    sweep()
    assert inbox.messages == []
    clock.set(request.due_at)
    sweep()
    sweep()
    clock.set(request.due_at + timedelta(days=1))
    sweep()
    [reminder] = inbox.messages
    assert (reminder["To"], reminder["Subject"]) == ("casey@example.com", "Overdue: feedback for Lee Learner")
    assert "request for feedback on Pager drill is now due, and nobody has answered yet" in body(reminder)
    assert f"Answer here: http://localhost/feedback/{request.id}" in body(reminder)


def test_a_request_about_an_old_rep_is_not_reminded_a_minute_after_it_was_asked(
        app, clock, inbox, learner, coach, drill):
    rep = log(learner, drill, 4.0, at=START - timedelta(days=2))
    request = feedback.ask(learner, rep, "From two days ago")
    assert request.due_at < START
    assert "It is due by Sun 1 Mar, 09:00 (UTC)." in body(inbox.last_to(coach.email))
    for minutes in (1, 2, 60 * 24):
        clock.set(START + timedelta(minutes=minutes))
        sweep()
    assert [m["Subject"] for m in inbox.to(coach.email)] == ["Lee Learner asks for feedback on Pager drill"]


def test_a_digest_coach_gets_one_morning_digest_instead_of_single_emails(
        app, clock, inbox, make_user, learner, ask):
    chicago = ZoneInfo("America/Chicago")
    coach = make_user(name="Dana Digest", email="dana@example.com", timezone="America/Chicago")
    link(coach, learner)
    switch(coach, "feedback-digest", True)
    other_learner = make_user(name="Kim Learner")
    link(coach, other_learner)

    first = ask()
    ask("Second one", who=other_learner)
    clock.set(first.due_at)  # both fall due unanswered: no reminder either
    sweep()
    assert inbox.to("dana@example.com") == []

    clock.set(datetime(2026, 3, 3, 7, 59, tzinfo=chicago))
    sweep()
    assert inbox.to("dana@example.com") == []
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=chicago))
    sweep()
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=chicago))
    sweep()
    [digest] = inbox.to("dana@example.com")
    assert digest["Subject"] == "2 feedback requests waiting"
    assert "- Lee Learner, Pager drill: due Tue 3 Mar, 03:00 (America/Chicago) (overdue)" in body(digest)
    assert "- Kim Learner, Pager drill" in body(digest)
    assert "Your queue: http://localhost/queue" in body(digest)

    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=chicago))
    sweep()
    assert len(inbox.to("dana@example.com")) == 2  # one each morning while requests wait
    feedback.answer(coach, first, "Done.")
    feedback.answer(coach, feedback.request_or_404(coach, first.id + 1), "Done too.")
    clock.set(datetime(2026, 3, 5, 8, 0, tzinfo=chicago))
    sweep()
    assert len(inbox.to("dana@example.com")) == 2  # nothing waiting: no digest


def test_a_digest_switched_on_in_the_evening_waits_for_the_morning_and_comes_once(
        app, clock, inbox, make_user, learner, ask):
    coach = make_user(name="Dana Digest", email="dana@example.com", timezone="Asia/Tokyo")
    link(coach, learner)
    ask()
    clock.set(datetime(2026, 3, 2, 22, 0, tzinfo=TOKYO))
    switch(coach, "feedback-digest", True)
    inbox.messages.clear()
    for hour in (22, 23):
        clock.set(datetime(2026, 3, 2, hour, 0, tzinfo=TOKYO))
        sweep()
    for hour in (7, 8, 9):
        clock.set(datetime(2026, 3, 3, hour, 0, tzinfo=TOKYO))
        sweep()
    assert [m["Subject"] for m in inbox.to("dana@example.com")] == ["1 feedback request waiting"]
    assert outbox(kind="feedback-digest")[0].sent_at == datetime(2026, 3, 3, 8, 0, tzinfo=TOKYO)


# --- quiet hours -----------------------------------------------------------------------------------

def test_a_request_at_2300_for_the_coach_waits_until_0700(app, clock, inbox, make_user, learner, ask):
    tomo = make_user(name="Tomo Coach", email="tomo@example.com", timezone="Asia/Tokyo")
    link(tomo, learner)
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=TOKYO))  # 14:00 UTC: a fine hour for the learner
    request = ask()
    [held] = outbox(recipient="tomo@example.com")
    assert (held.status, held.not_before) == (PENDING, datetime(2026, 3, 3, 7, 0, tzinfo=TOKYO))
    assert inbox.to("tomo@example.com") == []

    clock.set(datetime(2026, 3, 3, 6, 59, tzinfo=TOKYO))
    sweep()
    assert inbox.to("tomo@example.com") == []
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=TOKYO))
    sweep()
    assert [m["Subject"] for m in inbox.to("tomo@example.com")] == ["Lee Learner asks for feedback on Pager drill"]

    # Due 24 hours after the practice: 23:00 in Tokyo again, so the reminder waits too.
    assert request.due_at == datetime(2026, 3, 3, 23, 0, tzinfo=TOKYO)
    clock.set(request.due_at)
    sweep()
    assert len(inbox.to("tomo@example.com")) == 1
    clock.set(datetime(2026, 3, 4, 7, 0, tzinfo=TOKYO))
    sweep()
    sweep()
    assert [m["Subject"] for m in inbox.to("tomo@example.com")][1:] == ["Overdue: feedback for Lee Learner"]


def test_account_email_is_never_held_for_quiet_hours(app, client, clock, inbox, make_user):
    make_user(email="night@example.com", timezone="Asia/Tokyo")
    clock.set(datetime(2026, 3, 2, 3, 0, tzinfo=TOKYO))
    client.post("/reset", data={"email": "night@example.com"})
    assert len(inbox.to("night@example.com")) == 1  # the person asked for it just now


# --- unsubscribe (RFC 8058) and the settings page ---------------------------------------------------

def _one_of_each_optional_kind(clock, make_user, learner, coach, ask):
    """Make the app send one email of every optional kind that exists so far; return them by kind."""
    digest_coach = make_user(name="Dana Digest", email="dana@example.com")
    link(digest_coach, learner)
    switch(digest_coach, "feedback-digest", True)
    learner.checkin_always = True
    db.session.commit()
    request = ask()
    clock.set(request.due_at)
    sweep()  # the reminder
    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    sweep()  # the weekly check-in and the digest
    return {message.kind: message for message in outbox() if message.kind in OPTIONAL_KINDS}


def test_every_optional_email_has_one_click_unsubscribe_headers(app, clock, inbox, make_user, learner, coach, ask):
    sent = _one_of_each_optional_kind(clock, make_user, learner, coach, ask)
    assert set(sent) == {"feedback-request", "feedback-reminder", "feedback-digest", "weekly-checkin"}
    for kind, message in sent.items():
        received = next(m for m in inbox.messages if m["Message-ID"] == message.message_id)
        header = received["List-Unsubscribe"]
        assert re.fullmatch(r"<https?://[^<>\s]+/unsubscribe/[^<>\s]+>", header), (kind, header)
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", kind
        assert header.strip("<>") in body(received), kind  # and a link a person can click
    accounts.request_password_reset(learner.email)  # mail a person asked for has no unsubscribe
    reset = inbox.last_to(learner.email)
    assert reset["Subject"] == "Reset your failforward password" and reset["List-Unsubscribe"] is None


def test_unsubscribe_get_confirms_and_changes_nothing(app, client, inbox, learner, coach, ask):
    ask()
    url = inbox.last_to(coach.email)["List-Unsubscribe"].strip("<>")
    for _ in range(2):  # a mail scanner opens links too
        page = client.get(path_of(url))
        assert page.status_code == 200
        assert "Stop these emails?" in text(page) and OPTIONAL_KINDS["feedback-request"] in text(page)
    assert accounts.wants(coach, "feedback-request") is True


def test_one_click_post_without_csrf_or_session_switches_only_that_kind_off(
        app, clock, inbox, make_user, learner, coach, ask):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the mail provider posts without our token
    feedback.answer(coach, ask(), "Answered.")
    url = inbox.last_to(coach.email)["List-Unsubscribe"].strip("<>")
    provider = app.test_client(use_cookies=False)
    response = provider.post(path_of(url), data="List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Unsubscribed" in text(response)
    db.session.expire_all()
    assert accounts.email_switches(coach) == {kind: kind not in {"feedback-request", "feedback-digest"}
                                              for kind in OPTIONAL_KINDS}
    assert provider.post(path_of(url), data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 200  # idempotent

    inbox.messages.clear()
    request = ask("Next one")
    assert inbox.to(coach.email) == []
    # Reminders are another kind, still on.
    clock.set(request.due_at)
    sweep()
    assert [m["Subject"] for m in inbox.to(coach.email)] == ["Overdue: feedback for Lee Learner"]


def test_a_damaged_unsubscribe_link_is_refused_with_a_message(client):
    response = client.post("/unsubscribe/not-a-token")
    assert response.status_code == 400 and "damaged" in text(response)


def test_the_settings_page_has_a_switch_for_every_kind_and_saves_them(client, login, coach):
    login(coach)
    page = text(client.get("/settings"))
    for kind, label in OPTIONAL_KINDS.items():
        name = "mail_" + kind.replace("-", "_")
        assert label in page
        checkbox = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert ("checked" in checkbox) is (kind != "feedback-digest"), kind

    form = {"name": coach.name, "timezone": "UTC", "checkin_weekday": "0", "checkin_hour": "8",
            "email_opt_in": "y", "mail_feedback_digest": "y", "mail_weekly_checkin": "y", "mail_check_30": "y"}
    assert client.post("/settings", data=form).status_code == 303
    db.session.expire_all()
    assert accounts.email_switches(coach) == {"feedback-request": False, "feedback-reminder": False,
                                              "feedback-digest": True, "weekly-checkin": True, "check-30": True,
                                              "cycle-ended": False, "follow-up-due": False,
                                              "tripwire": False, "action-due": False, "action-check": False,
                                              "safety-pulse": False}
    page = text(client.get("/settings"))
    assert "checked" in re.search(r'<input[^>]*name="mail_feedback_digest"[^>]*>', page).group(0)
    assert "checked" not in re.search(r'<input[^>]*name="mail_feedback_request"[^>]*>', page).group(0)


# --- delivery failures -----------------------------------------------------------------------------

def test_a_451_keeps_the_message_pending_with_a_backoff_then_it_arrives(app, clock, inbox, coach, ask):
    inbox.reply = "451 try later"
    ask()
    [message] = outbox()
    assert message.status == PENDING and message.not_before > START and "451" in message.last_error
    assert inbox.messages == []

    inbox.reply = None
    sweep()  # not yet: the backoff holds it
    assert inbox.messages == []
    clock.set(message.not_before + timedelta(seconds=1))
    sweep()
    assert [m["Message-ID"] for m in inbox.messages] == [message.message_id]
    [message] = outbox()
    assert (message.status, message.attempts) == (SENT, 2)


def test_a_451_at_rcpt_greylisting_is_retried_with_the_backoff_and_arrives_once(
        app, client, clock, inbox, learner, coach, ask):
    inbox.rcpt_reply = "451 4.7.1 Greylisted, please try again later"
    ask()
    client.post("/reset", data={"email": learner.email})  # account mail too: a sign-up or reset link
    messages = outbox()
    assert [m.status for m in messages] == [PENDING, PENDING] and inbox.messages == []
    assert all(m.not_before > START and "451" in m.last_error and "Greylisted" in m.last_error for m in messages)

    inbox.rcpt_reply = None
    sweep()  # not yet: the backoff holds them
    assert inbox.messages == []
    clock.set(max(m.not_before for m in messages) + timedelta(seconds=1))
    sweep()
    sweep()
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(m.message_id for m in messages)
    assert [(m.status, m.attempts) for m in outbox()] == [(SENT, 2), (SENT, 2)]


def test_a_550_fails_for_good_and_shows_in_the_cli_and_ops_page_until_retried(
        app, client, runner, clock, inbox, make_user, coach, ask):
    operator = make_user(name="Olga Ops", email="ops@example.com")
    accounts.grant_operator("Ops@Example.com")
    inbox.reply = "550 no such mailbox"
    ask()
    [message] = outbox(recipient=coach.email)
    assert message.status == FAILED and "550" in message.last_error
    clock.set(START + timedelta(hours=1))
    sweep()  # a failed message is not retried by itself
    assert outbox(recipient=coach.email)[0].attempts == 1

    listed = runner.invoke(args=["outbox", "list", "--status", "failed"])
    assert listed.exit_code == 0
    assert "failed 1" in listed.output and coach.email in listed.output and message.key in listed.output
    assert "550" in listed.output

    signed_in = app.test_client()
    signed_in.post("/login", data={"email": coach.email, "password": "correct horse battery"})
    assert signed_in.get("/ops/outbox").status_code == 404
    assert signed_in.post(f"/ops/outbox/{message.id}/retry").status_code == 404
    assert client.post("/login", data={"email": operator.email, "password": "correct horse battery"}).status_code == 303
    page = client.get("/ops/outbox?status=failed")
    assert page.status_code == 200
    assert coach.email in text(page) and "550" in text(page) and "Retry" in text(page)

    inbox.reply = None
    retried = runner.invoke(args=["outbox", "retry", str(message.id)])
    assert retried.exit_code == 0 and "1 message(s) queued again." in retried.output
    assert [m["Message-ID"] for m in inbox.to(coach.email)] == [message.message_id]
    assert outbox(recipient=coach.email)[0].status == SENT

    inbox.reply = "550 no such mailbox"
    ask("Another")
    [failed] = outbox(status=FAILED)
    inbox.reply = None
    response = client.post(f"/ops/outbox/{failed.id}/retry")
    assert response.status_code == 303
    assert "Queued again." in text(client.get(response.location))
    assert outbox(id=failed.id)[0].status == SENT
    assert inbox.to(coach.email)[-1]["Message-ID"] == failed.message_id


# --- what every message looks like ----------------------------------------------------------------

def test_names_with_cr_lf_never_add_a_header(app, inbox, make_user, clock):
    learner = make_user(name="Lee\r\nBcc: victim@example.com", email="lee@example.com")
    coach = make_user(name="Casey\nX-Coach: yes", email="casey@example.com")
    link(coach, learner)
    drill = make_drill(make_goal(learner), name="Pager\r\nX-Injected: yes\r\n\r\n<b>body</b>")
    request = feedback.ask(learner, log(learner, drill, 4.0), "Line one\r\nReply-To: evil@example.com")
    clock.set(request.due_at)
    sweep()

    assert [m["To"] for m in inbox.messages] == ["casey@example.com", "casey@example.com"]
    for received in inbox.messages:
        assert set(received.keys()) == {"From", "To", "Subject", "Message-ID", "Date", "Auto-Submitted",
                                        "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Type", "MIME-Version"}
        assert "\n" not in received["Subject"] and "\r" not in received["Subject"]
    request_mail, reminder = inbox.messages
    assert request_mail["Subject"] == ("Lee Bcc: victim@example.com asks for feedback on "
                                       "Pager X-Injected: yes <b>body</b>")
    assert reminder["Subject"] == "Overdue: feedback for Lee Bcc: victim@example.com"


def test_every_message_has_a_plain_text_and_an_html_part(app, client, clock, inbox, make_user, learner, coach, ask):
    _one_of_each_optional_kind(clock, make_user, learner, coach, ask)
    client.post("/signup", data={"name": "Ada <b>Lovelace</b>", "email": "ada@example.com",
                                 "password": "a long enough passphrase", "timezone": "UTC"})
    kinds = {message.kind for message in outbox()}
    assert {"account", "feedback-request", "feedback-reminder", "feedback-digest", "weekly-checkin"} <= kinds
    assert len(inbox.messages) == len(outbox(status=SENT)) >= 6
    for received in inbox.messages:
        assert received.get_content_type() == "multipart/alternative", received["Subject"]
        plain = received.get_body(preferencelist=("plain",)).get_content()
        html = received.get_body(preferencelist=("html",)).get_content()
        assert plain.strip() and html.strip()
        for url in re.findall(r"https?://\S+", plain):
            assert f'<a href="{url}">' in html
        assert "<b>Lovelace</b>" not in html  # typed text is escaped in the HTML part


def test_a_message_the_server_cannot_take_fails_alone_and_the_rest_of_its_batch_goes(
        app, monkeypatch, inbox, make_user, learner, coach, ask):
    # A server without SMTPUTF8 cannot take an address with an accent in its local part.
    has_extension = smtplib.SMTP.has_extn
    monkeypatch.setattr(smtplib.SMTP, "has_extn",
                        lambda self, name: name.lower() != "smtputf8" and has_extension(self, name))
    accented = make_user(name="Anaïs Coach", email="anaïs@example.com")  # first in the batch
    link(accented, learner)
    ask()
    assert [m["To"] for m in inbox.messages] == ["casey@example.com"]
    [failed] = outbox(status=FAILED)
    assert failed.recipient == "anaïs@example.com" and "SMTPUTF8" in failed.last_error
