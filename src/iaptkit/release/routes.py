"""Every route registers: ``iaptkit measures ... --release DIR`` into a release folder.

:func:`register_measures_run` opens (or creates) the release, refuses a policy other than the
release's, names the output by ``--name`` or by measure families, period and breakdowns, and
refuses a clash with an existing output unless ``replace``. Outputs of different periods and
breakdowns coexist; the release's joint audit links their cells by their keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iaptkit.errors import ReleaseError
from iaptkit.release.cellkeys import KeyContext
from iaptkit.release.outputs import Output
from iaptkit.release.register import Release
from iaptkit.release.store import slug

__all__ = [
    "MADE_BY",
    "measures_output_name",
    "output_uid",
    "refuse_clash",
    "register_measures_run",
]

#: ``made_by`` of outputs registered by the command line.
MADE_BY = "iaptkit measures"


def measures_output_name(families: str, start: str, end: str, by: str) -> str:
    """The default output name of a ``measures`` run: families, period and breakdowns.

    Examples
    --------
    >>> measures_output_name("all", "2024-04-01", "2025-03-31", "england,provider x sex")
    'measures_all_2024_04_01_2025_03_31_england_provider_x_sex'
    """
    return slug(f"measures {families} {start} {end} {by}")


def output_uid(name: str | None, parameters: Mapping[str, Any]) -> str:
    """The uid a ``measures`` run registers under: ``--name``, or the run's default name."""
    p = dict(parameters)
    default = measures_output_name(
        str(p.get("families")), str(p.get("start")), str(p.get("end")), str(p.get("by"))
    )
    return slug(name or default)


def refuse_clash(release_dir: str | Path, uid: str, policy: str, replace: bool) -> None:
    """Refuse, before any work, an output name already taken or a release of another policy.

    Raises
    ------
    ReleaseError
        See :func:`register_measures_run`.
    """
    folder = Path(release_dir)
    if not (folder / "release.json").is_file():
        return
    rel = Release.open(folder)
    others = sorted({str(o.policy_id) for o in rel.outputs if o.policy_id} - {policy})
    if others:
        raise ReleaseError(
            f"--release {rel.path}: expected outputs under policy {policy} (--policy); the "
            f"release holds outputs under {', '.join(others)}. Use one policy per release."
        )
    existing = next((o for o in rel.outputs if o.uid == uid), None)
    if existing is not None and not replace:
        raise ReleaseError(
            f"--release {rel.path}: an output {uid!r} is already registered (made by "
            f"{existing.made_by or 'unknown'} with {dict(existing.parameters)}); give "
            "another --name, or --replace to replace it."
        )


def register_measures_run(
    release_dir: str | Path,
    pm: Any,
    *,
    name: str | None,
    replace: bool,
    parameters: Mapping[str, Any],
    fingerprint: str,
) -> Output:
    """Register a ``measures`` result (``ProtectedMeasures``) in the release at ``release_dir``.

    Raises
    ------
    ReleaseError
        The release's outputs were made under another policy, or an output of that name
        exists (and ``replace`` is false).
    """
    uid = output_uid(name, parameters)
    refuse_clash(release_dir, uid, str(pm.policy.id), replace)
    rel = Release.open_or_create(release_dir, extract_fingerprint=fingerprint or None)
    if any(o.uid == uid for o in rel.outputs):
        rel.remove(uid)
    p = dict(parameters)
    versions = (
        pm.cells["definitions_version"].dropna().astype(str).unique()
        if "definitions_version" in pm.cells.columns
        else []
    )
    ctx = KeyContext(
        fingerprint=fingerprint,
        definitions_version=str(versions[0]) if len(versions) == 1 else "",
    )
    return rel.add_table(
        pm,
        name=uid,
        description=f"Published measures {p.get('start')} to {p.get('end')} by {p.get('by')}",
        population=f"pathways {p.get('start')} to {p.get('end')}",
        made_by=MADE_BY,
        parameters=p,
        cell_keys=ctx,
    )
