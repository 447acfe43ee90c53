"""Registering a checked analysis: the export view, the underlying numbers and the verdict.

The safe-analysis calls of :class:`iaptkit.release.Release` (``crosstab``, ``pivot_table``,
``ols``, ``logit``, ``probit``, ``hist``, ``barplot``; docs/safe-analysis.md) compute a result,
check it under a policy and hand it here: :class:`CheckedRecorder` writes what may leave to
``outputs/`` and what the checker needs (true values, contributor counts, the reasons per cell) to
``internal/``, and registers the output with its status and reasons like any other output, so it
joins the reviewer report and ``results.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iaptkit.release.files import pickle_bytes
from iaptkit.release.outputs import Output, combine_status
from iaptkit.release.store import ReleaseStore

__all__ = ["CheckedOutput", "CheckedRecorder"]


@dataclass(frozen=True)
class CheckedOutput:
    """A checked analysis result ready to register.

    Attributes
    ----------
    kind
        ``"table"``, ``"model"`` or ``"figure"``.
    published
        The export view (suppressed values as ``"*"``), with ``policy_id``/``policy_version``.
    underlying
        For the checker only (never exported): true values, contributors, reasons.
    statuses, reasons
        The verdicts of the checks made (worst wins) and why.
    policy_id, policy_version
        The policy applied.
    dims
        The table's dimensions (or the model's terms' covariates).
    n, df_resid
        Observations and residual degrees of freedom of a model.
    image
        A figure's image file (for ``kind="figure"``).
    parameters
        The call and its arguments; ``magnitude=True`` marks a table of statistics (means, sums),
        judged cell by cell and not part of the release's joint count audit.
    protected
        The protected count table inside the output, if any: stored for the joint audit.
    """

    kind: str
    published: pd.DataFrame
    underlying: pd.DataFrame
    statuses: tuple[str, ...]
    reasons: tuple[str, ...]
    policy_id: str
    policy_version: str
    dims: tuple[str, ...] = ()
    n: int | None = None
    df_resid: float | None = None
    image: Path | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    protected: Any = None


class CheckedRecorder(ReleaseStore):
    """The register with :meth:`add_checked`, the one way analysis results are registered."""

    def add_checked(
        self,
        result: CheckedOutput,
        *,
        name: str,
        description: str = "",
        population: str = "",
        denominators: Sequence[str] = (),
        made_by: str = "",
        exception: str | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Store ``result``'s files and register it; the status is the worst of its checks.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> rel = CheckedRecorder.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
        >>> res = CheckedOutput("table", pd.DataFrame({"g": ["a"], "value": ["*"]}),
        ...     pd.DataFrame({"g": ["a"], "true": [3.0]}), ("pass",), ("1 cell suppressed",),
        ...     "nhs-sde", "1.0", dims=("g",))
        >>> out = rel.add_checked(res, name="means")
        >>> out.status, out.files.keys() == {"means.csv"}, out.internal_files
        ('pass', True, ('means.underlying.csv',))
        """
        uid = self._uid(name)
        self._clear_files(uid)
        files = dict(
            [self._write_output(f"{uid}.csv", result.published.to_csv(index=False).encode())]
        )
        if result.image is not None:
            image = Path(result.image)
            files.update([self._write_output(f"{uid}{image.suffix.lower()}", image.read_bytes())])
        internal: tuple[str, ...] = (
            self._write_internal(
                f"{uid}.underlying.csv", result.underlying.to_csv(index=False).encode()
            ),
        )
        if result.protected is not None:
            pickled = pickle_bytes(result.protected)
            internal += (self._write_internal(f"{uid}.table.pkl", pickled),)
        out = Output(
            uid=uid,
            kind=result.kind,
            name=name,
            description=description,
            population=population,
            denominators=tuple(denominators),
            policy_id=result.policy_id,
            policy_version=result.policy_version,
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(result.parameters),
            status=combine_status(list(result.statuses)),
            reasons=result.reasons or ("all checks passed",),
            exception=exception,
            files=files,
            internal_files=internal,
            dims=result.dims,
            n=result.n,
            df_resid=result.df_resid,
        )
        return self._register(out)
