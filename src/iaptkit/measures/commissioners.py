"""The ``icb`` and ``region`` breakdowns: the referral's commissioner through a lookup.

A pathway's ``commissioner`` (OrgIDComm of the as-at row; the breakdowns' unknown label when
missing) is looked up, trimmed and upper-cased, in the site's
:class:`~iaptkit.definitions.commissioners.CommissionerLookup`. A missing commissioner keeps the
unknown label; a code the lookup lacks is grouped as :data:`NOT_IN_LOOKUP` (counted, never
dropped) and :func:`unknown_commissioners` lists those codes with their pathways.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data import Extract
from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.definitions.commissioners import CommissionerLookup
from iaptkit.errors import ConfigError
from iaptkit.measures.pathway_schema import LOOKUP_BREAKDOWNS

__all__ = [
    "LOOKUP_BREAKDOWNS",
    "NOT_IN_LOOKUP",
    "add_commissioner_hierarchy",
    "check_lookup_for",
    "unknown_commissioners",
]

#: Group of a pathway whose commissioner code is not in the lookup.
NOT_IN_LOOKUP = "Not in lookup"


def check_lookup_for(
    breakdowns: tuple[tuple[str, ...], ...], lookup: CommissionerLookup | None
) -> bool:
    """Whether the breakdowns need the lookup; an error if they do and there is none.

    Examples
    --------
    >>> check_lookup_for((("england",),), None)
    False
    >>> check_lookup_for((("provider", "icb"),), None)
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: Breakdown 'provider x icb' needs a commissioner lookup ...
    """
    for bd in breakdowns:
        if any(p in LOOKUP_BREAKDOWNS for p in bd):
            if lookup is None:
                raise ConfigError(
                    f"Breakdown {' x '.join(bd)!r} needs a commissioner lookup (Sub-ICB -> ICB "
                    "-> region); expected --commissioner-lookup FILE (or 'synthetic' for the "
                    "demo), found none."
                )
            return True
    return False


def _lookup_table(lookup: CommissionerLookup) -> ir.Table:
    codes = list(lookup.icb)
    frame = pd.DataFrame(
        {
            "_lk_code": codes,
            "_lk_icb": [lookup.icb[c] for c in codes],
            "_lk_region": [lookup.region[c] for c in codes],
        }
    )
    return ibis.memtable(frame)


def add_commissioner_hierarchy(
    pathways: ir.Table, lookup: CommissionerLookup, defs: Definitions
) -> ir.Table:
    """``pathways`` with ``icb`` and ``region`` (text, never null) from its ``commissioner``.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> from iaptkit.definitions.commissioners import load_commissioner_lookup
    >>> t = ibis.memtable({"PathwayID": ["a", "b", "c"], "commissioner": ["01a", "ZZZ", "Unknown"]})
    >>> out = add_commissioner_hierarchy(t, load_commissioner_lookup("synthetic"),
    ...                                  load_definitions())
    >>> out.order_by("PathwayID").execute()[["icb", "region"]].values.tolist()
    [['Q00', 'Y56'], ['Not in lookup', 'Not in lookup'], ['Unknown', 'Unknown']]
    """
    unknown = defs.breakdowns.unknown
    lk = _lookup_table(lookup)
    key = strip_blanks(pathways.commissioner.cast("string")).upper()
    t = pathways.mutate(_lk_key=key)
    t = t.left_join(lk, t._lk_key == lk._lk_code)
    missing = pathways.commissioner.isnull() | (t.commissioner == unknown)

    def level(col: ir.StringValue) -> ir.StringValue:
        return ibis.ifelse(
            missing, ibis.literal(unknown), col.coalesce(ibis.literal(NOT_IN_LOOKUP))
        )

    return t.mutate(icb=level(t._lk_icb), region=level(t._lk_region)).drop(
        "_lk_key", "_lk_code", "_lk_icb", "_lk_region"
    )


def unknown_commissioners(extract: Extract, end: date, lookup: CommissionerLookup) -> pd.DataFrame:
    """Commissioner codes (as at ``end``) that the lookup lacks: columns ``code``, ``pathways``.

    Missing codes are not listed (they are the breakdowns' unknown group).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions.commissioners import load_commissioner_lookup
    >>> unknown_commissioners(example_extract(), date(2024, 6, 30),
    ...                       load_commissioner_lookup("synthetic")).values.tolist()
    [['C01', 1]]
    """
    refs = extract.referrals_as_at(end, nhs_fields=False)
    code = refs.OrgIDComm.cast("string")  # typed: trimmed, upper case, blank as null
    counts = (
        refs.select(code=code, PathwayID=refs.PathwayID)
        .filter(lambda r: r.code.notnull())
        .group_by("code")
        .aggregate(pathways=lambda r: r.PathwayID.nunique())
        .execute()
    )
    known = set(lookup.icb)
    out = counts[~counts["code"].isin(known)].sort_values("code").reset_index(drop=True)
    out["pathways"] = out["pathways"].astype("int64")
    result: pd.DataFrame = out.loc[:, ["code", "pathways"]]
    return result
