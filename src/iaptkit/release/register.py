"""The release register: :class:`Release`, the register on disk (:class:`ReleaseStore`) with
the ``add_*`` methods that store and judge an output, and :meth:`Release.cross_audit`.

Status rules (docs/disclosure-control.md, "Output checking before export"): a table passes when its
audit and file checks pass; anything unprotected or failing an audit fails; a figure without its
protected data table fails; images and free text are ``review``. An output is *releasable* when
it passes, or is ``review`` with the analyst's exception request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from iaptkit.errors import ReleaseError
from iaptkit.release.analysis import safe_crosstab, safe_pivot_table
from iaptkit.release.analysis_figures import safe_barplot, safe_hist
from iaptkit.release.analysis_models import fit_checked
from iaptkit.release.analysis_record import CheckedRecorder
from iaptkit.release.checks import check_file
from iaptkit.release.crossaudit import run_cross_audit
from iaptkit.release.files import mapping_proxy
from iaptkit.release.findings import policy_facts
from iaptkit.release.keyed import default_context, figure_keys, register_measures, table_cellkeys
from iaptkit.release.outputs import (
    IMAGE_SUFFIXES,
    CheckLike,
    Output,
    PolicyLike,
    ProtectedLike,
    audit_reason,
    combine_status,
)

if TYPE_CHECKING:
    from iaptkit.release.cellkeys import KeyContext
    from iaptkit.sdc import AuditCertificate

__all__ = ["Release"]

_mappingproxy = mapping_proxy  # old pickled tables name this reconstructor: keep it importable


class Release(CheckedRecorder):
    """A release folder: the register of outputs one piece of work wants to export.

    Use :meth:`open_or_create`; every ``add_*`` call is persisted at once (atomically, under a
    lock), so there is nothing to lose if a notebook stops half-way; :meth:`save` rewrites the
    metadata. Storage, statuses and removal are :class:`ReleaseStore`'s. The safe-analysis calls
    (:meth:`crosstab`, :meth:`pivot_table`, :meth:`ols`, :meth:`logit`, :meth:`probit`,
    :meth:`hist`, :meth:`barplot`; docs/safe-analysis.md) compute, check, register and return
    the protected result; ``**record`` takes the registration fields of :meth:`add_table`
    (``description``, ``population``, ``denominators``, ``made_by``, ``exception``,
    ``definitions_version``).

    Notes
    -----
    Implements docs/disclosure-control.md, "Output checking before export".

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "rel"
    >>> rel = Release.open_or_create(folder, title="Demo", analyst="A. Analyst")
    >>> out = rel.add_text("Recovery rose in 2024.", name="summary", description="Key finding")
    >>> (out.uid, out.status, out.releasable)
    ('summary', 'review', False)
    >>> rel.request_exception("summary", "Plain words, no numbers.").releasable
    True
    >>> [o.uid for o in Release.open_or_create(folder).outputs]
    ['summary']
    """

    def add_table(
        self,
        pt: ProtectedLike | pd.DataFrame,
        *,
        name: str | None = None,
        description: str = "",
        population: str | None = None,
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        definitions_version: str | None = None,
        cell_keys: KeyContext | None = None,
    ) -> Output:
        """Register a protected table (``protect``, ``protect_measures``; a DataFrame fails).

        The export view goes to ``outputs/``; the underlying counts, the internal cell statuses,
        certificate and cell keys (``cell_keys``: extract, definitions, measure, period, filters;
        default from ``parameters`` and ``population``) go to ``internal/``. Status: ``pass``
        when the audit passed and the file checks pass; ``fail`` for an unprotected table or a
        failed audit. The release's joint audit links the cells of all outputs by their keys.
        """
        if not isinstance(pt, pd.DataFrame) and not hasattr(pt, "published_long"):
            label = name or "measures"
            return register_measures(self, pt, uid=self._uid(label), name=label,
                description=description, population=population or "", made_by=made_by,
                denominators=denominators, parameters=parameters, exception=exception,
                ctx=cell_keys)  # fmt: skip
        if isinstance(pt, pd.DataFrame):
            uid = self._uid(name or "unprotected_table")
            self._check_overwrite(uid, made_by, parameters)
            self._clear_files(uid)
            internal = [
                self._write_internal(f"{uid}.unprotected.csv", pt.to_csv(index=False).encode())
            ]
            out = Output(
                uid=uid,
                kind="table",
                name=name or uid,
                description=description,
                population=population or "",
                denominators=tuple(denominators),
                made_by=made_by,
                parameters=dict(parameters or {}),
                status="fail",
                reasons=("unprotected: a plain DataFrame, not a ProtectedTable from iaptkit.sdc",),
                exception=exception,
                internal_files=tuple(internal),
                dims=tuple(str(c) for c in pt.columns),
                definitions_version=definitions_version,
            )
            return self._register(out)
        uid = self._uid(name or pt.name)
        self._check_overwrite(uid, made_by, parameters)
        self._clear_files(uid)
        files, internal = self._store_protected(uid, pt)
        if definitions_version is None and "definitions_version" in pt.cells.columns:
            versions = pt.cells["definitions_version"].dropna().unique()
            definitions_version = str(versions[0]) if len(versions) == 1 else None
        pop = population if population is not None else pt.population
        ctx = cell_keys or default_context(self, parameters, pop, definitions_version)
        internal.append(table_cellkeys(self, uid, pt, ctx, f"{uid}.csv"))
        reasons: list[str] = []
        statuses: list[str] = []
        if pt.audit_passed:
            statuses.append("pass")
        else:
            statuses.append("fail")
            reasons.append(audit_reason(pt.certificate))
        facts = policy_facts(pt.policy)
        if facts.rounding_applies_to == "sub-national":
            # protect() rounded the sub-national counts; national ones are unrounded by design
            # and a file check cannot tell them apart, so only the count rules apply here
            facts = replace(facts, rounding_applies_to="none")
        report = check_file(self.path / "outputs" / f"{uid}.csv", policy=facts)
        statuses.append(report.status)
        reasons.extend(f"file check: {f.describe()}" for f in report.findings)
        out = Output(
            uid=uid,
            kind="table",
            name=name or pt.name,
            description=description or pt.description,
            population=pop,
            denominators=tuple(denominators),
            policy_id=str(pt.policy.id),
            policy_version=str(pt.policy.version),
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=combine_status(statuses),
            reasons=tuple(reasons) or ("audit passed; file checks passed",),
            exception=exception,
            files=files,
            internal_files=tuple(internal),
            dims=tuple(pt.dims),
            audit=pt.certificate.to_dict(internal=False),
        )
        return self._register(out)

    def add_figure(
        self,
        path_png: str | Path,
        data: ProtectedLike | None,
        *,
        name: str | None = None,
        description: str = "",
        population: str | None = None,
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Register a figure with its protected data table.

        A figure is ``review`` (an image must be looked at); it ``fail``s without its data table
        or when that table's audit failed (docs/disclosure-control.md: "A histogram or chart is
        released only with its underlying (protected) table").
        """
        image = Path(path_png)
        if not image.is_file():
            raise ReleaseError(f"Expected an image file at {image}; found none.")
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            raise ReleaseError(
                f"Expected a figure as {', '.join(sorted(IMAGE_SUFFIXES))}; found {image.name}."
            )
        uid = self._uid(name or image.stem)
        self._check_overwrite(uid, made_by, parameters)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}{image.suffix.lower()}", image.read_bytes())])
        internal: list[str] = []
        reasons = ["image: the checker compares it with its data table"]
        statuses = ["review"]
        policy_id = policy_version = None
        audit: Mapping[str, Any] | None = None
        dims: tuple[str, ...] = ()
        if data is None:
            statuses.append("fail")
            reasons.append("figure without its protected data table")
        else:
            more, internal = self._store_protected(uid, data, suffix=".data")
            pop = population if population is not None else data.population
            internal.append(figure_keys(self, uid, data, parameters, pop, definitions_version))
            files.update(more)
            policy_id, policy_version = str(data.policy.id), str(data.policy.version)
            audit = data.certificate.to_dict(internal=False)
            dims = tuple(data.dims)
            if not data.audit_passed:
                statuses.append("fail")
                reasons.append("data table: " + audit_reason(data.certificate))
        out = Output(
            uid=uid,
            kind="figure",
            name=name or image.stem,
            description=description,
            population=population if population is not None else getattr(data, "population", ""),
            denominators=tuple(denominators),
            policy_id=policy_id,
            policy_version=policy_version,
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=combine_status(statuses),
            reasons=tuple(reasons),
            exception=exception,
            files=files,
            internal_files=tuple(internal),
            dims=dims,
            audit=audit,
        )
        return self._register(out)

    def add_model(
        self,
        result_df: pd.DataFrame,
        n: int,
        df_resid: float,
        check: CheckLike | None,
        *,
        name: str = "model",
        description: str = "",
        population: str = "",
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        policy: PolicyLike | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Register model results (coefficients table) with N, residual df and their check.

        The status is the :class:`~iaptkit.sdc.checks.CheckResult`'s (``check_regression``);
        without a check the output fails.
        """
        uid = self._uid(name)
        self._check_overwrite(uid, made_by, parameters)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}.csv", result_df.to_csv().encode())])
        reasons: tuple[str, ...]
        if check is None:
            status, reasons = "fail", ("no disclosure check (check_regression) was given",)
        else:
            status = combine_status([str(check.status)])
            reasons = tuple(f"{check.name}: {r}" for r in check.reasons) or (
                f"{check.name}: {check.status}",
            )
        out = Output(
            uid=uid,
            kind="model",
            name=name,
            description=description,
            population=population,
            denominators=tuple(denominators),
            policy_id=None if policy is None else str(policy.id),
            policy_version=None if policy is None else str(policy.version),
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=status,
            reasons=reasons,
            exception=exception,
            files=files,
            n=int(n),
            df_resid=float(df_resid),
        )
        return self._register(out)

    def add_text(
        self,
        text: str,
        *,
        name: str = "text",
        description: str = "",
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
    ) -> Output:
        """Register free text (always ``review``: a person reads it)."""
        uid = self._uid(name)
        self._check_overwrite(uid, made_by, parameters)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}.txt", text.encode("utf-8"))])
        out = Output(
            uid=uid,
            kind="text",
            name=name,
            description=description,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status="review",
            reasons=("free text: the checker reads it",),
            exception=exception,
            files=files,
        )
        return self._register(out)

    def add_file(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        description: str = "",
        population: str = "",
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        policy: Any = "nhs-sde",
        allow: Sequence[str] = (),
    ) -> Output:
        """Register another file; its status is that of the file checks (``iaptkit check``)."""
        source = Path(path)
        if not source.is_file() or source.is_symlink():
            raise ReleaseError(f"Expected a regular file at {source}; found none (or a symlink).")
        uid = self._uid(name or source.stem)
        self._check_overwrite(uid, made_by, parameters)
        self._clear_files(uid)
        stored = f"{uid}{source.suffix.lower()}"
        files = dict([self._write_output(stored, source.read_bytes())])
        report = check_file(self.path / "outputs" / stored, policy=policy, allow=allow)
        facts_id = getattr(report, "policy_id", None)
        out = Output(
            uid=uid,
            kind="file",
            name=name or source.name,
            description=description,
            population=population,
            policy_id=facts_id,
            policy_version=getattr(report, "policy_version", None),
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=report.status,
            reasons=tuple(f"file check: {f.describe()}" for f in report.findings)
            or ("file checks passed",),
            exception=exception,
            files=files,
        )
        return self._register(out)

    def cross_audit(self) -> AuditCertificate | None:
        """Audit all tables together (:mod:`iaptkit.release.crossaudit`): joint certificate."""
        return run_cross_audit(self)

    # ------------------------------------------------------------------ safe analysis (ACRO-like)

    def crosstab(
        self,
        index: Any,
        columns: Any,
        values: Any = None,
        aggfunc: Any = None,
        margins: bool = False,
        *,
        suppress: bool = True,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> pd.DataFrame:
        """``pandas.crosstab``, protected and registered (:mod:`iaptkit.release.analysis`)."""
        return safe_crosstab(
            self,
            index,
            columns,
            values,
            aggfunc,
            margins=margins,
            suppress=suppress,
            policy=policy,
            name=name,
            record=record,
        )

    def pivot_table(
        self,
        data: Any,
        values: Any = None,
        index: Any = None,
        columns: Any = None,
        aggfunc: Any = "mean",
        margins: bool = False,
        *,
        suppress: bool = True,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> pd.DataFrame:
        """``pandas.pivot_table``, checked and registered (:mod:`iaptkit.release.analysis`)."""
        return safe_pivot_table(
            self,
            data,
            values,
            index,
            columns,
            aggfunc,
            margins=margins,
            suppress=suppress,
            policy=policy,
            name=name,
            record=record,
        )

    def ols(
        self,
        formula: str,
        data: Any,
        *,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> Any:
        """``statsmodels.formula.api.ols(...).fit()``, checked and registered."""
        return fit_checked(self, "ols", formula, data, policy=policy, name=name, record=record)

    def logit(
        self,
        formula: str,
        data: Any,
        *,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> Any:
        """``statsmodels.formula.api.logit(...).fit()`` (ACRO's ``logitr``), checked."""
        return fit_checked(self, "logit", formula, data, policy=policy, name=name, record=record)

    def probit(
        self,
        formula: str,
        data: Any,
        *,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> Any:
        """``statsmodels.formula.api.probit(...).fit()`` (ACRO's ``probitr``), checked."""
        return fit_checked(self, "probit", formula, data, policy=policy, name=name, record=record)

    def hist(
        self,
        data: Any,
        column: str,
        bins: int | Sequence[float] = 10,
        *,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> Any:
        """A histogram of protected bin counts (seaborn), registered with its data table."""
        return safe_hist(self, data, column, bins, policy=policy, name=name, record=record)

    def barplot(
        self,
        data: Any,
        x: str,
        y: str | None = None,
        estimator: str = "mean",
        *,
        name: str | None = None,
        policy: Any = "nhs-sde",
        **record: Any,
    ) -> Any:
        """A bar chart of protected counts or checked means (seaborn), registered."""
        return safe_barplot(self, data, x, y, estimator, policy=policy, name=name, record=record)
