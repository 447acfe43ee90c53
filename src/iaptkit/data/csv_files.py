"""Reading a table's text file: its header checked, and DuckDB's reader errors in one line.

A CSV (or pipe-separated ``.txt``) table is refused before any row is read when its header
repeats a column, is not UTF-8, or is one field written with another separator; a reader error
later in the file becomes one line naming the file, the table, the line and what was expected
(docs/ledger.md, "Fatal means stop").
"""

from __future__ import annotations

from pathlib import Path

from iaptkit.errors import ExtractError

__all__ = ["check_header", "read_error_message"]


def read_error_message(name: str, location: str, exc: BaseException) -> str:
    """A one-line message for a reader error: file, table, line, what was expected.

    The offending line's content is never repeated (it may hold personal data).

    Examples
    --------
    >>> e = ValueError("Invalid Input Error: CSV Error on Line: 672\\nOriginal Line: 1,2"
    ...                "\\nExpected Number of Columns: 10 Found: 5\\nmore")
    >>> read_error_message("IDS201CareContact", "x.csv", e)
    'Cannot read table IDS201CareContact from x.csv: line 672 has 5 fields, expected 10 (as in the header). Expected a complete, UTF-8 encoded file with one header line and the same number of fields on every line.'
    >>> e = ValueError("Invalid Input Error: CSV Error on Line: 9\\nOriginal Line: 1,999\\nMaximum "
    ...     "line size of 2000000 bytes exceeded. Actual Size:5000063 bytes.\\n\\n  file = x.csv"
    ...     "\\n  quote = \\" (Auto-Detected)")
    >>> read_error_message("IDS201CareContact", "x.csv", e).split(": ", 1)[1][:70]
    'line 9 is 5,000,063 bytes long, more than the 2,000,000 bytes a record'
    """  # noqa: E501
    import re

    text = str(exc)
    line = re.search(r"[Ll]ine:?\s*([0-9]+)", text)
    fields = re.search(r"Expected Number of Columns:\s*([0-9]+)\s*Found:\s*([0-9]+)", text)
    where = f"line {line.group(1)}" if line else "the file"
    # DuckDB's message ends with the dialect it used ("quote = ...", "file = ..."): not a cause
    head = text.split("\n  file =")[0]
    too_long = re.search(
        r"Maximum line size of ([0-9]+) bytes exceeded\. Actual Size:\s*([0-9]+)", head
    )
    if too_long:
        detail = (
            f"{where} is {int(too_long.group(2)):,} bytes long, more than the "
            f"{int(too_long.group(1)):,} bytes a record may hold (a damaged file, or line ends "
            "missing)"
        )
    elif fields:
        detail = (
            f"{where} has {fields.group(2)} fields, expected {fields.group(1)} (as in the header)"
        )
    elif "unicode" in head.lower() or "utf" in head.lower() or "encod" in head.lower():
        detail = f"{where} holds bytes that are not UTF-8"
    elif "quote" in head.lower():
        detail = f"{where} has a quote that is never closed (a truncated file?)"
    else:
        first = text.splitlines()[0].strip() if text.strip() else type(exc).__name__
        first = re.sub(r"^[A-Za-z ]*Error:\s*", "", first).rstrip(".")
        detail = f"{first}" + (f" ({where})" if line else "")
    if ".parquet" in location.lower():
        expected = "a complete Parquet file (a copy cut short, or another format, is not one)"
    else:
        expected = (
            "a complete, UTF-8 encoded file with one header line and the same number of "
            "fields on every line"
        )
    return f"Cannot read table {name} from {location}: {detail}. Expected {expected}."


def check_header(name: str, path: Path, delim: str) -> list[str]:
    """The header of a CSV; refuse one that repeats a column name (any case) or is not UTF-8.

    DuckDB would silently rename a repeated column (``EndCode_1``) and the second would be
    ignored.

    Returns
    -------
    list of str
        The column names, in order; a blank name (a comma at the end of every line) is named
        ``unnamed_<position>``, a column no rule reads.

    Raises
    ------
    ExtractError
        Naming the file, the table, the column and the header line.
    """
    import csv
    import gzip
    import io

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1_000_000)
    except OSError as exc:
        raise ExtractError(f"Cannot read table {name} from {path}: {exc}.") from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError(
            f"Cannot read table {name} from {path}: the header line (row 1) is not UTF-8 "
            f"(byte {exc.start}); expected a UTF-8 encoded file."
        ) from None
    header = next(csv.reader(io.StringIO(text), delimiter=delim), [])
    _refuse_other_separator(name, path, delim, header)
    seen: dict[str, str] = {}
    for col in header:
        key = col.strip().lower()
        if key and key in seen:
            raise ExtractError(
                f"Table {name} in {path} has the column {col!r} twice in its header (row 1; "
                f"also {seen[key]!r}): expected each column once."
            )
        seen[key] = col
    if not header:
        raise ExtractError(
            f"Table {name} in {path} is empty: expected a header line (row 1) naming the "
            f"columns of {name}, then one line per record."
        )
    # a blank column name (most often a comma at the end of every line) is a column nobody
    # reads: named by its position, so the file is read as written
    return [c if c.strip() else f"unnamed_{i + 1}" for i, c in enumerate(header)]


#: Separators a table file may be written with by mistake, by how a message names them.
_SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}


def _refuse_other_separator(name: str, path: Path, delim: str, header: list[str]) -> None:
    """Refuse a header that is one field holding another separator (a ``;`` or tab file).

    Read with the wrong separator, every line is one field, so every required column would
    be reported missing, and no row read: the cause is named instead.
    """
    if len(header) != 1:
        return
    others = [sep for sep in _SEPARATORS if sep != delim and header[0].count(sep) >= 2]
    if not others:
        return
    sep = max(others, key=header[0].count)
    raise ExtractError(
        f"Table {name} in {path}: the header line (row 1) is one field "
        f"{header[0][:60]!r}..., separated by {_SEPARATORS[sep]}; expected the columns "
        f"separated by {_SEPARATORS[delim]} ({'.txt files' if delim == '|' else '.csv files'})."
    )
