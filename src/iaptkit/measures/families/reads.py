"""Which extract tables each measure family reads: the row ledger's "not needed" tables.

Every family counts cohorts of the pathway table (:mod:`iaptkit.measures.derive`), so every
family reads the tables of the pathway derivation (:data:`PATHWAY_TABLES`). Some families also
read per-pathway *parts* joined to it (:mod:`~iaptkit.measures.families.compute`): the
appointment counts of the period, therapy intensities, employment, long-term conditions and
WSAS, each from its own tables (:data:`PART_TABLES`). :data:`FAMILY_PARTS` says which family
reads which part; the families compute only the parts the selected families read, and the row
ledger marks a table ``not_needed_by_command`` exactly when no selected family reads it
(:func:`tables_not_needed`; docs/ledger.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = [
    "FAMILY_PARTS",
    "PART_TABLES",
    "PATHWAY_TABLES",
    "family_tables",
    "parts_read",
    "tables_not_needed",
    "tables_read",
]

#: The tables the pathway derivation reads (submissions, referral states, contacts, internet
#: therapy logs, problem descriptors, scores): ``iaptkit derive`` and every family.
PATHWAY_TABLES: frozenset[str] = frozenset(
    {
        "IDS000Header",
        "IDS001MPI",
        "IDS101Referral",
        "IDS201CareContact",
        "IDS202CareActivity",
        "IDS205InternetTherLog",
        "IDS603PresentingComplaints",
        "IDS606CodedScoreAssessmentRefer",
        "IDS607CodedScoreAssessmentAct",
    }
)

#: The per-pathway parts joined to the pathway table, and the tables each reads.
PART_TABLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # care contacts and appointments of the period (families 2 and 5)
        "activity": frozenset({"IDS201CareContact", "IDS205InternetTherLog"}),
        # therapy intensities and stages (family 7)
        "intensity": frozenset(
            {"IDS201CareContact", "IDS202CareActivity", "IDS205InternetTherLog"}
        ),
        # employment status and support (family 8)
        "employment": frozenset(
            {"IDS004EmpStatus", "IDS101Referral", "IDS201CareContact", "IDS202CareActivity"}
        ),
        # long-term conditions (family 8)
        "ltc": frozenset({"IDS602LongTermCondition"}),
        # WSAS scores (family 8)
        "wsas": frozenset(
            {
                "IDS201CareContact",
                "IDS202CareActivity",
                "IDS606CodedScoreAssessmentRefer",
                "IDS607CodedScoreAssessmentAct",
            }
        ),
    }
)

#: Family number -> the parts it reads besides the pathway table (docs/measures.md §5).
FAMILY_PARTS: Mapping[int, frozenset[str]] = MappingProxyType(
    {
        0: frozenset(),
        1: frozenset(),
        2: frozenset({"activity"}),
        3: frozenset(),
        4: frozenset(),
        5: frozenset({"activity"}),
        6: frozenset(),
        7: frozenset({"intensity"}),
        8: frozenset({"employment", "ltc", "wsas"}),
    }
)


def parts_read(families: Iterable[int]) -> frozenset[str]:
    """The parts the given families read (none for the pathway table alone).

    Examples
    --------
    >>> sorted(parts_read([2, 5])), sorted(parts_read([0]))
    (['activity'], [])
    """
    out: set[str] = set()
    for f in families:
        out |= FAMILY_PARTS[f]
    return frozenset(out)


def family_tables(family: int) -> frozenset[str]:
    """The extract tables family ``family`` reads (the pathway tables and its parts').

    Examples
    --------
    >>> sorted(family_tables(8) - PATHWAY_TABLES)
    ['IDS004EmpStatus', 'IDS602LongTermCondition']
    """
    return tables_read([family])


def tables_read(families: Iterable[int]) -> frozenset[str]:
    """The extract tables the given families read; no family: the pathway table's (derive).

    Examples
    --------
    >>> tables_read([]) == PATHWAY_TABLES == tables_read([0, 1, 2, 3, 4, 5, 6, 7])
    True
    """
    out = set(PATHWAY_TABLES)
    for part in parts_read(families):
        out |= PART_TABLES[part]
    return frozenset(out)


def tables_not_needed(present: Iterable[str], families: Iterable[int]) -> frozenset[str]:
    """The tables of ``present`` that none of ``families`` reads (the ledger's not needed).

    Parameters
    ----------
    present
        The tables of the extract.
    families
        The selected families (empty for ``iaptkit derive``: the pathway table alone).

    Examples
    --------
    >>> present = ["IDS101Referral", "IDS004EmpStatus", "IDS602LongTermCondition"]
    >>> sorted(tables_not_needed(present, [0]))
    ['IDS004EmpStatus', 'IDS602LongTermCondition']
    >>> sorted(tables_not_needed(present, [0, 8]))
    []
    """
    read = tables_read(families)
    return frozenset(t for t in present if t not in read)
