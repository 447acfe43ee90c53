"""The notebook rules of the file checks: every output cell is reviewed; output tables (HTML or
pandas' text) are read back and fail on small counts or record-level rows.

Locations are ``cell I, output J`` (from 0). Stripped notebooks pass.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from iaptkit.release.checks_tables import check_frame
from iaptkit.release.findings import Finding, PolicyFacts
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
    """A frame printed as pandas' text (``repr``) read back as text, or ``None``."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    match = re.search(r"\[(\d+) rows x (\d+) columns\]", text)
    if match:
        lines = lines[:-1]
    if len(lines) < 2:
        return None
    header = lines[0].split()
    body = [ln.split() for ln in lines[1:]]
    if not all(len(r) == len(header) + 1 for r in body):
        return None
    return pd.DataFrame([r[1:] for r in body], columns=header)


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
        for oi, output in enumerate(cell.get("outputs") or []):
            where = f"cell {ci}, output {oi}"
            data = output.get("data") or {}
            kind = output.get("output_type", "?")
            frame: pd.DataFrame | None = None
            html = data.get("text/html")
            if html is not None:
                frame = frame_from_html("".join(html) if isinstance(html, list) else str(html))
            plain = data.get("text/plain")
            if frame is None and plain is not None and kind == "execute_result":
                frame = frame_from_text("".join(plain) if isinstance(plain, list) else plain)
            inner = [] if frame is None else check_frame(frame, name, facts, where=where)
            bad = [f for f in inner if f.severity == "fail"]
            rows = 0 if frame is None else len(frame)
            shape = re.search(r"(\d+) rows", "".join(plain) if isinstance(plain, list) else "")
            many = rows >= RECORD_LEVEL_MIN_ROWS or (shape and int(shape.group(1)) >= 100)
            if bad:
                rules = sorted({f.rule for f in bad})
                findings.append(
                    Finding(
                        name,
                        where,
                        "notebook-table",
                        "fail",
                        f"output table shows {', '.join(rules)} "
                        f"({'; '.join(f.location.split(', ', 2)[-1] for f in bad[:3])})",
                    )
                )
            elif frame is not None and many:
                findings.append(
                    Finding(
                        name,
                        where,
                        "notebook-table",
                        "fail",
                        f"output shows a frame of {rows or shape.group(1)} rows: "  # type: ignore[union-attr]
                        "record-level or too detailed",
                    )
                )
            else:
                shown = ", ".join(sorted(data)) or output.get("name", kind)
                findings.append(
                    Finding(name, where, "notebook-output", "review", f"{kind} ({shown})")
                )
    return findings
