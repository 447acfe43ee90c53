"""Support for the report notebooks: parameters resolved, pathway microdata, cell keys.

The four notebooks in ``notebooks/`` stay short: after their ``parameters`` cell they call
:func:`setup_notebook` (extract, period, scope, policy, release folder), take one row per pathway
with the published cohorts from :func:`pathway_indicators`, or field completeness and code-list
conformance from :func:`iaptkit.notebooks.quality.field_quality`, then protect and register
what they show. Everything returned here is microdata or true counts, for use inside the
environment only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iaptkit.definitions import load_definitions
from iaptkit.errors import ConfigError
from iaptkit.measures.pathway_schema import (
    BREAKDOWN_COLUMNS,
    COUNT_COLUMNS,
    DATE_COLUMNS,
    LOOKUP_BREAKDOWNS,
    SCORE_COLUMNS,
)
from iaptkit.release.cellkeys import KeyContext

__all__ = [
    "DEFAULT_POLICY",
    "NotebookContext",
    "default_release_dir",
    "find_demo_extract",
    "pathway_indicators",
    "setup_notebook",
]


#: The disclosure-control policy of a notebook run that names none.
DEFAULT_POLICY = "nhs-sde"


def find_demo_extract(start: str | Path | None = None) -> str:
    """The demo synthetic extract: ``$IAPTKIT_DEMO_EXTRACT``, else ``demo/extract`` above ``start``.

    Notebooks default to it so that they run as-is after ``make demo``.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "demo" / "extract").mkdir(parents=True)
    >>> os.environ.pop("IAPTKIT_DEMO_EXTRACT", None) is None or True
    True
    >>> find_demo_extract(folder / "notebooks") == str(folder / "demo" / "extract")
    True
    """
    env = os.environ.get("IAPTKIT_DEMO_EXTRACT")
    if env:
        return env
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "demo" / "extract"
        if candidate.is_dir():
            return str(candidate)
    raise ConfigError(
        f"no extract given and no demo extract found: expected $IAPTKIT_DEMO_EXTRACT or a "
        f"demo/extract folder in {here} or above (run `make demo` or pass -p extract=...)"
    )


def default_release_dir(extract: str | Path) -> Path:
    """The release folder beside an extract folder: ``<extract>/../release``.

    Examples
    --------
    >>> default_release_dir("demo/extract").as_posix()
    'demo/release'
    """
    return Path(extract).parent / "release"


@dataclass(frozen=True)
class NotebookContext:
    """What a report notebook needs after its parameters cell, resolved and typed.

    Parameters
    ----------
    notebook
        The notebook's name (recorded as ``made_by`` of every output).
    parameters
        The parameters as given (recorded with every output).
    extract
        The extract to load (the demo extract when none was given).
    release_dir
        The release folder outputs are registered in.
    start, end
        The period.
    provider
        One provider (``OrgID_Provider``) or ``""`` for England.
    policy
        The disclosure-control policy id or file.
    definitions_version
        The version of the definitions the run's tables are made with (the packaged default,
        as :func:`pathway_indicators`): part of every cell key; ``""`` reads it when needed.
    """

    notebook: str
    parameters: Mapping[str, Any]
    extract: str
    release_dir: Path
    start: Any
    end: Any
    provider: str
    policy: str
    definitions_version: str = ""

    @property
    def scope(self) -> str:
        """``"England"`` or ``"provider R1A"``: part of every output's population."""
        return f"provider {self.provider}" if self.provider else "England"

    @property
    def period(self) -> str:
        """The period as text, e.g. ``2023-04-01 to 2024-03-31``."""
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def cell_keys(
        self,
        measure: str,
        aliases: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        *,
        period_dim: str = "",
    ) -> KeyContext:
        """The cell keys of this run's tables counting ``measure`` (``Release.add_table``).

        The definitions (the packaged default, as :func:`pathway_indicators`), the period, and
        the provider as scope: a provider run's cells are then sub-populations of the England
        run's, and each cell has the key of the same count in a ``measures`` output of the
        period (docs/release-format.md, "Cell keys and the joint audit"). ``aliases``: per
        breakdown dim, ``(label, measure)`` pairs for the categories that count a published
        measure of their own (e.g. ``{"outcome": labels.FINISHED_OUTCOME_MEASURES}``).
        ``period_dim``: a dim of months (``"2024-05"``) within the period, e.g. a monthly
        trend's ``month``: each month's cell is then keyed as the measure over that month, the
        same cell as May in a ``measures`` output of May or in another run's trend, and the
        months add up to the period's total in the release's audit.

        Examples
        --------
        >>> ctx = setup_notebook("nb", {"extract": "x", "start": "2023-04-01",
        ...     "end": "2023-06-30", "provider": "R1A", "policy": "nhs-sde", "output_dir": ""})
        >>> keys = ctx.cell_keys("finished_treatment", {"outcome": [("recovered", "recovered")]})
        >>> keys.scope, keys.measure_of([("outcome", "recovered")])
        ((('provider', 'R1A'),), ('recovered', (('provider', 'R1A'),)))
        """
        version = self.definitions_version
        if not version:
            version = load_definitions().version
        return KeyContext(
            definitions_version=version,
            measure=measure,
            period_start=self.start.isoformat(),
            period_end=self.end.isoformat(),
            scope=(("provider", self.provider),) if self.provider else (),
            aliases=tuple(
                (dim, label, m) for dim, pairs in (aliases or {}).items() for label, m in pairs
            ),
            period_dim=period_dim,
        )

    def add_table(
        self,
        release: Any,
        pt: Any,
        measure: str,
        *,
        aliases: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        period_dim: str = "",
        **kwargs: Any,
    ) -> Any:
        """Register a protected table of this run, keyed by :meth:`cell_keys` of ``measure``.

        ``release.add_table(pt, made_by=..., parameters=..., cell_keys=..., **kwargs)``: the
        run's notebook and parameters, and cell keys that link the England and provider runs
        of one period, and the same counts in ``measures`` outputs, in the release's joint
        audit (a figure later registered with ``pt`` as its data table takes the same keys).
        ``measure``: what the table counts, e.g. ``"finished_treatment"``; tables of one run
        counting different things need different measures (one cell key, one true count).
        ``aliases``, ``period_dim``: as in :meth:`cell_keys`.
        """
        made = {"made_by": f"notebooks/{self.notebook}.ipynb", "parameters": dict(self.parameters)}
        keys = self.cell_keys(measure, aliases, period_dim=period_dim)
        return release.add_table(pt, cell_keys=keys, **{**made, **kwargs})

    def ledger(self) -> Any:
        """The ledger sheet: per table, rows in the files, used, and not used by reason.

        The rows of the extract as at the period's end (docs/ledger.md), as recorded in every
        output's provenance (``parameters["ledger"]``); empty when the extract was not read.

        Returns
        -------
        pandas.DataFrame
            ``table``, ``rows_in_files``, ``rows_used``, ``rows_not_used`` (``reason n, ...``).

        Examples
        --------
        >>> ctx = NotebookContext("nb", {"ledger": [{"table": "IDS101Referral",
        ...     "rows_in_files": 5, "rows_used": 3, "rows_not_used": {"earlier_month_state": 2}}]},
        ...     "x", Path("r"), None, None, "", "nhs-sde")
        >>> ctx.ledger().to_dict("records")[0]["rows_not_used"]
        'earlier_month_state 2'
        """
        import pandas as pd

        rows = [
            {
                "table": e["table"],
                "rows_in_files": int(e["rows_in_files"]),
                "rows_used": int(e["rows_used"]),
                "rows_not_used": ", ".join(f"{k} {v}" for k, v in e["rows_not_used"].items())
                or "none",
            }
            for e in self.parameters.get("ledger") or []
        ]
        columns = ["table", "rows_in_files", "rows_used", "rows_not_used"]
        return pd.DataFrame(rows, columns=columns)

    def suffix(self) -> str:
        """A name suffix carrying what a run's outputs depend on: provider, period, policy.

        The period is always in it, the provider when there is one, the policy when it is not
        the default ``nhs-sde``; so runs of different parameters (a grid of quarters or
        providers) register different outputs in one release instead of overwriting each
        other. (Outputs of another extract with the same names are refused by the register.)

        Examples
        --------
        >>> ctx = setup_notebook("nb", {"extract": "x", "start": "2023-04-01",
        ...     "end": "2023-06-30", "provider": "R1A", "policy": "nhs-sde", "output_dir": ""})
        >>> ctx.suffix()
        '_R1A_20230401_20230630'
        """
        parts = [self.provider] if self.provider else []
        parts.append(f"{self.start:%Y%m%d}_{self.end:%Y%m%d}")
        if self.policy != DEFAULT_POLICY:
            parts.append(f"policy_{Path(self.policy).stem}")
        return "".join(f"_{re.sub(r'[^A-Za-z0-9]+', '_', p).strip('_')}" for p in parts)


def setup_notebook(name: str, parameters: Mapping[str, Any]) -> NotebookContext:
    """Resolve a report notebook's parameters (after :func:`databricks_widgets`).

    Parameters
    ----------
    name
        The notebook's name, e.g. ``"02_outcomes_report"``.
    parameters
        ``extract``, ``start``, ``end``, ``provider``, ``policy``, ``output_dir`` (empty extract:
        the demo extract; empty output_dir: the release folder beside the extract), and
        optionally ``allow_fatal`` (go on although the extract has a fatal problem).

    Raises
    ------
    ValidationError
        The extract has a fatal problem (a required table or column missing) and
        ``allow_fatal`` is not set (docs/ledger.md, "Fatal means stop").
    ExtractError
        A table file is damaged (duplicated header, empty, a directory).

    Returns
    -------
    NotebookContext

    Notes
    -----
    Periods follow docs/measures.md §2 (P = [S, E], state as at E). In IPython, iaptkit errors
    and Ctrl-C show as one line from here on (:func:`iaptkit.notebooks.jupyter.quiet_errors`).

    Examples
    --------
    >>> ctx = setup_notebook("nb", {"extract": "x/extract", "start": "2023-04-01",
    ...     "end": "2024-03-31", "provider": "", "policy": "nhs-sde", "output_dir": ""})
    >>> ctx.scope, ctx.period, ctx.release_dir.as_posix()
    ('England', '2023-04-01 to 2024-03-31', 'x/release')
    """
    from iaptkit.measures.periods import parse_date
    from iaptkit.notebooks.jupyter import quiet_errors

    quiet_errors()  # iaptkit errors and Ctrl-C in one line, when run in IPython
    extract = str(parameters.get("extract") or find_demo_extract())
    start = parse_date(str(parameters["start"]), what="start")
    end = parse_date(str(parameters["end"]), what="end")
    if end < start:
        raise ConfigError(f"notebook {name}: period end {end} is before its start {start}")
    overridden, ledger = _refuse_fatal(extract, parameters, end)
    out = parameters.get("output_dir") or default_release_dir(extract)
    # recorded as resolved: a run with the defaults and one naming the same folders are the
    # same run (the release refuses an output registered again with other parameters)
    params = {**parameters, "extract": _resolved(extract), "output_dir": _resolved(out)}
    if overridden:  # recorded with the parameters, which go into each output's provenance
        params["fatal_problems_overridden"] = list(overridden)
    if ledger:  # the rows of the extract in, used and not used as at E: every output carries it
        params["ledger"] = ledger
    return NotebookContext(
        notebook=name,
        parameters=params,
        extract=extract,
        release_dir=Path(out),
        start=start,
        end=end,
        # ODS codes are upper case, as the pathways' provider column (docs/data-model.md)
        provider=str(parameters.get("provider") or "").strip().upper(),
        policy=str(parameters.get("policy") or DEFAULT_POLICY),
        definitions_version=load_definitions().version,
    )


def _resolved(where: str | Path) -> str:
    """An existing local path as an absolute path; anything else (a Spark database) as given."""
    path = Path(where)
    return str(path.resolve()) if path.exists() else str(where)


def _refuse_fatal(
    extract: str, parameters: Mapping[str, Any], end: Any
) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """Refuse an extract with a fatal problem before the notebook computes anything.

    Returns the fatal problems overridden and the row ledger as at ``end`` (docs/ledger.md).
    """
    if not Path(extract).exists():
        return (), []  # the notebook's load_extract says so, in one line
    from iaptkit.data import load_extract
    from iaptkit.data.fatal import require_usable
    from iaptkit.data.ledger import extract_ledger
    from iaptkit.measures.families.reads import tables_not_needed

    allow = str(parameters.get("allow_fatal") or "").strip().lower() in ("1", "true", "yes")
    with load_extract(extract) as ex:
        overridden = require_usable(ex, allow_fatal=allow)
        # the notebooks count the pathway table (pathway_indicators): no family's own tables
        not_needed = tables_not_needed(ex.table_names(), ())
        return overridden, extract_ledger(ex, end, not_needed=not_needed).to_records()


#: The breakdown groups a notebook's microdata carries (every breakdown but England).
_GROUPS = tuple(
    name for name in BREAKDOWN_COLUMNS if name != "england" and name not in LOOKUP_BREAKDOWNS
)
#: First scores the notebooks show (the pathway table's own score columns, first of each).
_FIRST_SCORES = tuple(
    c for c in SCORE_COLUMNS if c.endswith("_FirstScore") and c != "ADSM_FirstScore"
)
_PATHWAY_COLUMNS = (*DATE_COLUMNS, *COUNT_COLUMNS, *_FIRST_SCORES)


def pathway_indicators(
    extract: Any,
    start: Any,
    end: Any,
    definitions: Any = None,
    *,
    provider: str = "",
    progress: Callable[[str, int, int], None] | None = None,
) -> Any:
    """One row per pathway (as at ``end``): breakdown groups, the §2 cohort flags, dates, waits.

    Parameters
    ----------
    extract
        An :class:`~iaptkit.data.Extract`.
    start, end
        The period (``datetime.date``).
    definitions
        :class:`~iaptkit.definitions.model.Definitions`; ``None`` for the packaged default.
    provider
        Keep only this provider's pathways (``""``: all).
    progress
        A ``progress(label, done, total)`` callback, e.g.
        :func:`iaptkit.notebooks.jupyter.progress_bar` (a bar in Jupyter): told of each step.

    Returns
    -------
    pandas.DataFrame
        ``PathwayID``, the groups (provider, commissioner, age_band, gender, ethnic_group,
        imd_decile, problem_descriptor; missing as ``Unknown``), one boolean per count measure of
        docs/measures.md §2 (``referrals_received`` ... ``first_to_second_over_90_days``), the
        pathway dates (datetime64), ``wait_to_first_treatment``, ``TreatmentCareContact_Count`` and
        first scores (float64, NaN when missing), ``definitions_version``.
        Microdata: for use inside the environment only (protect before release).

    Raises
    ------
    ConfigError
        ``provider`` has no pathway in the extract as at ``end`` (the message lists the
        providers it holds).

    Notes
    -----
    Cohorts from :func:`iaptkit.measures.counting.indicator_table` (docs/measures.md §2) over
    :func:`iaptkit.measures.derive.pathway_table` (docs/measures.md §1), so notebook tables count
    exactly what the published measures count.
    """
    import pandas as pd

    from iaptkit.measures.catalogue import PublishedParameters
    from iaptkit.measures.counting import indicator_table
    from iaptkit.measures.derive import pathway_table

    step = progress or (lambda label, done, total: None)
    step("deriving pathways", 0, 3)
    defs = definitions if definitions is not None else load_definitions()
    pathways = pathway_table(extract, end, defs)
    if provider:
        pathways = pathways.filter(pathways.provider == provider)
    ind = indicator_table(
        pathways,
        start,
        end,
        tuple((g,) for g in _GROUPS),
        PublishedParameters.from_definitions(defs),
    )
    attrs = pathways.select("PathwayID", *_PATHWAY_COLUMNS)
    step("counting the cohorts", 1, 3)
    frame = ind.join(attrs, "PathwayID").execute()
    if provider and frame.empty:
        everyone = pathway_table(extract, end, defs)
        present = sorted(map(str, everyone.select("provider").distinct().execute()["provider"]))
        raise ConfigError(
            f"No pathway of provider {provider!r} in the extract as at {end}: expected one of "
            f"the providers it holds ({', '.join(present[:20]) or 'none'}"
            f"{', ...' if len(present) > 20 else ''}), or an empty provider for England."
        )
    step("typing the columns", 2, 3)
    frame = frame.rename(columns={f"g_{g}": g for g in _GROUPS})
    for col in COUNT_COLUMNS:
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    for col in _FIRST_SCORES:
        scores = pd.to_numeric(frame[col].astype("string"), errors="coerce")
        frame[col] = scores.astype("float64")
    for col in DATE_COLUMNS:
        frame[col] = pd.to_datetime(frame[col])
    frame["definitions_version"] = defs.version
    step("done", 3, 3)
    return frame.sort_values("PathwayID", kind="stable").reset_index(drop=True)
