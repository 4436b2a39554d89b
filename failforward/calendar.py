"""The calendar: a person's time zone, their today, and the weeks (Monday to Sunday) their figures use.

Times are stored in UTC; days and weeks are always the person's own, so a rep logged at 23:30 in
Auckland counts on the day and in the week the learner lived it.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from failforward import clock


class HasZone(Protocol):
    """A person (or a row of their columns) with a time zone name."""

    timezone: str


def zone_of(person: HasZone) -> ZoneInfo:
    """The person's time zone."""
    return ZoneInfo(person.timezone)


def today_in(zone: ZoneInfo) -> date:
    """Today's date in `zone`."""
    return clock.now().astimezone(zone).date()


def today_for(person: HasZone) -> date:
    """Today in the person's own calendar."""
    return today_in(zone_of(person))


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The moment a local day begins (as an aware datetime in `zone`)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def monday_of(day: date) -> date:
    """The Monday of the week a date falls in."""
    return day - timedelta(days=day.weekday())


def week_start(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday (local date) of the week a UTC moment falls in, in `zone`."""
    return monday_of(moment.astimezone(zone).date())


def week_bounds(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which a local week starts and the next one starts (DST-safe)."""
    return (day_start(monday, zone).astimezone(UTC),
            day_start(monday + timedelta(days=7), zone).astimezone(UTC))
