"""The release report: one self-contained HTML page for the output checker.

Two copies are made by ``iaptkit release build``:

- ``mode="checker"`` (written inside the release, ``RELEASE_DIR/checker/report.html``): every
  output with its content, primary and secondary suppressions told apart and the underlying
  true counts beside each suppressed cell, internal audit intervals;
- ``mode="export"`` (in the export bundle): every output's status and reasons, but content only
  for exported outputs, suppressed cells all shown alike, no underlying counts.

At the top: a summary (counts by status, the review items with their reasons, the exceptions
requested), a legend and an index linking to every output's section (``#out-<uid>``); outputs
follow, failures and review items first. Colours are those of :mod:`iaptkit.charts.palette`
(CSS custom properties), the same as the notebook display of protected tables.

Inline CSS, images as data URIs, no scripts or external assets. The page is rendered with
Jinja2 from ``templates/report.html`` (sections in ``templates/parts.html``) with autoescaping
on: this module only gathers plain values, the templates hold the markup.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
import pandas as pd
from markupsafe import Markup

from iaptkit._version import __version__
from iaptkit.charts.palette import css_variables
from iaptkit.release.acro import wide_view
from iaptkit.release.files import write_atomic
from iaptkit.release.joint import export_safe, stored_summary
from iaptkit.release.outputs import Output
from iaptkit.release.store import ReleaseStore

__all__ = ["export_safe_cross_audit", "ledger_view", "render_report", "write_report"]

Mode = Literal["checker", "export"]
_STATUS_ORDER = {"fail": 0, "review": 1, "pass": 2}
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


def _escape(value: Any) -> Any:
    """Every ``{{ value }}`` escaped as :func:`html.escape` does (quotes too); markup kept."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("iaptkit.release", "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _table_view(
    wide: pd.DataFrame,
    classes: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
) -> dict[str, Any]:
    index_names = [n for n in wide.index.names if n is not None] or [""]
    rows = []
    for r, idx in enumerate(wide.index):
        cells = []
        for c in range(wide.shape[1]):
            text = str(wide.iat[r, c])
            cls = "suppressed" if text.strip() == "*" else ""
            if classes is not None:
                more = str(classes.iat[r, c])
                cls = f"{cls} {more}".strip() if more else cls
            true = "" if extra is None else str(extra.iat[r, c])
            cells.append({"cls": cls, "text": text, "true": true})
        rows.append({"labels": list(idx) if isinstance(idx, tuple) else [idx], "cells": cells})
    return {
        "caption": wide.columns.name or "",
        "head": [*index_names, *wide.columns],
        "rows": rows,
    }


def _checker_overlays(
    cells: pd.DataFrame, dims: Sequence[str], wide: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Status classes and underlying counts (where not shown as they are), aligned with wide."""
    data = cells.copy()
    data["cls"] = (
        data["status"]
        .map({"primary": "primary", "secondary": "secondary", "structural_zero": "structural-zero"})
        .fillna("")
    )
    # the underlying count wherever it differs from what is shown (suppressed or rounded)
    shown = data["display"] if "display" in data.columns else data["status"]
    true_values: list[str] = []
    for value, status, display in zip(data["value"], data["status"], shown, strict=True):
        text = "" if pd.isna(value) else str(int(value))
        differs = status in ("primary", "secondary") or str(display) != text
        true_values.append(text if differs else "")
    data["true"] = true_values
    dims = [d for d in dims if d in data.columns]
    out = []
    for column in ("cls", "true"):
        frame = data[[*dims, column]].rename(columns={column: "value"})
        view = wide_view(frame, dims).reindex(index=wide.index, columns=wide.columns)
        out.append(view.astype(object).where(view.notna(), ""))
    return out[0], out[1]


def _intervals_view(audit: Mapping[str, Any] | None, *, internal: bool) -> dict[str, Any] | None:
    if not audit:
        return None
    status = "passed" if audit.get("passed") else "FAILED"
    intervals = [i for i in audit.get("intervals", []) if i.get("published_as_suppressed", True)]
    if not intervals:
        return {"status": status, "rows": []}
    wanted = ["label", "lower", "upper"]
    if internal:
        wanted += ["passed", "reason", "is_primary", "true_value"]
    keys = [k for k in wanted if k in intervals[0]]
    rows = [
        {"failed": not i.get("passed", True), "cells": [i.get(k, "") for k in keys]}
        for i in intervals
    ]
    return {"status": status, "method": audit.get("method", ""), "columns": keys, "rows": rows}


#: What reading a damaged stored file can raise; shown in the report, never a traceback.
_UNREADABLE = (ValueError, KeyError, IndexError, TypeError, OSError, pd.errors.ParserError)


def _content(release: ReleaseStore, out: Output, mode: Mode) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for name in out.files:
        try:
            parts.append(_file_part(release, out, name, mode))
        except _UNREADABLE as exc:  # UnicodeDecodeError, pandas' parser errors are ValueErrors
            first = str(exc).splitlines()[0] if str(exc) else ""
            parts.append(
                {"kind": "unreadable", "name": name, "error": f"{type(exc).__name__}: {first}"}
            )
    audit: Mapping[str, Any] | None = out.audit
    internal_cert = [f for f in out.internal_files if f.endswith(".certificate.json")]
    if mode == "checker" and internal_cert:
        cert_path = release.path / "internal" / internal_cert[0]
        if cert_path.is_file():
            try:
                audit = json.loads(cert_path.read_text(encoding="utf-8"))
            except _UNREADABLE as exc:
                parts.append({"kind": "unreadable", "name": internal_cert[0], "error": str(exc)})
    try:
        view = _intervals_view(audit, internal=mode == "checker")
    except (*_UNREADABLE, AttributeError) as exc:
        view = None
        parts.append(
            {"kind": "unreadable", "name": "audit", "error": f"{type(exc).__name__}: {exc}"}
        )
    if view is not None:
        parts.append({"kind": "intervals", "view": view})
    return parts


def _file_part(release: ReleaseStore, out: Output, name: str, mode: Mode) -> dict[str, Any]:
    base = release.path / "outputs"
    path = base / name
    suffix = path.suffix.lower()
    if path.is_symlink() or not path.is_file() or path.resolve().parent != base.resolve():
        return {"kind": "missing", "name": name}
    if suffix == ".csv" and out.kind in ("table", "figure"):
        long = pd.read_csv(path, dtype=str, keep_default_na=False)
        wide = wide_view(long, out.dims)
        classes = extra = None
        cells_file = release.path / "internal" / name.replace(".csv", ".cells.csv")
        if mode == "checker" and cells_file.is_file():
            cells = pd.read_csv(cells_file, dtype={d: str for d in out.dims})
            classes, extra = _checker_overlays(cells, out.dims, wide)
        return {"kind": "table", "table": _table_view(wide, classes, extra)}
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=0)
        return {"kind": "table", "table": _table_view(frame)}
    if suffix in _MIME:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return {"kind": "image", "alt": out.name, "mime": _MIME[suffix], "data": data}
    if suffix == ".txt":
        return {"kind": "text", "text": path.read_text(encoding="utf-8")}
    return {"kind": "file", "name": name}


def _output_view(release: ReleaseStore, out: Output, mode: Mode, exported: bool) -> dict[str, Any]:
    meta = [
        ("kind", out.kind),
        ("description", out.description),
        ("population", out.population),
        ("denominators", ", ".join(out.denominators)),
        ("policy", f"{out.policy_id or ''} {out.policy_version or ''}".strip()),
        ("definitions", out.definitions_version or ""),
        ("made by", out.made_by),
        ("parameters", json.dumps(_without_ledger(out.parameters), default=str)),
        ("N", "" if out.n is None else out.n),
        ("residual df", "" if out.df_resid is None else out.df_resid),
        ("files", ", ".join(out.files)),
    ]
    shown = mode == "checker" or exported
    return {
        "uid": out.uid,
        "name": out.name,
        "kind": out.kind,
        "status": out.status,
        "exported": exported,
        "meta": [(k, v) for k, v in meta if v not in ("", None, "{}")],
        # reasons of outputs left out can name cells and values: only the checker's copy has them
        "reasons": list(out.reasons) if shown else [],
        "exception": out.exception if shown else None,
        "shown": shown,
        "parts": _content(release, out, mode) if shown else [],
        # the extract's row counts: the checker's copy only
        "ledger": ledger_view(out.parameters.get("ledger")) if mode == "checker" else None,
    }


def _without_ledger(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parameters.items() if k != "ledger"}


def ledger_view(ledger: Any) -> dict[str, Any] | None:
    """The ledger sheet of an output: per table, rows in the files, used, not used by reason.

    ``ledger`` is the ``"ledger"`` list an output's provenance carries (docs/ledger.md); a
    malformed one is shown as such, never a traceback.

    Examples
    --------
    >>> v = ledger_view([{"table": "IDS101Referral", "rows_in_files": 5, "rows_used": 3,
    ...                   "rows_not_used": {"earlier_month_state": 2}}])
    >>> v["rows"][0]["not_used"], v["rows"][0]["balanced"], v["error"]
    ('earlier_month_state 2', True, '')
    >>> ledger_view("oops")["error"]
    'expected a list of {table, rows_in_files, rows_used, rows_not_used}, found str'
    """
    if ledger is None:
        return None
    expected = "expected a list of {table, rows_in_files, rows_used, rows_not_used}"
    if not isinstance(ledger, list):
        return {"rows": [], "error": f"{expected}, found {type(ledger).__name__}"}
    rows = []
    try:
        for entry in ledger:
            not_used = {str(k): int(v) for k, v in dict(entry.get("rows_not_used") or {}).items()}
            rows_in, used = int(entry["rows_in_files"]), int(entry["rows_used"])
            rows.append(
                {
                    "table": str(entry["table"]),
                    "rows_in_files": rows_in,
                    "rows_used": used,
                    "not_used": ", ".join(f"{k} {v}" for k, v in not_used.items()) or "none",
                    "balanced": used + sum(not_used.values()) == rows_in,
                }
            )
    except (*_UNREADABLE, AttributeError) as exc:
        return {"rows": [], "error": f"{expected}: {type(exc).__name__} {exc}"}
    return {"rows": rows, "error": ""}


def _cross_audit_view(result: Mapping[str, Any] | None, mode: Mode) -> dict[str, Any] | None:
    if not result:
        return None
    if mode == "export":
        result = export_safe_cross_audit(result)
    return {
        "status": "passed" if result.get("passed") else "FAILED",
        "n_outputs": len(result.get("outputs", [])),
        "n_suppressed": result.get("n_suppressed", 0),
        "failing_groups": [
            {"population": g.get("population", ""), "outputs": ", ".join(g.get("outputs", []))}
            for g in result.get("groups", [])
            if not g.get("passed", True)
        ],
        "failures": list(result.get("failures", [])),
        "error": result.get("error") or "",
    }


def _joint_audit_view(summary: dict[str, Any], mode: Mode) -> dict[str, Any] | None:
    """The joint audit's summary (cells, relations, what joint protection added).

    The export copy leaves out the value mass and the cells at risk (as the manifest does).
    """
    if not summary:
        return None
    internal = mode == "checker"
    view = summary if internal else export_safe(summary)
    added = view.get("added_by_output") or {}
    return {
        "status": "passed" if view.get("passed") else "FAILED",
        "protection": "on" if view.get("joint_protection", True) else "off",
        "n_outputs": len(view.get("outputs", [])),
        "n_previous": len(view.get("previous", [])),
        "n_cells": view.get("n_cells", 0),
        "n_suppressed": view.get("n_suppressed", 0),
        "n_relations": view.get("n_relations", 0),
        "added": view.get("added", 0),
        "added_by_output": sorted((str(k), int(v)) for k, v in added.items()),
        "value_mass": view.get("value_mass") if internal else None,
        "n_failures": view.get("n_failures", 0),
        "failures": list(view.get("failures", [])) if internal else [],
    }


def export_safe_cross_audit(result: Mapping[str, Any]) -> dict[str, Any]:
    """The cross-audit result without cell labels or bounds (a failing cell may be exact).

    Examples
    --------
    >>> export_safe_cross_audit({"passed": False, "failures": [{"label": "A"}], "outputs": ["t"]})
    {'passed': False, 'outputs': ['t']}
    """
    keep = ("ran", "passed", "outputs", "n_suppressed", "method", "n_failures", "error")
    safe = {k: result[k] for k in keep if k in result}
    if "groups" in result:
        safe["groups"] = [
            {k: g[k] for k in ("population", "outputs", "passed") if k in g}
            for g in result["groups"]
        ]
    return safe


def render_report(release: ReleaseStore, *, mode: Mode, exported: Sequence[str] = ()) -> str:
    """Render the report for ``release`` as one HTML string.

    Parameters
    ----------
    release
        The release (its ``release.json`` as stored).
    mode
        ``"checker"`` (with underlying counts; stays inside the environment) or ``"export"``.
    exported
        Uids of the outputs in the export bundle (content is shown only for them in export mode).

    Returns
    -------
    str
        The page (every value from the release escaped).

    Notes
    -----
    What the checker needs: docs/disclosure-control.md, "Output checking before export".

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r", title="T")
    >>> _ = rel.add_text("No numbers here.", name="note")
    >>> page = render_report(rel, mode="export")
    >>> 'data-uid="note"' in page and "Content withheld" in page
    True
    """
    outputs = release.outputs
    exported_set = set(exported)
    banner = (
        "CHECKER'S COPY: shows underlying unprotected counts. Never export this file."
        if mode == "checker"
        else "Export copy: protected values only."
    )
    fingerprints = list(release.meta.get("extract_fingerprints") or [])
    meta = [
        ("release", str(release.path.name)),
        ("analyst", release.analyst),
        ("created", release.meta.get("created", "")),
        ("extract fingerprint", release.extract_fingerprint or ""),
        ("WARNING: several extracts", ", ".join(fingerprints) if len(fingerprints) > 1 else ""),
    ]
    template = _environment().get_template("report.html")
    return template.render(
        title=release.title or release.path.name,
        version=__version__,
        mode=mode,
        banner=banner,
        meta=[(k, v) for k, v in meta if v],
        counts=[(s, sum(o.status == s for o in outputs)) for s in ("pass", "review", "fail")],
        n_exported=len(exported_set),
        cross_audit=_cross_audit_view(release.cross_audit_result, mode),
        joint_audit=_joint_audit_view(stored_summary(release), mode),
        palette_css=Markup(css_variables()),
        # review items first: failures, then outputs needing the checker's judgement, then passes
        outputs=[
            _output_view(release, o, mode, o.uid in exported_set)
            for o in sorted(outputs, key=lambda o: _STATUS_ORDER.get(o.status, 3))
        ],
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def write_report(release: ReleaseStore, path: Path, *, mode: Mode, exported: Sequence[str]) -> None:
    """Render the report (:func:`render_report`) and write it to ``path`` atomically."""
    write_atomic(path, render_report(release, mode=mode, exported=exported).encode("utf-8"))
