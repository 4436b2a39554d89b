"""Hypothesis on the CSV/TSV import: arbitrary bytes never crash it; every line is imported or reported."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failforward.study import exchange, services

LINE_BITS = st.sampled_from([b"\t", b",", b'"', b"\r", b"#separator:tab", b"#tags column:2", b"\x00", b"\xff",
                             "é🙂\u202e".encode(), b"front", b"back", b" ", b"#html:true", b"#guid column:1",
                             b"<b>", b"<script>", b"[sound:a.mp3]", b"tags:"])


def expected_lines(data: bytes) -> int:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    pieces = body.split(b"\n")
    return len(pieces) - (1 if pieces[-1] == b"" else 0)


def check(data: bytes) -> None:
    preview = exchange.parse_import(data)
    assert preview.lines == expected_lines(data)
    # Every line is reported once: alone, or inside the record whose quoted field spans it.
    records = preview.good + preview.bad + preview.header_lines
    numbers = sorted(n for line in records for n in range(line.number, max(line.number, line.last) + 1))
    assert numbers == list(range(1, preview.lines + 1))
    for line in preview.good:
        assert line.prompt and line.answer and line.problem is None
        assert len(line.prompt) <= services.PROMPT_MAX and len(line.answer) <= services.ANSWER_MAX
        assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in line.prompt + line.answer)
    assert all(line.problem for line in preview.bad)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_import(data):
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(LINE_BITS, max_size=8).map(b"".join), max_size=30).map(b"\n".join))
def test_csv_and_anki_like_lines_are_each_imported_or_reported(data):
    check(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
def test_pasted_text_never_crashes_the_import(text):
    check(text.encode("utf-8", "surrogatepass"))
