"""File checks for outputs NOT made through the register (``iaptkit check PATH...``).

:func:`check_file` picks the rules by file type: tables (:mod:`iaptkit.release.checks_tables`),
notebooks (:mod:`iaptkit.release.checks_notebooks`), images and the allow-list here.

Rules (each finding names the file, the location and the rule):

================== ======== =============================================================
rule               severity what
================== ======== =============================================================
small-count        fail     a count-like cell inside the policy's suppressed range, or a count
                            of people written in text ("3 people") inside it
unrounded-count    fail     a count-like cell not a multiple of the policy's rounding base
                            (``review`` when the policy leaves national counts unrounded)
identifier-column  fail     a column named like a person identifier (Person_ID, NHS number)
nhs-number         fail     a 10-digit value passing the NHS number modulus-11 check, a whole
                            cell or inside any text (cells, notebook markdown and outputs,
                            text files)
postcode           fail     a full UK postcode, a whole cell or inside text
date-of-birth      fail     a column named like a date of birth, or a date of birth in text
                            (:mod:`iaptkit.release.freetext`)
person-identifier  fail     a person-level identifier in text (after "Person_ID", "MRN", ...)
record-level       fail     many rows with a unique identifier-like value per row
notebook-output    review   a notebook output cell (every one is reported)
notebook-table     fail     a notebook output table with small counts or record-level rows
image              review   an image not registered with its protected data table
file-type          fail     a file type not on the allow-list (review if allowed)
unreadable         fail     a file that cannot be parsed
================== ======== =============================================================

Locations: ``row N`` counts data rows from 1 (the header line is not a row), ``column NAME``,
``sheet NAME`` for workbooks, ``cell I, output J`` or ``cell I (markdown)`` (from 0) for
notebooks, ``line N`` for text files (.txt, .md, ...: scanned for identifiers even when their
type is refused). Count rules apply to
count-like columns only: whole numbers >= 0 (``*`` and other suppression marks allowed) in a
column not named like an id, code, date, rate, percentage, mean, score, age or decile. A file's
status is the worst of its findings (no finding: ``pass``). Stripped notebooks pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from iaptkit.errors import ReleaseError
from iaptkit.release.checks_notebooks import check_notebook_file
from iaptkit.release.checks_tables import check_table_file
from iaptkit.release.findings import FileReport, Finding, PolicyFacts, policy_facts
from iaptkit.release.freetext import find_identifiers, find_small_counts
from iaptkit.release.outputs import IMAGE_SUFFIXES

__all__ = [
    "DEFAULT_ALLOWED",
    "TABLE_SUFFIXES",
    "TEXT_SUFFIXES",
    "check_file",
    "check_paths",
    "check_text_file",
]

TABLE_SUFFIXES = frozenset({".csv", ".xlsx"})
#: read as text and scanned for identifiers whether allowed or not
TEXT_SUFFIXES = frozenset({".txt", ".md", ".log", ".json", ".html", ".tex", ".rst", ".tsv"})
DEFAULT_ALLOWED = frozenset({".csv", ".xlsx", ".ipynb", *IMAGE_SUFFIXES})


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
    Rules: docs/disclosure-control.md, "Output checking before export" (unrounded counts,
    record-level data, missing underlying data, wrong file types); NHS number check digit from the
    NHS Data Dictionary.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("provider,count\\nA,15\\nB,4\\n")
    >>> from iaptkit.release.findings import PolicyFacts
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
        findings = check_table_file(file, facts)
    elif suffix == ".ipynb":
        findings = check_notebook_file(file, facts)
    elif suffix in IMAGE_SUFFIXES:
        findings = [
            Finding(name, "file", "image", "review", "image not registered with its data table")
        ]
    else:
        findings = [Finding(name, "file", "file-type", "review", f"allowed {suffix} file: read it")]
    if suffix in TEXT_SUFFIXES and not file.is_symlink():
        findings.extend(check_text_file(file, facts))
    statuses = {f.severity for f in findings}
    status = "fail" if "fail" in statuses else "review" if "review" in statuses else "pass"
    return FileReport(name, status, tuple(findings), facts.id, facts.version)


def check_text_file(path: Path, facts: PolicyFacts | None = None) -> list[Finding]:
    """Identifiers (and, with ``facts``, small counts of people) in a text file, one finding per
    hit with its ``line N``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> note = pathlib.Path(tempfile.mkdtemp()) / ("notes" + ".txt")
    >>> _ = note.write_text("Summary\\nClient PSN0001234567 seen twice\\n")
    >>> [(f.location, f.rule) for f in check_text_file(note)]
    [('line 2', 'person-identifier')]
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [Finding(name, "file", "unreadable", "fail", f"cannot be read: {exc}")]
    found = []
    for n, line in enumerate(text.splitlines(), start=1):
        for rule, what in find_identifiers(line):
            found.append(Finding(name, f"line {n}", rule, "fail", f"{rule} in the text ({what})"))
        if facts is not None:
            for count in find_small_counts(line, facts.threshold, facts.zeros_suppressed):
                found.append(
                    Finding(
                        name,
                        f"line {n}",
                        "small-count",
                        "fail",
                        f"text shows a count of {count} people, inside the suppressed range "
                        f"of policy {facts.id} (under {facts.threshold})",
                    )
                )
    return found


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
