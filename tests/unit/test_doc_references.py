"""Every markdown document the repository refers to is in the repository.

iaptkit is installed in secure environments with no internet, so a reference in code, a
docstring, a notebook or a document must point at a file that ships with it. A reference
resolves when it names an existing file relative to the repository root, relative to the
referring file, or, for a bare file name, a file in ``docs/`` (so ``measures.md`` and
``docs/measures.md`` both resolve to ``docs/measures.md``). Web addresses are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Folders and single files scanned (notebooks as their JSON text).
SCANNED_DIRS = ("src", "tests", "notebooks", "benchmarks", "docs")
SCANNED_FILES = ("README.md", "Makefile")
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "__pycache__",
        ".ipynb_checkpoints",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "node_modules",
    }
)
MAX_BYTES = 5_000_000

#: A token naming a markdown file: letters, digits, ``_``, ``.``, ``/`` and ``-``, ending ``.md``.
MD_REFERENCE = re.compile(r"[\w./-]+\.md\b")
#: Web addresses, removed from a line before looking for references.
URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s\"'<>`)\]]+")

#: Tokens that look like references but name no document (with why).
NOT_REFERENCES = {
    "readme.md": "a file name a loading test writes into a temporary extract folder",
}

#: Places outside the repository that users never have (spelled in pieces so that this file
#: does not match itself).
OUTSIDE = ("shared" + "/domain", ".." + "/shared", "/work" + "/shared")


def _files() -> Iterator[Path]:
    for name in SCANNED_FILES:
        path = ROOT / name
        if path.is_file():
            yield path
    for folder in SCANNED_DIRS:
        base = ROOT / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(ROOT)
            if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in rel.parts):
                continue
            if path.is_file() and not path.is_symlink():
                yield path


def _text(path: Path) -> str | None:
    """The file's text, or ``None`` for binary and very large files."""
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _lines() -> Iterator[tuple[Path, int, str]]:
    for path in _files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            yield path, number, line


def references() -> Iterator[tuple[Path, int, str]]:
    """Every (file, line number, token) naming a markdown document, outside web addresses."""
    for path, number, line in _lines():
        for match in MD_REFERENCE.finditer(URL.sub(" ", line)):
            yield path, number, match.group(0)


def resolves(token: str, referrer: Path) -> bool:
    """Whether ``token`` names a file of the repository (see the module docstring)."""
    candidates = [ROOT / token, referrer.parent / token]
    if "/" not in token:
        candidates.append(DOCS / token)
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if resolved.is_file() and (resolved == ROOT or ROOT in resolved.parents):
            return True
    return False


def unresolved() -> list[str]:
    """``file:line: token`` for every reference that does not resolve."""
    problems = []
    for path, number, token in references():
        if token in NOT_REFERENCES or resolves(token, path):
            continue
        problems.append(f"{path.relative_to(ROOT)}:{number}: {token}")
    return problems


def test_scan_finds_references() -> None:
    # guards the scan itself: the documents refer to one another
    found = {token for path, _, token in references() if path.parent == DOCS}
    assert found, "no markdown references found in docs/: the scan is broken"


def test_every_markdown_reference_resolves_to_a_file_in_the_repository() -> None:
    problems = unresolved()
    assert not problems, (
        f"{len(problems)} reference(s) to markdown documents that are not in the repository "
        "(point them at docs/, e.g. docs/measures.md):\n" + "\n".join(problems)
    )


def test_nothing_refers_to_places_outside_the_repository() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path, number, line in _lines()
        if any(place in line for place in OUTSIDE)
    ]
    assert not problems, (
        f"{len(problems)} line(s) refer to folders users never have "
        f"({', '.join(OUTSIDE)}):\n" + "\n".join(problems)
    )


def test_resolution_rules() -> None:
    md = ".md"  # example names are built so that the scan does not find them in this file
    here = ROOT / "src" / "iaptkit" / "example.py"
    assert resolves(f"docs/measures{md}", here)
    assert resolves(f"measures{md}", here)  # a bare name found in docs/
    assert resolves(f"../docs/measures{md}", ROOT / "notebooks" / "x.ipynb")
    assert not resolves(f"no-such-document{md}", here)
    assert not resolves(f"shared/measures{md}", here)
    assert not resolves(f"../../../../measures{md}", here)
    line = f"see https://example.org/guide/README2{md} and docs/nothing-here{md}"
    tokens = [m.group(0) for m in MD_REFERENCE.finditer(URL.sub(" ", line))]
    assert tokens == [f"docs/nothing-here{md}"]
