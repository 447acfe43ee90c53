"""File checks for outputs NOT made through the register (``iaptkit check PATH...``).

Rules (each finding names the file, the location and the rule):

================== ======== =============================================================
rule               severity what
================== ======== =============================================================
small-count        fail     a count-like cell inside the policy's suppressed range
unrounded-count    fail     a count-like cell not a multiple of the policy's rounding base
                            (``review`` when the policy leaves national counts unrounded)
identifier-column  fail     a column named like a person identifier (Person_ID, NHS number)
nhs-number         fail     a 10-digit value passing the NHS number modulus-11 check
postcode           fail     a value shaped like a full UK postcode
date-of-birth      fail     a column named like a date of birth
record-level       fail     many rows with a unique identifier-like value per row
notebook-output    review   a notebook output cell (every one is reported)
notebook-table     fail     a notebook output table with small counts or record-level rows
image              review   an image not registered with its protected data table
file-type          fail     a file type not on the allow-list (review if allowed)
unreadable         fail     a file that cannot be parsed
================== ======== =============================================================

Locations: ``row N`` counts data rows from 1 (the header line is not a row), ``column NAME``,
``sheet NAME`` for workbooks, ``cell I, output J`` (from 0) for notebooks. Count rules apply to
count-like columns only: whole numbers >= 0 (``*`` and other suppression marks allowed) in a
column not named like an id, code, date, rate, percentage, mean, score, age or decile. A file's
status is the worst of its findings (no finding: ``pass``). Stripped notebooks pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from iaptkit.errors import ConfigError, ReleaseError

__all__ = [
    "DEFAULT_ALLOWED",
    "FileReport",
    "Finding",
    "PolicyFacts",
    "check_command",
    "check_file",
    "check_paths",
    "is_nhs_number",
    "policy_facts",
]

TABLE_SUFFIXES = frozenset({".csv", ".xlsx"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".svg", ".gif"})
DEFAULT_ALLOWED = frozenset({".csv", ".xlsx", ".ipynb", *IMAGE_SUFFIXES})
RECORD_LEVEL_MIN_ROWS = 20
_ID_COLUMN = re.compile(
    r"^(person_?id|patient_?id|pseudo_?id|nhs_?(no|num|number)|nhsnumber|local_?patient_?id"
    r"|recordnumber|record_?id|mpi)$",
    re.IGNORECASE,
)
_DOB_COLUMN = re.compile(r"(birth|^dob$|_dob$|^dob_)", re.IGNORECASE)
_NOT_COUNT_COLUMN = re.compile(
    r"(id$|_id|code|year|month|date|rate|pct|percent|per_|ratio|mean|median|score|age|decile"
    r"|ci_|lower|upper|version|quintile|rank|order|index|^period)",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
_NHS_NUMBER = re.compile(r"^\d{3} ?\d{3} ?\d{4}$")
_ID_LIKE_VALUE = re.compile(r"^(?=(?:.*\d){4})[A-Za-z0-9_-]{8,}$")
_SUPPRESSED_MARKS = frozenset({"*", "[c]", "c", "x", "..", "-", "<5", "<10", "suppressed"})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One problem (or one item for review) in one file."""

    file: str
    location: str
    rule: str
    severity: str  # "fail" | "review"
    message: str

    def describe(self) -> str:
        """``rule at location: message``."""
        return f"{self.rule} at {self.location}: {self.message}"


@dataclass(frozen=True)
class FileReport:
    """The findings for one file and its status (worst finding; ``pass`` when none)."""

    file: str
    status: str
    findings: tuple[Finding, ...]
    policy_id: str | None = None
    policy_version: str | None = None


@dataclass(frozen=True)
class PolicyFacts:
    """What the file checks need from a disclosure-control policy."""

    id: str
    version: str
    threshold: int
    zeros_suppressed: bool
    rounding_base: int
    rounding_applies_to: str  # "all" | "sub-national" | "none"

    def suppressed(self, value: int) -> bool:
        """Whether a published count ``value`` lies in the policy's suppressed range."""
        return (0 < value < self.threshold) or (value == 0 and self.zeros_suppressed)


def _get(obj: Any, *paths: str) -> Any:
    for path in paths:
        cur = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
            if cur is None:
                break
        if cur is not None:
            return cur
    return None


def policy_facts(policy: Any) -> PolicyFacts:
    """Read threshold, zeros and rounding from a policy object, id or file.

    Notes
    -----
    Policies: disclosure-control.md, "Policies to ship"; loaded with
    :func:`iaptkit.sdc.load_policy`.

    Examples
    --------
    >>> facts = PolicyFacts("x", "1", threshold=10, zeros_suppressed=True, rounding_base=5,
    ...                     rounding_applies_to="all")
    >>> policy_facts(facts).threshold, facts.suppressed(0), facts.suppressed(10)
    (10, True, False)
    """
    if isinstance(policy, PolicyFacts):
        return policy
    if isinstance(policy, str | Path):
        from iaptkit.sdc.policies import load_policy

        policy = load_policy(policy)
    threshold = _get(policy, "threshold", "suppression.threshold")
    if threshold is None:
        raise ConfigError(f"Expected a policy with a threshold; found {policy!r}.")
    zeros = _get(policy, "zeros_suppressed", "suppress_zeros", "zeros", "suppression.zeros")
    if isinstance(zeros, str):
        zeros = zeros.lower() in ("suppressed", "suppress", "true", "yes")
    base = _get(policy, "rounding_base", "rounding.base") or 1
    applies = _get(policy, "rounding_applies_to", "rounding.applies_to") or "all"
    applies = str(getattr(applies, "value", applies))
    if int(base) <= 1:
        applies = "none"
    return PolicyFacts(
        id=str(_get(policy, "id") or "custom"),
        version=str(_get(policy, "version") or ""),
        threshold=int(threshold),
        zeros_suppressed=bool(zeros),
        rounding_base=int(base),
        rounding_applies_to=applies,
    )


def is_nhs_number(text: str) -> bool:
    """Whether ``text`` is a 10-digit NHS number with a valid modulus-11 check digit.

    Notes
    -----
    NHS Data Dictionary, "NHS NUMBER": weights 10..2 on the first nine digits; check digit
    ``11 - (sum mod 11)``, 11 becomes 0 and 10 is invalid.

    Examples
    --------
    >>> is_nhs_number("943 476 5919"), is_nhs_number("9434765918")
    (True, False)
    """
    if not _NHS_NUMBER.match(text.strip()):
        return False
    digits = [int(c) for c in text if c.isdigit()]
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


# --------------------------------------------------------------------------- tables


def _as_int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(float(text))
    return None


def _count_like(name: str, values: pd.Series) -> bool:
    if _NOT_COUNT_COLUMN.search(name) or _ID_COLUMN.match(name):
        return False
    present = [str(v).strip() for v in values if str(v).strip() not in ("", "nan", "<NA>")]
    numbers = [v for v in present if v.lower() not in _SUPPRESSED_MARKS]
    if not numbers:
        return False
    ints = [_as_int(v) for v in numbers]
    return all(i is not None and i >= 0 for i in ints)


def _record_level(texts: Sequence[str]) -> bool:
    """Many rows, each with its own identifier-like value (one row per person or referral)."""
    nonblank = [t for t in texts if t]
    return (
        len(texts) >= RECORD_LEVEL_MIN_ROWS
        and len(nonblank) == len(texts)
        and len(set(nonblank)) == len(texts)
        and all(_ID_LIKE_VALUE.match(t) for t in nonblank)
    )


def check_frame(
    frame: pd.DataFrame, file: str, facts: PolicyFacts, *, where: str = ""
) -> list[Finding]:
    """The table rules on one DataFrame (all values as read, strings allowed).

    Examples
    --------
    >>> facts = PolicyFacts("p", "1", 10, True, 5, "all")
    >>> frame = pd.DataFrame({"provider": ["A", "B"], "count": ["3", "15"]})
    >>> [(f.rule, f.location) for f in check_frame(frame, "t.csv", facts)]
    [('small-count', 'row 1, column count')]
    """
    findings: list[Finding] = []
    prefix = f"{where}, " if where else ""

    def add(location: str, rule: str, severity: str, message: str) -> None:
        findings.append(Finding(file, prefix + location, rule, severity, message))

    nrows = len(frame)
    texts_of = {
        str(col): [("" if pd.isna(v) else str(v).strip()) for v in frame[col]]
        for col in frame.columns
    }
    record_cols = {name for name, texts in texts_of.items() if _record_level(texts)}
    for col in frame.columns:
        name = str(col)
        values = frame[col]
        texts = texts_of[name]
        if _ID_COLUMN.match(name):
            add(f"column {name}", "identifier-column", "fail", "person identifier column")
            continue
        if _DOB_COLUMN.search(name):
            add(f"column {name}", "date-of-birth", "fail", "date of birth column")
            continue
        before = len(findings)
        for i, text in enumerate(texts, start=1):
            if text and is_nhs_number(text):
                add(f"row {i}, column {name}", "nhs-number", "fail", "valid NHS number")
            elif text and _POSTCODE.match(text):
                add(f"row {i}, column {name}", "postcode", "fail", f"postcode-shaped {text!r}")
        if name in record_cols:
            add(
                f"column {name}",
                "record-level",
                "fail",
                f"{nrows} rows, each with a unique identifier-like value: record-level data",
            )
            continue
        # once rows are people, or values identifiers, the count rules say nothing more
        if record_cols or len(findings) > before or not _count_like(name, values):
            continue
        for i, text in enumerate(texts, start=1):
            number = _as_int(text)
            if number is None:
                continue
            if facts.suppressed(number):
                add(
                    f"row {i}, column {name}",
                    "small-count",
                    "fail",
                    f"count {number} inside the suppressed range of policy {facts.id} "
                    f"(under {facts.threshold}{', zeros too' if facts.zeros_suppressed else ''})",
                )
            elif facts.rounding_applies_to != "none" and number % facts.rounding_base:
                severity = "fail" if facts.rounding_applies_to == "all" else "review"
                add(
                    f"row {i}, column {name}",
                    "unrounded-count",
                    severity,
                    f"count {number} is not rounded to the nearest {facts.rounding_base} "
                    f"(policy {facts.id} rounds {facts.rounding_applies_to} counts)",
                )
    return findings


def _check_table(path: Path, facts: PolicyFacts) -> list[Finding]:
    name = str(path)
    try:
        if path.suffix.lower() == ".csv":
            sheets = {"": pd.read_csv(path, dtype=str, keep_default_na=False)}
        else:
            sheets = {
                f"sheet {k}": v
                for k, v in pd.read_excel(path, sheet_name=None, dtype=str, header=0).items()
            }
    except Exception as exc:
        return [Finding(name, "file", "unreadable", "fail", f"cannot be read as a table: {exc}")]
    findings: list[Finding] = []
    for where, frame in sheets.items():
        findings.extend(check_frame(frame, name, facts, where=where))
    return findings


# --------------------------------------------------------------------------- notebooks


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


def _frame_from_html(html: str) -> pd.DataFrame | None:
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


def _frame_from_text(text: str) -> pd.DataFrame | None:
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


def _check_notebook(path: Path, facts: PolicyFacts) -> list[Finding]:
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
                frame = _frame_from_html("".join(html) if isinstance(html, list) else str(html))
            plain = data.get("text/plain")
            if frame is None and plain is not None and kind == "execute_result":
                frame = _frame_from_text("".join(plain) if isinstance(plain, list) else plain)
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


# --------------------------------------------------------------------------- files


def check_file(
    path: str | Path, *, policy: Any = "nhs-sde", allow: Iterable[str] = ()
) -> FileReport:
    """Check one file for export under a policy.

    Parameters
    ----------
    path
        The file.
    policy
        A policy object, id or YAML path (``iaptkit.sdc.load_policy``) or :class:`PolicyFacts`.
    allow
        Extra file suffixes (e.g. ``".txt"``) allowed for review instead of refused.

    Notes
    -----
    Rules: disclosure-control.md, "Output checking before export" (unrounded counts, record-level
    data, missing underlying data, wrong file types); NHS number check digit from the NHS Data
    Dictionary.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("provider,count\\nA,15\\nB,4\\n")
    >>> facts = PolicyFacts("nhs-sde", "1", 10, True, 5, "all")
    >>> report = check_file(folder / "t.csv", policy=facts)
    >>> report.status, [f.location for f in report.findings]
    ('fail', ['row 2, column count'])
    """
    file = Path(path)
    facts = policy_facts(policy)
    allowed = DEFAULT_ALLOWED | {s if s.startswith(".") else f".{s}" for s in allow}
    suffix = file.suffix.lower()
    name = str(file)
    findings: list[Finding]
    if file.is_symlink():
        findings = [Finding(name, "file", "file-type", "fail", "symbolic link: refused")]
    elif suffix not in allowed:
        findings = [
            Finding(
                name,
                "file",
                "file-type",
                "fail",
                f"file type {suffix or '(none)'} not allowed "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        ]
    elif suffix in TABLE_SUFFIXES:
        findings = _check_table(file, facts)
    elif suffix == ".ipynb":
        findings = _check_notebook(file, facts)
    elif suffix in IMAGE_SUFFIXES:
        findings = [
            Finding(name, "file", "image", "review", "image not registered with its data table")
        ]
    else:
        findings = [Finding(name, "file", "file-type", "review", f"allowed {suffix} file: read it")]
    statuses = {f.severity for f in findings}
    status = "fail" if "fail" in statuses else "review" if "review" in statuses else "pass"
    return FileReport(name, status, tuple(findings), facts.id, facts.version)


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir() and not path.is_symlink():
            files.extend(sorted(q for q in path.rglob("*") if q.is_file() or q.is_symlink()))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise ReleaseError(f"Expected a file or folder to check at {path}; found nothing.")
    return files


def check_paths(
    paths: Sequence[str | Path], *, policy: Any = "nhs-sde", allow: Iterable[str] = ()
) -> tuple[FileReport, ...]:
    """Check files and folders (recursively, sorted); one report per file."""
    facts = policy_facts(policy)
    allow = tuple(allow)
    return tuple(check_file(f, policy=facts, allow=allow) for f in _expand(paths))


def check_command(
    paths: Sequence[Path],
    *,
    policy: str = "nhs-sde",
    json_out: Path | None = None,
    allow: Sequence[str] = (),
) -> int:
    """``iaptkit check``: print findings to stderr, optionally write JSON; exit code 0 or 1.

    ``allow``: extra file suffixes accepted for review instead of refused (the allow-list).
    """
    from rich.console import Console
    from rich.markup import escape

    from iaptkit.release.register import write_atomic

    facts = policy_facts(policy)
    reports = check_paths(paths, policy=facts, allow=allow)
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"iaptkit check under policy {facts.id} {facts.version}")
    colour = {"pass": "green", "review": "yellow", "fail": "bold red"}
    for rep in reports:
        console.print(f"[{colour[rep.status]}]{rep.status.upper()}[/] {escape(rep.file)}")
        for f in rep.findings:
            line = f"    {f.location}  ({f.severity}) {f.rule}: {f.message}"
            console.print(escape(line))
    failed = [r for r in reports if r.status == "fail"]
    console.print(
        f"{len(reports)} file(s): {len(failed)} fail, "
        f"{sum(r.status == 'review' for r in reports)} review, "
        f"{sum(r.status == 'pass' for r in reports)} pass"
    )
    if json_out is not None:
        payload = {
            "policy_id": facts.id,
            "policy_version": facts.version,
            "files": [
                {
                    "file": r.file,
                    "status": r.status,
                    "findings": [asdict(f) for f in r.findings],
                }
                for r in reports
            ],
        }
        write_atomic(Path(json_out), json.dumps(payload, indent=2).encode("utf-8"))
    return 1 if failed else 0
