"""Signed links: one salt per purpose, an age limit, and a clear reason when a link is refused."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# Every purpose a signed token can have (links, and the device cookie); one signed for one purpose is
# recognised (and refused) in another.
PURPOSES = ("sign-up", "password-reset", "coach-invite", "email-action", "unsubscribe", "email-change", "device")


class LinkError(Exception):
    """A signed link that cannot be used, with the sentence to show the person."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"failforward:{purpose}")


def sign(purpose: str, payload: dict) -> str:
    """Sign `payload` for one purpose."""
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age_seconds: int) -> dict:
    """Return the payload of a link signed for `purpose`, or raise LinkError saying why not."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as error:
        raise LinkError("This link has expired. Ask for a new one.") from error
    except BadSignature as error:
        for other in PURPOSES:
            if other == purpose:
                continue
            try:
                _serializer(other).loads(token)
            except BadSignature:
                continue
            raise LinkError("This link is meant for something else.") from error
        raise LinkError("This link is damaged or incomplete. Copy the whole link from the email.") from error
