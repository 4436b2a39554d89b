"""The headers that mail systems read, checked in the raw bytes the SMTP server received (not through
Python's forgiving parser): a literal List-Unsubscribe URL, Auto-Submitted, the sender's domain."""

import re
from datetime import UTC, datetime

import pytest

from tests.factories import log

LONG_BASE_URL = "https://coaching.example.org/" + "/".join(["a-rather-long-path-segment"] * 6)


def header_lines(raw: bytes) -> list[bytes]:
    """The header section's lines as received, without their line ends (folded lines stay separate)."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.split(b"\n")


def unfolded(raw: bytes) -> dict[bytes, bytes]:
    """Header name (lower case) to value, unfolded the RFC 5322 way: a line end before whitespace goes."""
    fields = re.sub(rb"\n(?=[ \t])", b"", b"\n".join(header_lines(raw))).split(b"\n")
    return {name.lower(): value.strip() for name, _, value in (field.partition(b":") for field in fields)}


@pytest.fixture
def long_base_url(app, clock):
    """A long BASE_URL, at a time of day outside quiet hours (a held mail would not arrive at all)."""
    app.config["BASE_URL"] = LONG_BASE_URL
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))


def test_a_long_unsubscribe_url_stays_literal_and_no_line_is_over_998(
        long_base_url, client, login, inbox, learner, coach, drill, the_link):
    login(learner)
    client.post(f"/reps/{log(learner, drill, 4.0).id}/feedback", data={"question": "Too slow?"})
    [raw] = inbox.raw
    value = unfolded(raw)[b"list-unsubscribe"]
    assert len(b"List-Unsubscribe: " + value) > 78  # long enough that it used to be encoded
    assert re.fullmatch(rb"<" + re.escape(LONG_BASE_URL.encode()) + rb"/unsubscribe/[\w.-]+>", value), value
    assert b"=?" not in b"\n".join(header_lines(raw))  # no encoded word anywhere in the header
    assert max(len(line) for line in raw.replace(b"\r\n", b"\n").split(b"\n")) <= 998
    assert unfolded(raw)[b"list-unsubscribe-post"] == b"List-Unsubscribe=One-Click"


def test_every_message_says_it_is_auto_generated(long_base_url, client, inbox, learner, coach, drill, the_link):
    client.post("/reset", data={"email": learner.email})
    client.post("/signup", data={"name": "Ada", "email": "ada@example.com", "password": "a long enough passphrase",
                                 "timezone": "UTC"})
    assert len(inbox.raw) == 2
    for raw in inbox.raw:
        assert b"Auto-Submitted: auto-generated" in header_lines(raw)


def test_the_message_id_carries_the_senders_domain(app, long_base_url, client, inbox, learner):
    client.post("/reset", data={"email": learner.email})  # the default sender, failforward@localhost
    app.config["MAIL_FROM"] = "Coaching <noreply@Mail.Example.net>"
    client.post("/reset", data={"email": learner.email})
    domains = [re.fullmatch(rb"<[^@<>]+@([^@<>]+)>", unfolded(raw)[b"message-id"]).group(1) for raw in inbox.raw]
    assert domains == [b"coaching.example.org", b"mail.example.net"]
