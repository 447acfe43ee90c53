"""Releases an output checker can trust: register, file checks, cross-output audit, bundle.

Typical use inside a notebook::

    from iaptkit.release import Release
    rel = Release.open_or_create("releases/2024-q1", title="Outcomes Q1", analyst="A. Analyst",
                                 extract_fingerprint=extract.fingerprint())
    rel.add_table(pt, description="...", population="...", denominators=["..."],
                  made_by="notebooks/02_outcomes_report.ipynb", parameters=params)

then, on the command line, ``iaptkit release build RELEASE_DIR -o EXPORT_DIR`` and
``iaptkit release verify EXPORT_DIR``; ``iaptkit check PATH...`` for files made elsewhere.

The modules, lowest first: ``files`` (atomic writes, checksums), ``outputs`` (the output record
and statuses), ``findings`` / ``identifiers`` / ``checks_tables`` / ``checks_notebooks`` /
``checks`` (file checks; ``freetext`` finds identifiers and counts of people in text), ``store``
(the register on disk), ``crossaudit`` (joint audit of a release's tables), ``register``
(:class:`Release`), ``acro`` (``results.json``), ``report`` (the HTML report, Jinja2 templates in
``templates/``), ``signing`` (Ed25519 keys and the seal's format), ``seal`` (checksums/ and
seal.json), ``provenance`` (no local paths in an export), ``published_audit`` (the cross-output
audit on published files), ``verify`` (trust nothing in an export), ``bundle`` (build). The
commands that print are in :mod:`iaptkit.cli.release`.
"""

from __future__ import annotations

from iaptkit.release.bundle import BuildResult, build, verify
from iaptkit.release.checks import check_file, check_paths
from iaptkit.release.findings import FileReport, Finding
from iaptkit.release.outputs import Output
from iaptkit.release.register import Release

__all__ = [
    "BuildResult",
    "FileReport",
    "Finding",
    "Output",
    "Release",
    "build",
    "check_file",
    "check_paths",
    "verify",
]
