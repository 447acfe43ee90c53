"""The release report: one self-contained HTML page for the output checker.

Two copies are made by ``iaptkit release build``:

- ``mode="checker"`` (written inside the release, ``RELEASE_DIR/checker/report.html``): every
  output with its content, primary and secondary suppressions told apart and the underlying
  true counts beside each suppressed cell, internal audit intervals;
- ``mode="export"`` (in the export bundle): every output's status and reasons, but content only
  for exported outputs, suppressed cells all shown alike, no underlying counts.

Inline CSS, images as data URIs, no scripts or external assets.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any, Literal

import pandas as pd

from iaptkit._version import __version__
from iaptkit.release.acro import wide_view
from iaptkit.release.register import Output, Release

__all__ = ["render_report"]

Mode = Literal["checker", "export"]
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table_html(
    wide: pd.DataFrame,
    classes: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
) -> str:
    index_names = [n for n in wide.index.names if n is not None] or [""]
    col_name = wide.columns.name or ""
    head = "".join(f"<th>{_e(n)}</th>" for n in index_names)
    head += "".join(f"<th>{_e(c)}</th>" for c in wide.columns)
    rows = []
    for r, idx in enumerate(wide.index):
        keys = idx if isinstance(idx, tuple) else (idx,)
        cells = "".join(f"<th>{_e(k)}</th>" for k in keys)
        for c in range(wide.shape[1]):
            text = str(wide.iat[r, c])
            cls = "suppressed" if text.strip() == "*" else ""
            if classes is not None:
                more = str(classes.iat[r, c])
                cls = f"{cls} {more}".strip() if more else cls
            shown = _e(text)
            if extra is not None and str(extra.iat[r, c]):
                shown += f'<span class="true-value">(true {_e(extra.iat[r, c])})</span>'
            attr = f' class="{cls}"' if cls else ""
            cells += f"<td{attr}>{shown}</td>"
        rows.append(f"<tr>{cells}</tr>")
    caption = f"<caption>columns: {_e(col_name)}</caption>" if col_name else ""
    return f'<table class="data">{caption}<tr>{head}</tr>{"".join(rows)}</table>'


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


def _intervals_html(audit: Mapping[str, Any] | None, *, internal: bool) -> str:
    if not audit:
        return ""
    intervals = [i for i in audit.get("intervals", []) if i.get("published_as_suppressed", True)]
    if not intervals:
        status = "passed" if audit.get("passed") else "FAILED"
        return f"<p>Audit: {status}, no suppressed cells.</p>"
    wanted = ["label", "lower", "upper"]
    if internal:
        wanted += ["passed", "reason", "is_primary", "true_value"]
    keys = [k for k in wanted if k in intervals[0]]
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    rows = []
    for i in intervals:
        cls = "" if i.get("passed", True) else ' class="failed"'
        rows.append("<tr>" + "".join(f"<td{cls}>{_e(i.get(k, ''))}</td>" for k in keys) + "</tr>")
    status = "passed" if audit.get("passed") else "FAILED"
    return (
        f"<details open><summary>Audit {status}: feasible intervals of suppressed cells "
        f"(method {_e(audit.get('method', ''))})</summary>"
        f'<table class="intervals"><tr>{head}</tr>{"".join(rows)}</table></details>'
    )


def _content(release: Release, out: Output, mode: Mode) -> str:
    base = release.path / "outputs"
    parts: list[str] = []
    for name in out.files:
        path = base / name
        suffix = path.suffix.lower()
        if path.is_symlink() or not path.is_file() or path.resolve().parent != base.resolve():
            parts.append(f"<p>File <code>{_e(name)}</code> is missing or not a plain file.</p>")
        elif suffix == ".csv" and out.kind in ("table", "figure"):
            long = pd.read_csv(path, dtype=str, keep_default_na=False)
            wide = wide_view(long, out.dims)
            classes = extra = None
            cells_file = release.path / "internal" / name.replace(".csv", ".cells.csv")
            if mode == "checker" and cells_file.is_file():
                cells = pd.read_csv(cells_file, dtype={d: str for d in out.dims})
                classes, extra = _checker_overlays(cells, out.dims, wide)
            parts.append(_table_html(wide, classes, extra))
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=0)
            parts.append(_table_html(frame))
        elif suffix in _MIME:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f'<img class="figure" alt="{_e(out.name)}" '
                f'src="data:{_MIME[suffix]};base64,{data}">'
            )
        elif suffix == ".txt":
            parts.append(f'<pre class="text">{_e(path.read_text(encoding="utf-8"))}</pre>')
        else:
            parts.append(f"<p>File <code>{_e(name)}</code> (not shown inline).</p>")
    audit: Mapping[str, Any] | None = out.audit
    internal_cert = [f for f in out.internal_files if f.endswith(".certificate.json")]
    if mode == "checker" and internal_cert:
        cert_path = release.path / "internal" / internal_cert[0]
        if cert_path.is_file():
            audit = json.loads(cert_path.read_text(encoding="utf-8"))
    parts.append(_intervals_html(audit, internal=mode == "checker"))
    return "".join(parts)


def _output_html(release: Release, out: Output, mode: Mode, exported: bool) -> str:
    meta = [
        ("kind", out.kind),
        ("description", out.description),
        ("population", out.population),
        ("denominators", ", ".join(out.denominators)),
        ("policy", f"{out.policy_id or ''} {out.policy_version or ''}".strip()),
        ("definitions", out.definitions_version or ""),
        ("made by", out.made_by),
        ("parameters", json.dumps(dict(out.parameters), default=str)),
        ("N", "" if out.n is None else out.n),
        ("residual df", "" if out.df_resid is None else out.df_resid),
        ("files", ", ".join(out.files)),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta if v not in ("", None, "{}"))
    shown = mode == "checker" or exported
    # reasons of outputs left out can name cells and values: only the checker's copy has them
    reasons = "".join(f"<li>{_e(r)}</li>" for r in out.reasons) if shown else ""
    exception = (
        f'<p class="exception"><b>Exception requested:</b> {_e(out.exception)}</p>'
        if out.exception and shown
        else ""
    )
    flag = "exported" if exported else "not exported"
    content = (
        _content(release, out, mode)
        if shown
        else "<p><i>Content withheld: this output is not released.</i></p>"
    )
    return (
        f'<section class="output status-{_e(out.status)}" id="out-{_e(out.uid)}" '
        f'data-uid="{_e(out.uid)}" data-status="{_e(out.status)}" '
        f'data-exported="{str(exported).lower()}">'
        f'<h3>{_e(out.name)} <span class="status {_e(out.status)}">{_e(out.status)}</span>'
        f'<span class="exported">{flag}</span></h3>'
        f'<dl class="meta">{dl}</dl><ul class="reasons">{reasons}</ul>{exception}{content}'
        "</section>"
    )


def _cross_audit_html(result: Mapping[str, Any] | None, mode: Mode) -> str:
    if not result:
        return "<p>Not run.</p>"
    if mode == "export":
        result = export_safe_cross_audit(result)
    status = "passed" if result.get("passed") else "FAILED"
    text = (
        f'<p class="cross-{status.lower()}">Joint audit of {len(result.get("outputs", []))} '
        f"table(s): <b>{status}</b>; {result.get('n_suppressed', 0)} suppressed cell(s).</p>"
    )
    failures = list(result.get("failures", []))
    for group in result.get("groups", []):
        if not group.get("passed", True):
            text += (
                f"<p>Population {_e(group.get('population', ''))!s}: outputs "
                f"{_e(', '.join(group.get('outputs', [])))} fail together.</p>"
            )
    if failures:
        rows = "".join(
            f'<tr><td class="failed">{_e(f["label"])}</td><td>{_e(f["lower"])}</td>'
            f"<td>{_e(f['upper'])}</td><td>{_e(f['reason'])}</td></tr>"
            for f in failures
        )
        text += (
            "<table><tr><th>cell</th><th>lower</th><th>upper</th><th>reason</th></tr>"
            f"{rows}</table>"
        )
    if result.get("error"):
        text += f"<p>{_e(result['error'])}</p>"
    return text


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


def render_report(release: Release, *, mode: Mode, exported: Sequence[str] = ()) -> str:
    """Render the report for ``release`` as one HTML string.

    Parameters
    ----------
    release
        The release (its ``release.json`` as stored).
    mode
        ``"checker"`` (with underlying counts; stays inside the environment) or ``"export"``.
    exported
        Uids of the outputs in the export bundle (content is shown only for them in export mode).

    Notes
    -----
    What the checker needs: disclosure-control.md, "Output checking before export".

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r", title="T")
    >>> _ = rel.add_text("No numbers here.", name="note")
    >>> page = render_report(rel, mode="export")
    >>> 'data-uid="note"' in page and "Content withheld" in page
    True
    """
    outputs = release.outputs
    exported_set = set(exported)
    template = Template(
        files("iaptkit.release").joinpath("templates/report.html").read_text(encoding="utf-8")
    )
    banner = (
        "CHECKER'S COPY: shows underlying unprotected counts. Never export this file."
        if mode == "checker"
        else "Export copy: protected values only."
    )
    meta = [
        ("release", str(release.path.name)),
        ("analyst", release.analyst),
        ("created", release.meta.get("created", "")),
        ("extract fingerprint", release.extract_fingerprint or ""),
        (
            "WARNING: several extracts",
            ", ".join(release.meta.get("extract_fingerprints") or [])
            if len(release.meta.get("extract_fingerprints") or []) > 1
            else "",
        ),
    ]
    counts = (
        " ".join(
            f'<span class="count-{s}">{s}: {sum(o.status == s for o in outputs)}</span>'
            for s in ("pass", "review", "fail")
        )
        + f' <span class="count-exported">exported: {len(exported_set)}</span>'
    )
    return template.substitute(
        title=_e(release.title or release.path.name),
        version=_e(__version__),
        mode=mode,
        banner=_e(banner),
        meta="".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta if v),
        counts=counts,
        cross_audit=_cross_audit_html(release.cross_audit_result, mode),
        outputs="\n".join(_output_html(release, o, mode, o.uid in exported_set) for o in outputs),
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def write_report(release: Release, path: Path, *, mode: Mode, exported: Sequence[str]) -> None:
    """Render and write the report atomically."""
    from iaptkit.release.register import write_atomic

    write_atomic(path, render_report(release, mode=mode, exported=exported).encode("utf-8"))
