"""The commissioner lookup: Sub-ICB -> ICB -> commissioning region, from a versioned CSV.

The input contract carries only the referral's commissioner (OrgIDComm, a Sub-ICB or older CCG
code). NHS publications also group by ICB and commissioning region, derived from the Sub-ICB
through the ODS commissioner hierarchy (docs/measures.md §5.11). The site supplies that
hierarchy as a CSV file with the columns ``lookup_version, sub_icb_code, icb_code, region_code``
(``region_name`` optional), one row per Sub-ICB code and one version for the whole file. A
synthetic lookup covering the synthetic generator's commissioner codes ships in this package
(``synthetic``), for the demo only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from iaptkit.errors import DefinitionsError

__all__ = [
    "LOOKUP_COLUMNS",
    "SYNTHETIC_LOOKUP",
    "CommissionerLookup",
    "load_commissioner_lookup",
]

#: The required columns of a commissioner lookup CSV.
LOOKUP_COLUMNS: tuple[str, ...] = ("lookup_version", "sub_icb_code", "icb_code", "region_code")
#: The name of the packaged synthetic lookup (``load_commissioner_lookup("synthetic")``).
SYNTHETIC_LOOKUP = "synthetic"
_PACKAGED = "commissioners-synthetic.csv"


@dataclass(frozen=True)
class CommissionerLookup:
    """Sub-ICB code -> (ICB code, region code), with the file's version and location.

    Examples
    --------
    >>> lk = load_commissioner_lookup("synthetic")
    >>> lk.version, lk.icb["01A"], lk.region["01A"]
    ('synthetic-2026.1', 'Q00', 'Y56')
    """

    version: str
    path: str
    icb: Mapping[str, str]
    region: Mapping[str, str]


def _fail(where: str, expected: str, found: object) -> DefinitionsError:
    return DefinitionsError(f"Commissioner lookup {where}: expected {expected}; found {found!s}.")


def load_commissioner_lookup(path: str | Path) -> CommissionerLookup:
    """Read and check a commissioner lookup CSV (``"synthetic"``: the packaged demo lookup).

    Parameters
    ----------
    path
        The site's CSV file, or ``"synthetic"``.

    Raises
    ------
    DefinitionsError
        If the file is missing, lacks a column, mixes versions, has an empty code or maps one
        Sub-ICB code to two ICBs or regions (the message names the file and the row).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "lk.csv")
    >>> _ = open(p, "w").write("lookup_version,sub_icb_code,icb_code\\nv1,00L,QHM\\n")
    >>> load_commissioner_lookup(p)
    Traceback (most recent call last):
    iaptkit.errors.DefinitionsError: Commissioner lookup ...: expected the columns ...
    """
    if str(path) == SYNTHETIC_LOOKUP:
        ref = resources.files("iaptkit.definitions") / _PACKAGED
        text, where = ref.read_text(encoding="utf-8"), f"{SYNTHETIC_LOOKUP} ({_PACKAGED})"
    else:
        file = Path(path)
        if not file.is_file():
            raise _fail(str(file), "a CSV file", "no such file")
        text, where = file.read_text(encoding="utf-8-sig"), str(file)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in LOOKUP_COLUMNS if c not in header]
    if missing:
        raise _fail(
            where, f"the columns {', '.join(LOOKUP_COLUMNS)}", f"{', '.join(header) or 'none'}"
        )
    icb: dict[str, str] = {}
    region: dict[str, str] = {}
    versions: set[str] = set()
    for n, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        code, i, r = row["sub_icb_code"].upper(), row["icb_code"], row["region_code"]
        if not (code and i and r and row["lookup_version"]):
            raw_row = ",".join(row[c] for c in LOOKUP_COLUMNS)
            raise _fail(f"{where} row {n}", "a version and three codes", repr(raw_row))
        versions.add(row["lookup_version"])
        if icb.get(code, i) != i or region.get(code, r) != r:
            raise _fail(f"{where} row {n}", f"one ICB and region for Sub-ICB {code}", f"{i}, {r}")
        icb[code], region[code] = i, r
    if len(versions) != 1:
        raise _fail(where, "one lookup_version", ", ".join(sorted(versions)) or "no rows")
    return CommissionerLookup(
        version=versions.pop(),
        path=where,
        icb=MappingProxyType(icb),
        region=MappingProxyType(region),
    )
