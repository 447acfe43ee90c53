"""Writing the seal of an export: ``checksums/<file>.txt`` for the SACRO viewer and ``seal.json``
(sha256 of every file, manifest.json and results.json included, signed with Ed25519 when a key
is given; format in :mod:`iaptkit.release.signing`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from iaptkit.release.files import sha256_file, write_atomic
from iaptkit.release.signing import SEAL_NAME, make_seal, results_content_digest

__all__ = [
    "CHECKSUMS_DIR",
    "MANIFEST_FORMAT",
    "RESERVED",
    "export_files",
    "write_checksums",
    "write_seal",
]

MANIFEST_FORMAT = "iaptkit-export/2"
CHECKSUMS_DIR = "checksums"
RESERVED = frozenset({"manifest.json", "results.json", "report.html", SEAL_NAME, CHECKSUMS_DIR})


def export_files(folder: Path) -> dict[str, Path]:
    """Every file of an export by its relative POSIX path, except ``seal.json``.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "a.csv").write_text("x")
    >>> list(export_files(root))
    ['a.csv']
    """
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if (p.is_file() or p.is_symlink()) and p.relative_to(folder).as_posix() != SEAL_NAME
    }


def write_checksums(folder: Path, names: Iterable[str]) -> None:
    """``checksums/<name>.txt`` holding the sha256 hex of each exported file (SACRO viewer 0.2.1
    marks a file's checksum invalid without it)."""
    target = folder / CHECKSUMS_DIR
    target.mkdir(exist_ok=True)
    for name in names:
        write_atomic(target / f"{name}.txt", sha256_file(folder / name).encode("ascii"))


def write_seal(folder: Path, key: Ed25519PrivateKey | None) -> dict[str, Any]:
    """Write ``seal.json`` over every file now in ``folder``; returns the seal."""
    files = {name: sha256_file(path) for name, path in export_files(folder).items()}
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    seal = make_seal(files, results_content_digest(results), key)
    write_atomic(folder / SEAL_NAME, json.dumps(seal, indent=2).encode("utf-8"))
    return seal
