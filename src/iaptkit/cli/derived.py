"""Reading the pathway table of ``iaptkit derive`` back for ``iaptkit measures --pathways``.

``iaptkit derive`` writes, beside its parquet file, a provenance JSON holding the extract's
fingerprint, the as-at date, the definitions version and the row ledger.
:func:`derived_pathways` checks that a file was derived from the extract being measured, as at
the period end, under the same definitions, and hands the table (read lazily on the extract's
DuckDB connection) and the derive's ledger to the measures, which then count it without
deriving the pathways a second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from iaptkit.data import Extract
from iaptkit.data.ledger import Ledger, TableLedger, extract_ledger
from iaptkit.definitions import Definitions
from iaptkit.errors import ConfigError
from iaptkit.measures.families.reads import tables_not_needed

__all__ = ["derived_pathways"]


def derived_pathways(
    path: Path, ex: Extract, end: date, version: str, record: dict[str, Any]
) -> tuple[Any, Ledger]:
    """The pathway table written by ``iaptkit derive`` (parquet), checked, and its ledger.

    Parameters
    ----------
    path
        The parquet file of ``iaptkit derive``; its provenance (``FILE.provenance.json``,
        written beside it) must say it was derived from this extract (same fingerprint:
        files, sizes and times), as at ``end``, under definitions ``version``.
    ex
        The opened extract (DuckDB).
    end
        The period end of the measures (the as-at date the file must have).
    version
        The definitions version of the measures.
    record
        The command's JSON record: the derive's ledger and fatal-problem override are copied.

    Returns
    -------
    (ibis.Table, Ledger)
        The table, read lazily on the extract's backend, and the rows ledger of the derive
        (the rows the table was derived from, as at ``end``).

    Raises
    ------
    ConfigError
        If the file is not a parquet file of ``iaptkit derive`` for this extract, date and
        definitions.
    """
    if ex.engine != "duckdb":
        raise ConfigError("--pathways: applies to --engine duckdb only.")
    if path.suffix.lower() != ".parquet":
        raise ConfigError(
            f"--pathways {path}: expected the .parquet file of iaptkit derive, found "
            f"{path.suffix or 'no suffix'!r}."
        )
    prov_path = path.with_name(path.name + ".provenance.json")
    if not path.is_file() or not prov_path.is_file():
        raise ConfigError(
            f"--pathways {path}: expected a pathway table written by iaptkit derive, with "
            f"its provenance {prov_path.name} beside it; found "
            f"{'no provenance' if path.is_file() else 'no such file'}."
        )
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
        ledger = Ledger(
            tuple(
                TableLedger(
                    str(t["table"]),
                    int(t["rows_in_files"]),
                    int(t["rows_used"]),
                    {str(k): int(v) for k, v in t["rows_not_used"].items()},
                )
                for t in prov["ledger"]
            ),
            stage="as_at",
        )
        found = (prov["command"], prov["as_at"], prov["extract_fingerprint"])
        found_version = prov["definitions_version"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"--pathways {path}: {prov_path.name} is not the provenance of iaptkit derive "
            f"(expected its keys command, as_at, extract_fingerprint, definitions_version and "
            f"ledger; {type(exc).__name__}: {exc})."
        ) from None
    if found[0] != "derive" or found[1] != str(end):
        raise ConfigError(
            f"--pathways {path}: expected a pathway table derived as at the period end {end} "
            f"(iaptkit derive --as-at {end}); found command {found[0]!r} as at {found[1]}."
        )
    if found[2] != ex.fingerprint():
        raise ConfigError(
            f"--pathways {path}: derived from another extract, or its files changed since "
            f"(expected the fingerprint of {ex.source}); derive it again from this extract."
        )
    if found_version != version:
        raise ConfigError(
            f"--pathways {path}: derived under definitions {found_version!r}; expected "
            f"{version!r} (the definitions of this run)."
        )
    record["pathways_file"] = str(path)
    record["ledger"] = ledger.to_records()
    return ex.con.read_parquet(path), ledger


def with_family_tables(
    ledger: Ledger, ex: Extract, end: date, definitions: Definitions, families: Iterable[int]
) -> Ledger:
    """The derive's ``ledger`` with the tables the chosen families read beyond the derivation.

    ``iaptkit derive`` reads only the pathway derivation's tables, so its ledger counts e.g.
    IDS004 and IDS602 as ``not_needed_by_command``; ``measures --pathways`` with family 8 reads
    them, so they are counted here (used and not used by reason, as ``measures`` counts them
    from the extract), in the derive's table order.
    """
    present = ex.table_names()
    read_now = set(present) - tables_not_needed(present, families)
    missing = {
        t.table
        for t in ledger.tables
        if t.table in read_now and "not_needed_by_command" in t.rows_not_used
    }
    if not missing:
        return ledger
    others = frozenset(present) - missing
    fresh = {t.table: t for t in extract_ledger(ex, end, definitions, ledger, others).tables}
    return Ledger(
        tuple(fresh[t.table] if t.table in missing else t for t in ledger.tables), ledger.stage
    )
