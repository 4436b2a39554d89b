"""Importing study items from CSV or Anki text (a preview first, line by line) and exporting a deck."""

import csv
import io
from dataclasses import dataclass, field

from failforward import clock
from failforward.accounts.models import User
from failforward.csvsafe import neutralise, restore
from failforward.extensions import db
from failforward.study.models import Deck, StudyItem
from failforward.study.services import ANSWER_MAX, PROMPT_MAX, TAGS_MAX, clean_tags

IMPORT_MAX_LINES = 5000


@dataclass
class ImportLine:
    """One line of an import: either an item to add, or the reason it cannot be."""

    number: int
    text: str
    prompt: str = ""
    answer: str = ""
    tags: str = ""
    problem: str | None = None


@dataclass
class ImportPreview:
    """What an import would do, line by line."""

    good: list[ImportLine] = field(default_factory=list)
    bad: list[ImportLine] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.good) + len(self.bad)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 and ch != "\t" for ch in text)


def _shown(text: str, limit: int = 120) -> str:
    printable = "".join(ch if ch == "\t" or ord(ch) >= 32 else "\ufffd" for ch in text)
    return printable if len(printable) <= limit else printable[:limit] + "…"


def parse_import(data: bytes | str, deck: Deck | None = None) -> ImportPreview:
    """Read CSV or Anki's tab-separated export (front, back, tags) line by line: each line is either
    an item to add or reported with the reason. Lines are split on newlines; a quoted field may not
    span lines (Anki writes one note per line)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    existing = set()
    if deck is not None and deck.id is not None:
        existing = {(p, a) for p, a in db.session.execute(
            db.select(StudyItem.prompt, StudyItem.answer).where(StudyItem.deck_id == deck.id))}
    preview, seen, delimiter, tags_column = ImportPreview(), {}, None, 3
    for number, chunk in enumerate(chunks, start=1):
        line = ImportLine(number=number, text="")
        try:
            text = chunk.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            line.text, line.problem = _shown(chunk.decode("utf-8", "replace")), "This line is not UTF-8 text."
            preview.bad.append(line)
            continue
        line.text = _shown(text)
        if number > IMPORT_MAX_LINES:
            line.problem = f"Over the limit of {IMPORT_MAX_LINES:,} lines per import: import the rest separately."
        elif not text.strip():
            line.problem = "Empty line: skipped."
        elif text.startswith("#"):
            directive = text[1:].strip().lower()
            if directive.startswith("separator:"):
                delimiter = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}.get(
                    directive.split(":", 1)[1].strip(), delimiter)
            elif directive.startswith("tags column:") and directive.split(":", 1)[1].strip().isdigit():
                tags_column = int(directive.split(":", 1)[1].strip())
            line.problem = "An Anki header or comment line: read as a setting, not an item."
        elif "\ufffd" in text:
            line.problem = "This line is not UTF-8 text."
        elif _has_control(text):
            line.problem = "This line has invisible control characters."
        else:
            if delimiter is None:
                delimiter = "\t" if "\t" in text else ","
            _read_fields(line, text, delimiter, tags_column)
            if line.problem is None:
                key = (line.prompt, line.answer)
                if key in existing:
                    line.problem = "Already in this deck: skipped."
                elif key in seen:
                    line.problem = f"The same as line {seen[key]}: skipped."
                else:
                    seen[key] = number
        (preview.bad if line.problem else preview.good).append(line)
    return preview


def _read_fields(line: ImportLine, text: str, delimiter: str, tags_column: int) -> None:
    try:
        fields = next(csv.reader([text], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        line.problem = "Could not read the columns (a quote is not closed?)."
        return
    fields = [restore(f.strip()) for f in fields]
    if len(fields) < 2:
        line.problem = "Needs at least two columns: the prompt and the answer."
        return
    if len(fields) > max(3, tags_column):
        line.problem = f"Expected 2 or 3 columns (prompt, answer, tags), found {len(fields)}."
        return
    line.prompt, line.answer = fields[0], fields[1]
    line.tags = clean_tags(fields[tags_column - 1]) if len(fields) >= tags_column >= 3 else ""
    if not line.prompt or not line.answer:
        line.problem = "The prompt or the answer is empty."
    elif len(line.prompt) > PROMPT_MAX:
        line.problem = f"The prompt is longer than {PROMPT_MAX:,} characters."
    elif len(line.answer) > ANSWER_MAX:
        line.problem = f"The answer is longer than {ANSWER_MAX:,} characters."
    elif len(line.tags) > TAGS_MAX:
        line.problem = f"The tags are longer than {TAGS_MAX} characters."


def decode_upload(data: bytes) -> str:
    """An uploaded file as text; bytes that are not UTF-8 become U+FFFD, and their lines are reported."""
    return data.decode("utf-8", "replace")


def import_items(author: User, deck: Deck, data: bytes | str) -> ImportPreview:
    """Add the good lines of an import to the deck in one transaction; lines already there are skipped,
    so confirming twice adds nothing more."""
    preview = parse_import(data, deck)
    now = clock.now()
    db.session.add_all(
        StudyItem(deck_id=deck.id, learner_id=deck.learner_id, created_by_id=author.id, prompt=line.prompt,
                  answer=line.answer, tags=line.tags, self_judged=len(line.answer) > 80, due=now)
        for line in preview.good)
    db.session.commit()
    return preview


def export_deck(deck: Deck, tab_separated: bool) -> str:
    """The deck as CSV, or as tab-separated text with Anki's header lines (front, back, tags)."""
    out = io.StringIO()
    if tab_separated:
        out.write("#separator:tab\n#html:false\n#tags column:3\n")
    writer = csv.writer(out, delimiter="\t" if tab_separated else ",", lineterminator="\n")
    for prompt, answer, tags in db.session.execute(
            db.select(StudyItem.prompt, StudyItem.answer, StudyItem.tags)
            .where(StudyItem.deck_id == deck.id).order_by(StudyItem.id)):
        # One item per line: Anki reads newlines inside a field as a new note.
        writer.writerow([neutralise(prompt.replace("\r", "").replace("\n", " ")),
                         neutralise(answer.replace("\r", "").replace("\n", " ")), neutralise(tags)])
    return out.getvalue()


