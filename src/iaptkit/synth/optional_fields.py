"""Values of the optional contract fields the generator writes (docs/data-model.md).

SickAbsenceInd (IDS004) and IDS602 long-term conditions are drawn from fixed pseudo-random
numbers of the record's index, so that adding them consumes no state of the generator's random
streams: every other table of a seed is unchanged. NHS England publishes no national split of
these fields in the figures the generator is calibrated to, so the shares are plain
assumptions: about 1 in 8 employed people off sick; about 30 % of referrals with a long-term
condition, 50 % "no long-term condition" and 20 % nothing recorded.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from iaptkit.synth.codes import EMPLOY_STATUS, LTC_CODES

__all__ = [
    "FIRST_TO_SECOND_BANDS",
    "first_to_second_gaps",
    "ltc_codes",
    "sick_absence",
    "unit_hash",
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
