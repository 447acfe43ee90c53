"""Values of the optional contract fields the generator writes (docs/data-model.md).

SickAbsenceInd (IDS004) and IDS602 long-term conditions are drawn from fixed pseudo-random
numbers of the record's index, so that adding them consumes no state of the generator's random
streams: every other table of a seed is unchanged. NHS England publishes no national split of
these fields in the figures the generator is calibrated to, so the shares are plain
assumptions: about 1 in 8 employed people off sick; about 30 % of referrals with a long-term
condition, 50 % "no long-term condition" and 20 % nothing recorded.

WSAS (the Work and Social Adjustment Scale, five dimensions scored 0-8) is written beside the
PHQ-9: at every PHQ-9 score of about 60 % of pathways, one row per dimension in the same table
and at the same activity or date. NHS England publishes WSAS means per provider and month but no
national figure the generator is calibrated to (docs/measures.md §5.10), so each dimension
follows the PHQ-9 of the same day (about 0.27 x PHQ-9, so a PHQ-9 of 15 gives about 4 and a
recovered 6 about 1.6) with a spread of +/- 1.5, and the work dimension is 9 (not applicable)
for people whose employment status is not 01 (employed).

High-intensity therapy: the generator's high-intensity sessions carry the code of "other high
intensity"; :func:`high_intensity_types` gives each pathway one named therapy instead (CBT about
60 %, counselling for depression 12 %, IPT 5 %, brief psychodynamic psychotherapy 3 %, couples
therapy 3 %, other 17 %), so the per-therapy means of family 7 have data. These shares are
assumptions too (no national split is in the figures the generator is calibrated to); every
code stays high intensity, so the stepped-care groups do not change.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from iaptkit.data.schema import EMPLOYMENT_SUPPORT_CODE
from iaptkit.synth.codes import EMPLOY_STATUS, LTC_CODES, THERAPY_CODES

__all__ = [
    "FIRST_TO_SECOND_BANDS",
    "HIGH_INTENSITY_TYPES",
    "THERAPY_VOCAB",
    "WSAS_TOOLS",
    "first_to_second_gaps",
    "high_intensity_types",
    "ltc_codes",
    "sick_absence",
    "therapy_index",
    "unit_hash",
    "wsas_rows",
]

#: (share, lowest, highest days) of the gap between the first two sessions: England 2024-25,
#: finished courses (<= 28: 268,954; 29-56: 145,392; 57-90: 97,487; > 90: 158,586 of 670,419).
FIRST_TO_SECOND_BANDS: tuple[tuple[float, int, int], ...] = (
    (268_954 / 670_419, 7, 28),
    (145_392 / 670_419, 29, 56),
    (97_487 / 670_419, 57, 90),
    (158_586 / 670_419, 91, 180),
)

Arr = npt.NDArray[np.int64]

#: WSAS dimension tool codes (CodedAssToolType) in the order work, home management, social
#: leisure, private leisure, relationships (the packaged ``catalogue.wsas_items``).
WSAS_TOOLS: tuple[str, ...] = (
    "932621000000100",
    "932581000000100",
    "932611000000106",
    "932591000000103",
    "932601000000109",
)
#: (cumulative share, code) of the named high-intensity therapies; the rest stay "other".
HIGH_INTENSITY_TYPES: tuple[tuple[float, str], ...] = (
    (0.60, "304891004"),  # cognitive behavioural therapy
    (0.72, "286711000000107"),  # counselling for depression
    (0.77, "443730003"),  # interpersonal psychotherapy
    (0.80, "314034001"),  # brief psychodynamic psychotherapy
    (0.83, "1129471000000105"),  # couples therapy for depression
)
#: THERAPY_CODES index of "other high intensity" (1026131000000100).
OTHER_HIGH_INTENSITY = 1
#: Share of pathways whose PHQ-9 scores come with WSAS scores.
WSAS_SHARE = 0.6


def unit_hash(numbers: npt.NDArray[np.integer], salt: int) -> npt.NDArray[np.float64]:
    """A fixed number in [0, 1) per integer (no generator state is consumed).

    Examples
    --------
    >>> u = unit_hash(np.arange(1000), 3)
    >>> bool((u >= 0).all() and (u < 1).all()), round(float(u.mean()), 1)
    (True, 0.5)
    """
    m = np.uint64(2**32 - 1)
    x = (numbers.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B9)) & m
    for _ in range(2):  # an integer mixer (lowbias32-like): neighbours and salts decorrelate
        x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x45D9F3B)) & m
    x = x ^ (x >> np.uint64(16))
    return x.astype(np.float64) / 2.0**32


def first_to_second_gaps(pathways: npt.NDArray[np.integer]) -> Arr:
    """Days between the first and second session per pathway, in the national band mix.

    Examples
    --------
    >>> g = first_to_second_gaps(np.arange(100_000))
    >>> round(float((g <= 28).mean()), 2), round(float((g > 90).mean()), 2), int(g.min())
    (0.4, 0.24, 7)
    """
    u = unit_hash(pathways, 53)
    v = unit_hash(pathways, 211)
    out = np.zeros(pathways.shape[0], dtype=np.int64)
    lo_share = 0.0
    for share, lo, hi in FIRST_TO_SECOND_BANDS:
        pick = (u >= lo_share) & (u < lo_share + share)
        out[pick] = lo + (v[pick] * (hi - lo + 1)).astype(np.int64)
        lo_share += share
    out[u >= lo_share] = FIRST_TO_SECOND_BANDS[-1][2]
    return out


def sick_absence(employ: npt.NDArray[np.integer], who: npt.NDArray[np.integer]) -> list[str]:
    """SickAbsenceInd per record: 01 -> ``Y`` (about 1 in 8) or ``N``; ZZ -> ``Z``; else ``8``.

    Examples
    --------
    >>> sick_absence(np.array([0, 0, 3, 8]), np.array([5, 6, 7, 8]))
    ['Y', 'N', '8', 'Z']
    """
    status = np.asarray(EMPLOY_STATUS)[np.maximum(employ, 0)]
    sick = np.where(unit_hash(who, 17) < 0.125, "Y", "N")
    out = np.where(status == "01", sick, np.where(status == "ZZ", "Z", "8"))
    return [str(v) for v in out]


def ltc_codes(pathways: npt.NDArray[np.integer]) -> Arr:
    """Index into :data:`~iaptkit.synth.codes.LTC_CODES` per pathway; -1: no IDS602 row.

    Examples
    --------
    >>> c = ltc_codes(np.arange(10_000))
    >>> round(float(((c >= 0) & (c < 11)).mean()), 1), round(float((c == 11).mean()), 1)
    (0.3, 0.5)
    """
    u = unit_hash(pathways, 101)
    n = len(LTC_CODES) - 1
    pick = np.minimum((unit_hash(pathways, 7) * n).astype(np.int64), n - 1)
    out: Arr = np.where(u < 0.3, pick, np.where(u < 0.8, n, -1)).astype(np.int64)
    return out


def wsas_rows(scores: pa.Table, phq: npt.NDArray[np.bool_], phq_values: Arr, pathways: Arr,
              employed: npt.NDArray[np.bool_], contacts: Arr) -> pa.Table:  # fmt: skip
    """WSAS rows to append to a score table: five per PHQ-9 row of a WSAS pathway.

    Parameters
    ----------
    scores
        The score table (IDS606 or IDS607) whose rows are copied, tool and score replaced.
    phq
        Per row: a PHQ-9 score.
    phq_values
        Per row: the score in hundredths.
    pathways, employed, contacts
        Per row: the pathway index, whether its person is employed (status 01), the contact.

    Examples
    --------
    >>> t = pa.table({"PathwayID": ["P1", "P1"], "CodedAssToolType": ["720433000", "x"],
    ...               "PersScore": ["27", "3"]})
    >>> w = wsas_rows(t, np.array([True, False]), np.array([2700, 300]), np.array([1, 1]),
    ...               np.array([False, False]), np.array([5, 5]))
    >>> w.num_rows, w["PersScore"][0].as_py()  # work: not applicable (not employed)
    (5, '9')
    >>> all(0 <= int(v) <= 8 for v in w["PersScore"].to_pylist()[1:])
    True
    """
    keep = phq & (unit_hash(pathways, 61) < WSAS_SHARE)
    rows = np.repeat(np.flatnonzero(keep), len(WSAS_TOOLS))
    dim = np.tile(np.arange(len(WSAS_TOOLS)), int(keep.sum()))
    noise = unit_hash(contacts[rows] * len(WSAS_TOOLS) + dim, 67) * 3.0 - 1.5
    value = np.clip(np.rint(phq_values[rows] / 100.0 * 0.27 + noise), 0, 8).astype(np.int64)
    value = np.where((dim == 0) & ~employed[rows], 9, value)
    out = scores.take(pa.array(rows, type=pa.int64()))
    tools = pa.array(np.asarray(WSAS_TOOLS)[dim], type=pa.string())
    text = pa.array([str(v) for v in value], type=pa.string())
    out = out.set_column(out.schema.get_field_index("CodedAssToolType"), "CodedAssToolType", tools)
    return out.set_column(out.schema.get_field_index("PersScore"), "PersScore", text)


def high_intensity_types(codes: Arr, pathways: Arr, first_extra: int) -> Arr:
    """Code indices with "other high intensity" replaced by the pathway's named therapy.

    ``first_extra`` is the vocabulary index of the first code of
    :data:`HIGH_INTENSITY_TYPES` (the caller appends them to its vocabulary).

    Examples
    --------
    >>> c = high_intensity_types(np.ones(10_000, dtype=np.int64), np.arange(10_000), 7)
    >>> round(float((c == 7).mean()), 1), round(float((c == 1).mean()), 1)  # CBT, other
    (0.6, 0.2)
    >>> high_intensity_types(np.array([0, -1]), np.array([1, 2]), 7).tolist()
    [0, -1]
    """
    u = unit_hash(pathways, 71)
    bounds = np.array([b for b, _ in HIGH_INTENSITY_TYPES])
    kind = np.searchsorted(bounds, u, side="right")  # len(bounds): other
    named = (codes == OTHER_HIGH_INTENSITY) & (kind < len(bounds))
    out: Arr = np.where(named, first_extra + kind, codes).astype(np.int64)
    return out


#: IDS202 CodeProcAndProcStatus vocabulary: the generator's therapy codes, employment support,
#: then the named high-intensity therapies.
THERAPY_VOCAB: tuple[str, ...] = (
    *THERAPY_CODES,
    EMPLOYMENT_SUPPORT_CODE,
    *(code for _, code in HIGH_INTENSITY_TYPES),
)


def therapy_index(codes: Arr, pathways: Arr) -> Arr:
    """Index into :data:`THERAPY_VOCAB` per activity (``codes`` -1: employment support).

    Examples
    --------
    >>> [THERAPY_VOCAB[i] for i in therapy_index(np.array([0, -1]), np.array([3, 3]))]
    ['1026111000000108', '1098051000000103']
    """
    named = high_intensity_types(codes, pathways, len(THERAPY_CODES) + 1)
    out: Arr = np.where(codes < 0, len(THERAPY_CODES), named).astype(np.int64)
    return out
