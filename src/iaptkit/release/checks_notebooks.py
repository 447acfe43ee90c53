"""The notebook rules of the file checks: every output cell is reviewed; output tables (HTML,
pandas' text in results or printed to a stream) are read back and fail on small counts, unrounded
counts or record-level rows like the same table in a CSV; markdown cells and every output's text
are scanned for identifiers (:mod:`iaptkit.release.freetext`).

Locations are ``cell I, output J`` or ``cell I (markdown)`` (from 0). Stripped notebooks with
clean markdown pass.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from iaptkit.release.checks_tables import check_frame
from iaptkit.release.findings import Finding, PolicyFacts
from iaptkit.release.freetext import find_identifiers, find_small_counts
from iaptkit.release.identifiers import RECORD_LEVEL_MIN_ROWS

__all__ = ["check_notebook_file", "frame_from_html", "frame_from_text"]


class _TableParser(HTMLParser):
    """Collects the rows of HTML tables (cells' text), standard library only."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def frame_from_html(html: str) -> pd.DataFrame | None:
    """The first HTML table in ``html`` as a frame of text (its first column, the index, gone)."""
    if "<table" not in html.lower():
        return None
    parser = _TableParser()
    parser.feed(html)
    rows = [r for r in parser.rows if r]
    if len(rows) < 2:
        return None
    header, body = rows[0], rows[1:]
    width = max(len(r) for r in body)
    header = ([""] * (width - len(header)) + header)[-width:]
    names = [h or f"col{i}" for i, h in enumerate(header)]
    body = [(r + [""] * width)[:width] for r in body]
    frame = pd.DataFrame(body, columns=pd.Index(names).astype(str))
    return frame.iloc[:, 1:] if width > 1 else frame  # first column is the index


def frame_from_text(text: str) -> pd.DataFrame | None:
    """A frame or series printed as pandas' text (``repr``) read back as text, or ``None``.

    Examples
    --------
    >>> frame_from_text("          n\\nprovider   \\nA         3\\nB        15").to_dict("list")
    {'n': ['3', '15']}
    >>> frame_from_text("provider\\nA     3\\nB    15\\nName: n, dtype: int64").to_dict("list")
    {'n': ['3', '15']}
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not re.fullmatch(r"\s*\[\d+ rows x \d+ columns\]\s*", ln)]
    name = "value"
    if lines and (
        series := re.match(r"\s*(?:Name: ([^,]+), )?(?:Length: \d+, )?dtype: \w+", lines[-1])
    ):
        name = series.group(1) or name
        lines = lines[:-1]
        if lines and len(lines[0].split()) == 1 and all(len(ln.split()) == 2 for ln in lines[1:]):
            lines = lines[1:]  # the index name
        if lines and all(len(ln.split()) == 2 for ln in lines):
            return pd.DataFrame({name: [ln.split()[1] for ln in lines]})
        return None
    if len(lines) < 2:
        return None
    header = lines[0].split()
    body = [ln.split() for ln in lines[1:]]
    if body and len(body[0]) < len(header) + 1 and all(len(r) == len(header) + 1 for r in body[1:]):
        body = body[1:]  # the index names' line
    if not body or not all(len(r) == len(header) + 1 for r in body):
        return None
    return pd.DataFrame([r[1:] for r in body], columns=header)


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _output_texts(output: dict[str, object]) -> list[str]:
    """Every text an output shows: stream, plain, HTML (tags dropped), markdown, errors."""
    data = output.get("data") or {}
    texts = [_text(output.get("text"))] if output.get("output_type") == "stream" else []
    if isinstance(data, dict):
        for mime in ("text/plain", "text/markdown", "text/latex"):
            if mime in data:
                texts.append(_text(data[mime]))
        if "text/html" in data:
            texts.append(re.sub(r"<[^>]+>", " ", _text(data["text/html"])))
    if output.get("output_type") == "error":
        texts.append(_text(output.get("evalue")))
    return [t for t in texts if t.strip()]


def _identifier_findings(
    name: str, where: str, text: str, facts: PolicyFacts | None = None
) -> list[Finding]:
    found = [
        Finding(name, where, rule, "fail", f"{rule} in the text ({what})")
        for rule, what in find_identifiers(text)
    ]
    if facts is not None:
        found += [
            Finding(
                name,
                where,
                "small-count",
                "fail",
                f"text shows a count of {n} people, inside the suppressed range of policy "
                f"{facts.id} (under {facts.threshold})",
            )
            for n in find_small_counts(text, facts.threshold, facts.zeros_suppressed)
        ]
    return found


def check_notebook_file(path: Path, facts: PolicyFacts) -> list[Finding]:
    """The notebook rules on every output of every cell of an ``.ipynb`` file."""
    name = str(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as exc:
        return [Finding(name, "file", "unreadable", "fail", f"not a notebook: {exc}")]
    findings: list[Finding] = []
    for ci, cell in enumerate(cells):
        if cell.get("cell_type") in ("markdown", "raw"):
            where = f"cell {ci} ({cell.get('cell_type')})"
            findings.extend(_identifier_findings(name, where, _text(cell.get("source")), facts))
        for oi, output in enumerate(cell.get("outputs") or []):
            where = f"cell {ci}, output {oi}"
            findings.extend(_output_findings(name, where, output, facts))
    return findings


def _output_findings(
    name: str, where: str, output: dict[str, object], facts: PolicyFacts
) -> list[Finding]:
    data = output.get("data") or {}
    data = data if isinstance(data, dict) else {}
    kind = str(output.get("output_type", "?"))
    found: list[Finding] = []
    for text in _output_texts(output):
        found.extend(_identifier_findings(name, where, text, facts))
    frames: list[pd.DataFrame] = []
    html = data.get("text/html")
    if html is not None:
        frame = frame_from_html(_text(html))
        if frame is not None:
            frames.append(frame)
    plain = _text(data.get("text/plain")) if "text/plain" in data else ""
    printed = [plain] if plain and not frames else []
    if kind == "stream":
        printed.append(_text(output.get("text")))
    for text in printed:
        for block in re.split(r"\n\s*\n", text):
            frame = frame_from_text(block)
            if frame is not None:
                frames.append(frame)
    bad: list[Finding] = []
    for frame in frames:
        bad += [f for f in check_frame(frame, name, facts, where=where) if f.severity == "fail"]
    rows = max((len(f) for f in frames), default=0)
    shape = re.search(r"(\d+) rows", plain)
    many = rows >= RECORD_LEVEL_MIN_ROWS or bool(shape and int(shape.group(1)) >= 100)
    if bad:
        rules = sorted({f.rule for f in bad})
        shown = "; ".join(f.location.split(", ", 2)[-1] + f" ({f.message})" for f in bad[:3])
        found.append(
            Finding(
                name, where, "notebook-table", "fail", f"output shows {', '.join(rules)}: {shown}"
            )
        )
    elif frames and many:
        count = rows if rows >= RECORD_LEVEL_MIN_ROWS else shape.group(1) if shape else rows
        found.append(
            Finding(
                name,
                where,
                "notebook-table",
                "fail",
                f"output shows a frame of {count} rows: record-level or too detailed",
            )
        )
    elif not found:
        shown = ", ".join(sorted(data)) or str(output.get("name", kind))
        found.append(Finding(name, where, "notebook-output", "review", f"{kind} ({shown})"))
    return found
