"""Email addresses that no mail can reach: a message that says so, instead of "enter an address"."""

from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError

# Top-level names reserved by RFC 2606 and RFC 6761 (and the special-use registry email_validator reads):
# mail to them is never delivered, so a link sent there never arrives.
RESERVED_TOP_LEVEL = {"test", "invalid", "localhost", "example", "local", "onion", "arpa"}
# Second-level names reserved for documentation. They stay usable (the demo's accounts and the tests use
# them), but a sign-up there is told that its link will not arrive.
EXAMPLE_DOMAINS = {"example.com", "example.net", "example.org"}
FORMAT_MESSAGE = "Enter an email address like name@example.com."


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def reserved_domain(address: str) -> str | None:
    """The address's domain when it sits under a reserved top-level name (foo.test, localhost)."""
    domain = _domain(address)
    return domain if domain and domain.rpartition(".")[2] in RESERVED_TOP_LEVEL else None


def example_domain(address: str) -> str | None:
    """The address's domain when it is (or is under) example.com, example.net or example.org."""
    domain = _domain(address)
    return next((name for name in EXAMPLE_DOMAINS if domain == name or domain.endswith("." + name)), None)


def usable_address(form, field) -> None:
    """A form check: a well-formed address at a domain mail can reach, with a message naming what is wrong."""
    if not field.data:
        return
    reserved = reserved_domain(field.data)
    if reserved:
        raise ValidationError(f"“{reserved}” is reserved for testing: no mail can reach it. "
                              "Use an address you can open.")
    try:
        validate_email(field.data, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(FORMAT_MESSAGE) from error
