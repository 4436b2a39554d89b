"""The one place that reads the time, so tests can move it."""

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Return the current time as an aware UTC datetime (or the time a test has set)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    """Pin the clock to `moment` (aware), or release it with None. For tests and demos only."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock only takes aware datetimes")
    _frozen = moment
