"""Importing study items from CSV or Anki's plain text (a preview first, record by record) and exporting a deck.

The import reads Anki's text dialect as Anki 2.1.55+ writes and reads it (rslib/src/import_export/text/csv):
an optional first line `tags:` and then `#key:value` header lines, then CSV records in which a quoted
field may span lines.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from failforward import clock
from failforward.accounts.models import User
from failforward.csvsafe import neutralise, restore
from failforward.extensions import db
from failforward.study import rich
from failforward.study.models import GUID_MAX, Deck, StudyItem, new_guid
from failforward.study.services import ANSWER_MAX, PROMPT_MAX, TAGS_MAX, clean_tags

IMPORT_MAX_LINES = 5000
# A quoted field may span lines (spreadsheets write them); a quote still open after this many lines is
# reported on the line that opened it, so one stray quote cannot swallow the rest of the file.
RECORD_MAX_LINES = 50
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "space": " ", "pipe": "|", "colon": ":"}
# Field names that mean the prompt and the answer in Anki's stock note types (Basic, Cloze) and elsewhere.
PROMPT_NAMES = ("front", "question", "text")
ANSWER_NAMES = ("back", "answer", "extra")
# Anki decides a file without `#html:` is HTML when any field of its first records looks like a tag.
HTML_SNIFF_RECORDS = 5
_LOOKS_LIKE_HTML = re.compile(r"<!--.*?-->|<.*?>", re.DOTALL)
_SOUND = re.compile(r"\[sound:([^\]]*)\]")
_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMAGE_SOURCE = re.compile(r"""src\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)


@dataclass
class ImportLine:
    """One record of an import (a line, or several when a quoted field spans them): either an item to add,
    or the reason it cannot be."""

    number: int
    text: str
    last: int = 0  # the record's last line, when it spans several
    prompt: str = ""
    answer: str = ""
    tags: str = ""
    guid: str = ""
    html: bool = False
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lines(self) -> str:
        return f"{self.number}–{self.last}" if self.last > self.number else str(self.number)


@dataclass
class AnkiHeader:
    """What the header lines of an Anki text file say (column numbers are 1-based; 0 means none)."""

    delimiter: str | None = None
    html: bool | None = None
    columns: str = ""
    labels: list[str] = field(default_factory=list)
    global_tags: str = ""
    deck: str = ""
    notetype: str = ""
    guid_column: int = 0
    tags_column: int = 0
    deck_column: int = 0
    notetype_column: int = 0
    # Any header line read: the file is Anki's, written for Anki, not a spreadsheet's CSV.
    anki: bool = False

    def read(self, key: str, value: str) -> bool:
        """Take one `#key:value` line; False for a key Anki does not know (a comment)."""
        key = key.strip().lower()
        number = int(value.strip()) if value.strip().isdigit() else None
        if key == "separator":
            named = value.strip().lower()
            self.delimiter = DELIMITERS.get(named) or (value if value in DELIMITERS.values() else self.delimiter)
        elif key == "html" and value.strip().lower() in ("true", "false"):
            self.html = value.strip().lower() == "true"
        elif key == "tags":
            self.global_tags = clean_tags(value)
        elif key in ("columns", "deck", "notetype"):
            setattr(self, key, value.strip())
        elif key.endswith(" column") and key.removesuffix(" column") in ("guid", "tags", "deck", "notetype"):
            setattr(self, key.replace(" ", "_"), number or 0)
        else:
            return False
        self.anki = True
        return True

    def meta_columns(self) -> set[int]:
        """The columns that hold Anki's own data rather than fields."""
        return {self.guid_column, self.tags_column, self.deck_column, self.notetype_column} - {0}

    def summary(self) -> list[str]:
        """What the preview says it read, in the learner's words."""
        said = []
        if self.delimiter is not None:
            name = next(n for n, c in DELIMITERS.items() if c == self.delimiter)
            said.append(f"Columns separated by {name}.")
        if self.html:
            said.append("Fields are HTML: formatting is kept, scripts, links and pictures are not.")
        if self.labels:
            said.append("Column names: " + ", ".join(label for label in self.labels if label) + ".")
        if self.deck or self.deck_column or self.notetype or self.notetype_column:
            said.append("Anki’s deck and note type are not used: every item goes into this deck.")
        if self.global_tags:
            said.append(f"Tags for every item: {self.global_tags}.")
        return said


@dataclass
class ImportPreview:
    """What an import would do, record by record."""

    good: list[ImportLine] = field(default_factory=list)
    bad: list[ImportLine] = field(default_factory=list)
    header: AnkiHeader = field(default_factory=AnkiHeader)
    header_lines: list[ImportLine] = field(default_factory=list)  # read as settings or comments, not items

    @property
    def lines(self) -> int:
        return max((max(line.number, line.last) for line in self.good + self.bad + self.header_lines), default=0)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\n" for ch in text)


def _shown(text: str, limit: int = 120) -> str:
    printable = "".join(ch if ch == "\t" else " ⏎ " if ch == "\n" else ch if ord(ch) >= 32 else "\ufffd"
                        for ch in text)
    return printable if len(printable) <= limit else printable[:limit] + "…"


def _decoded_lines(data: bytes | str) -> list[tuple[int, str | None, str]]:
    """Each line's number, its text (None when it is not UTF-8), and how to show it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    chunks = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            text = chunk.removesuffix(b"\r").decode("utf-8")
            lines.append((number, text, _shown(text)))
        except UnicodeDecodeError:
            lines.append((number, None, _shown(chunk.decode("utf-8", "replace"))))
    return lines


def _read_header(lines: list[tuple[int, str | None, str]], preview: ImportPreview) -> int:
    """Read the header lines at the top (a first line `tags:`, then `#` lines), as Anki does; returns how
    many there were."""
    header = preview.header
    count = 0
    for number, text, shown in lines:
        if text is None or number > IMPORT_MAX_LINES:
            break
        if number == 1 and text.startswith("tags:"):
            header.global_tags = clean_tags(text.removeprefix("tags:"))
        elif not text.startswith("#"):
            break
        elif ":" in text and header.read(*text[1:].split(":", 1)):
            pass
        else:
            preview.header_lines.append(ImportLine(number, shown, problem="A comment line: skipped."))
            count += 1
            continue
        preview.header_lines.append(ImportLine(number, shown, problem="Anki header: read as a setting."))
        count += 1
    if header.columns:
        header.labels = next(csv.reader([header.columns], delimiter=header.delimiter or "\t"), [])
    return count


def _records(lines: list[tuple[int, str | None, str]], delimiter: str,
             preview: ImportPreview) -> Iterator[tuple[ImportLine, list[str]]]:
    """The records after the header, each with its fields; lines that are not records go to `preview.bad`."""
    position = 0
    while position < len(lines):
        number, text, shown = lines[position]
        line = ImportLine(number, shown)
        position += 1
        if number > IMPORT_MAX_LINES:
            line.problem = f"Over the limit of {IMPORT_MAX_LINES:,} lines per import: import the rest separately."
        elif text is None or "\ufffd" in text:
            line.problem = "This line is not UTF-8 text."
        elif not text.strip():
            line.problem = "Empty line: skipped."
        elif text.startswith("#"):
            line.problem = "A comment line (it starts with #): skipped."
        elif _has_control(text):
            line.problem = "This line has invisible control characters."
        else:
            fields, used = _fields(lines, position - 1, delimiter)
            if fields is None:
                line.problem = "Could not read the columns (a quote is not closed?)."
            else:
                position += used - 1
                if used > 1:
                    line.last = number + used - 1
                    line.text = _shown("\n".join(t or "" for _, t, _ in lines[position - used:position]))
                yield line, fields
                continue
        preview.bad.append(line)


def _fields(lines: list[tuple[int, str | None, str]], start: int, delimiter: str) -> tuple[list[str] | None, int]:
    """The fields of the record that starts at `lines[start]`, and how many lines it spans."""
    used = 0

    def source() -> Iterator[str]:
        nonlocal used
        for _, text, _ in lines[start:start + RECORD_MAX_LINES]:
            if text is None:
                return
            used += 1
            yield text + "\n"

    try:
        return next(csv.reader(source(), delimiter=delimiter, strict=True)), used
    except (csv.Error, StopIteration):
        return None, used


def _guessed_delimiter(first: str) -> str:
    """The separator of a file without `#separator`: a tab when its first record has one; else commas, unless
    only semicolons split that record (a spreadsheet's CSV where the decimal mark is a comma, as Excel
    writes it in much of Europe)."""
    if "\t" in first:
        return "\t"
    for delimiter in (",", ";"):
        try:
            if len(next(csv.reader([first], delimiter=delimiter), [])) > 1:
                return delimiter
        except csv.Error:  # a stray carriage return, say: the record is reported when it is read
            break
    return ","


def parse_import(data: bytes | str, deck: Deck | None = None) -> ImportPreview:
    """Read CSV or Anki's plain text record by record: each is either an item to add or reported with the
    reason. Anki's header lines say the separator, HTML, column names and which columns hold the guid,
    tags, deck and note type; without them the first record says the separator (_guessed_delimiter)."""
    lines = _decoded_lines(data)
    preview = ImportPreview()
    header = preview.header
    rest = lines[_read_header(lines, preview):]
    if header.delimiter is None:
        delimiter = _guessed_delimiter(next((t for _, t, _ in rest if t and t.strip() and not t.startswith("#")), ""))
        header.delimiter = ";" if delimiter == ";" else None  # the one guess the preview says
    else:
        delimiter = header.delimiter
    records = list(_records(rest, delimiter, preview))
    if header.html is None:
        header.html = any(_LOOKS_LIKE_HTML.search(value) for _, fields in records[:HTML_SNIFF_RECORDS]
                          for value in fields)
    existing, guids = set(), set()
    if deck is not None and deck.id is not None:
        for prompt, answer, guid in db.session.execute(
                db.select(StudyItem.prompt, StudyItem.answer, StudyItem.guid).where(StudyItem.deck_id == deck.id)):
            existing.add((prompt, answer))
            guids.add(guid)
    seen: dict[tuple[str, str], int] = {}
    seen_guids: dict[str, int] = {}
    for line, fields in records:
        _read_fields(line, fields, header)
        if line.problem is None:
            key = (line.prompt, line.answer)
            if line.guid in guids or key in existing:
                line.problem = "Already in this deck: skipped."
            elif line.guid in seen_guids or key in seen:
                line.problem = f"The same as line {seen_guids.get(line.guid) or seen[key]}: skipped."
            else:
                seen[key] = line.number
                if line.guid:
                    seen_guids[line.guid] = line.number
        (preview.bad if line.problem else preview.good).append(line)
    preview.bad.sort(key=lambda line: line.number)
    return preview


def _column(fields: list[str], number: int) -> str:
    return fields[number - 1] if 0 < number <= len(fields) else ""


def _read_fields(line: ImportLine, fields: list[str], header: AnkiHeader) -> None:
    """Map a record's fields onto the prompt, answer, tags and guid, as Anki maps them onto a note type."""
    # A spreadsheet's CSV (ours among them) may carry cells neutralised against formulas; Anki's files do not.
    fields = [value.strip() if header.anki else restore(value.strip()) for value in fields]
    if any(_has_control(value) for value in fields):
        line.problem = "This line has invisible control characters."
        return
    meta = header.meta_columns()
    remaining = [(number, value) for number, value in enumerate(fields, start=1) if number not in meta]
    if len(remaining) < 2:
        line.problem = "Needs at least two columns: the prompt and the answer."
        return
    names = {number: label.strip().lower() for number, label in enumerate(header.labels, start=1)}
    by_name = {names[number]: (number, value) for number, value in remaining if number in names}
    prompt = next((by_name[name] for name in PROMPT_NAMES if name in by_name), remaining[0])
    answer = next((by_name[name] for name in ANSWER_NAMES if name in by_name),
                  next(column for column in remaining if column != prompt))
    others = [column for column in remaining if column not in (prompt, answer)]
    # Without a tags column, Anki takes the first column after the mapped fields (prompt, answer, tags:
    # the shape this app always read) unless #columns gave it a field's name; a column named "tags" is tags.
    tags_column = header.tags_column or next((number for number, _ in others if names.get(number) == "tags"), 0) \
        or next((number for number, _ in others if number > max(prompt[0], answer[0]) and not names.get(number)), 0)
    tags = _column(fields, tags_column)
    others = [column for column in others if column[0] != tags_column]
    if others and not header.labels:
        line.problem = f"Expected 2 or 3 columns (prompt, answer, tags), found {len(fields)}."
        return
    left_out = [header.labels[number - 1] or f"column {number}" for number, value in others
                if value and number <= len(header.labels)]
    if left_out:
        line.notes.append("Left out: " + ", ".join(left_out) + ".")
    line.guid = _column(fields, header.guid_column)
    line.tags = clean_tags(f"{header.global_tags} {tags}")
    _set_text(line, prompt[1], answer[1], bool(header.html))
    if not line.prompt or not line.answer:
        line.problem = "The prompt or the answer is empty."
    elif len(line.prompt) > PROMPT_MAX:
        line.problem = f"The prompt is longer than {PROMPT_MAX:,} characters."
    elif len(line.answer) > ANSWER_MAX:
        line.problem = f"The answer is longer than {ANSWER_MAX:,} characters."
    elif len(line.tags) > TAGS_MAX:
        line.problem = f"The tags are longer than {TAGS_MAX} characters."
    elif len(line.guid) > GUID_MAX:
        line.problem = f"The Anki guid is longer than {GUID_MAX} characters."


def _set_text(line: ImportLine, prompt: str, answer: str, is_html: bool) -> None:
    """The prompt and answer without media (noted), and, for HTML, sanitised: kept as HTML when it has
    formatting, else as plain text."""
    dropped = []
    values = []
    for value in (prompt, answer):
        dropped += [f"sound {name}" for name in _SOUND.findall(value)]
        value = _SOUND.sub("", value)
        if is_html:
            for image in _IMAGE.findall(value):
                source = _IMAGE_SOURCE.search(image)
                dropped.append(f"picture {source.group(1)}" if source and source.group(1) else "a picture")
            if _SCRIPT.search(value):
                line.notes.append("A script was removed.")
            value = rich.sanitise(_IMAGE.sub("", value)).strip()
        values.append(value)
    if dropped:
        line.notes.append("Media left out (files are not imported): " + ", ".join(dropped) + ".")
    line.html = is_html and any(rich.is_formatted(value) for value in values)
    line.prompt, line.answer = values if line.html or not is_html else (rich.plain(v) for v in values)


def decode_upload(data: bytes) -> str:
    """An uploaded file as text; bytes that are not UTF-8 become U+FFFD, and their lines are reported."""
    return data.decode("utf-8", "replace")


def import_items(author: User, deck: Deck, data: bytes | str) -> ImportPreview:
    """Add the good records of an import to the deck in one transaction; items already there (the same
    Anki guid, or the same prompt and answer) are skipped, so confirming twice adds nothing more."""
    preview = parse_import(data, deck)
    now = clock.now()
    db.session.add_all(
        StudyItem(deck_id=deck.id, learner_id=deck.learner_id, created_by_id=author.id, prompt=line.prompt,
                  answer=line.answer, tags=line.tags, guid=line.guid or new_guid(), html=line.html,
                  self_judged=len(rich.plain(line.answer) if line.html else line.answer) > 80, due=now)
        for line in preview.good)
    db.session.commit()
    return preview


def export_deck(deck: Deck, tab_separated: bool) -> str:
    """The deck as CSV (prompt, answer, tags; plain text), or in Anki's text dialect: HTML fields with the
    guid and tags columns named, so Anki imports it into Basic notes and a re-import updates, not doubles."""
    out = io.StringIO()
    delimiter = "\t" if tab_separated else ","
    if tab_separated:
        out.write("#separator:tab\n#html:true\n#notetype:Basic\n")
        out.write(f"#deck:{' '.join(deck.name.split())}\n#columns:guid\tFront\tBack\ttags\n")
        out.write("#guid column:1\n#tags column:4\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    # A line that starts with # is a comment to Anki and to this import, and a first line `tags:` is read
    # as tags: a record starting so is quoted whole, as Anki's own writer quotes it.
    quoted = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for prompt, answer, tags, guid, is_html in db.session.execute(
            db.select(StudyItem.prompt, StudyItem.answer, StudyItem.tags, StudyItem.guid, StudyItem.html)
            .where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)):
        prompt, answer = (value.replace("\r\n", "\n").replace("\r", "\n") for value in (prompt, answer))
        if tab_separated:
            prompt, answer = ((rich.sanitise(v) if is_html else rich.to_html(v)) for v in (prompt, answer))
            cells = [guid, prompt, answer, tags]
        else:
            # A quoted field may hold line breaks: spreadsheets and this import read it as one item. No cell
            # may start a formula in a spreadsheet (csvsafe); this import reads the neutralised cells back.
            cells = [neutralise(cell) for cell in [rich.plain(v) if is_html else v for v in (prompt, answer)] + [tags]]
        (quoted if cells[0].startswith(("#", "tags:")) else writer).writerow(cells)
    return out.getvalue()
