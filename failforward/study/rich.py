"""HTML in study items (from Anki files with `#html:true`): sanitised with nh3's allow-list, and as plain text.

Design: an item imported from HTML keeps its sanitised HTML in `prompt`/`answer` with `html` set, so a
long-time Anki user keeps bold, lists and line breaks. It is sanitised again every time it is shown
(`shown`), so nothing stored, edited or migrated can reach the page unsanitised; typed answers are
compared with the plain text (`plain`). A field whose HTML is only text and `<br>` is stored as plain
text instead, so exported plain items come back exactly as they were.
"""

import html
import re

import nh3
from markupsafe import Markup, escape

# Formatting only: no attributes (no style, class, href or src), so no links, pictures or scripts.
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "sub", "sup", "br", "p", "div", "span", "ul", "ol", "li",
                "code", "pre", "hr", "blockquote", "table", "thead", "tbody", "tr", "th", "td"}
_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|pre|blockquote|h\d)>", re.IGNORECASE)
_ONLY_BREAKS = re.compile(r"<(?!br>)[^>]*>", re.IGNORECASE)


def sanitise(markup: str) -> str:
    """The HTML with every tag and attribute outside the allow-list removed (script and style with
    their content)."""
    return nh3.clean(markup, tags=ALLOWED_TAGS, attributes={}, link_rel=None, strip_comments=True)


def plain(markup: str) -> str:
    """The text of some HTML, with line breaks where the blocks and `<br>` were."""
    text = nh3.clean(_BREAK.sub("\n", sanitise(markup)), tags=set(), attributes={})
    return html.unescape(text).strip()


def is_formatted(markup: str) -> bool:
    """True when sanitised HTML holds more than text and line breaks."""
    return bool(_ONLY_BREAKS.search(markup))


def shown(text: str, is_html: bool) -> Markup:
    """An item's field for a page: sanitised HTML for HTML items, escaped text for the others."""
    return Markup(sanitise(text)) if is_html else escape(text)


def to_html(text: str) -> str:
    """Plain text as HTML (for an export with `#html:true`): escaped, line breaks as `<br>`."""
    return html.escape(text, quote=False).replace("\n", "<br>")
