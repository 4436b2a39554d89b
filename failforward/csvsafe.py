"""Spreadsheet-safe cells for every export: text that a spreadsheet would run as a formula gets a leading quote."""

# OWASP's list for CSV injection: a cell that begins with one of these is, or turns into, a formula in Excel,
# LibreOffice and Google Sheets (a tab or carriage return first is how a formula slips past a simpler check).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _opens_a_formula(text: str) -> bool:
    # Through any leading quotes, so that text already starting "'=" gets a quote of its own and reads back as it was.
    return text.lstrip("'").startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """The cell to write for `text`: with a leading `'` when it would open a formula. A number such as "-3" gets
    one too, as OWASP advises: every cell of our exports is text a person typed (a coach may write in a learner's
    deck), and telling a harmless number from a formula is the spreadsheet's grammar, not ours to guess."""
    return "'" + text if _opens_a_formula(text) else text


def restore(cell: str) -> str:
    """The text that neutralise() wrote `cell` for, so that our own exports import back unchanged."""
    return cell[1:] if cell.startswith("'") and _opens_a_formula(cell) else cell
