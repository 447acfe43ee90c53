"""Which secondary-suppression method ``auto`` uses for a cell space (issue 15).

The rule, stated in ``docs/disclosure-control.md`` ("Secondary suppression methods"):

- up to :data:`LP_UP_TO` cells, or without grids (no hypercubes): ``lp`` (attacker-guided,
  fewest cells hidden; fast at this size);
- above, ``modular`` when its estimated time fits: :data:`MODULAR_SECONDS_PER_PRIMARY` per
  primary cell, within :data:`AUTO_BUDGET` seconds when there is no timeout, else within
  :data:`TIMEOUT_SHARE` of the time left before the deadline (a modular search cut before
  it has a safe pattern publishes the always-safe fallback, so it is only started when it
  should finish);
- otherwise ``hypercube`` (fast, hides more).

The estimate is a work figure from the 4-D benchmark table (``benchmarks/sdc.py``): the
search took about 0.17 CPU seconds per primary for the first 250 primaries on a loaded
two-core machine, and the pruning is bounded by twice the search's LPs. It is a rough guide,
not a promise: with a timeout, the deadline still decides.
"""

from __future__ import annotations

__all__ = [
    "AUTO_BUDGET",
    "LP_UP_TO",
    "MODULAR_SECONDS_PER_PRIMARY",
    "TIMEOUT_SHARE",
    "choose_method",
]

#: ``auto`` uses the LP-guided method on spaces of at most this many cells (or without grids).
LP_UP_TO = 2000
#: Estimated seconds of modular search and pruning per primary cell (4-D benchmark, CPU).
MODULAR_SECONDS_PER_PRIMARY = 0.3
#: Without a timeout, ``auto`` uses ``modular`` when its estimate is at most this (seconds).
AUTO_BUDGET = 30.0
#: With a timeout, ``auto`` uses ``modular`` when its estimate is within this share of it.
TIMEOUT_SHARE = 0.5


def choose_method(
    n_cells: int, n_primary: int, has_grids: bool, seconds_left: float | None = None
) -> str:
    """The method ``auto`` stands for on a space of this size.

    Parameters
    ----------
    n_cells, n_primary
        Cells of the space, and primary (suppressed) cells among them.
    has_grids
        Whether the space has grids (tables with margins): hypercubes and the modular
        subtables need them.
    seconds_left
        Seconds until the search's deadline (``None``: no timeout).

    Returns
    -------
    str
        ``"lp"``, ``"modular"`` or ``"hypercube"``.

    Examples
    --------
    >>> choose_method(1500, 100, True)
    'lp'
    >>> choose_method(8064, 90, True), choose_method(8064, 1584, True)
    ('modular', 'hypercube')
    >>> choose_method(8064, 1584, True, seconds_left=1000.0)
    'modular'
    """
    if not has_grids or n_cells <= LP_UP_TO:
        return "lp"
    estimate = MODULAR_SECONDS_PER_PRIMARY * n_primary
    budget = AUTO_BUDGET if seconds_left is None else TIMEOUT_SHARE * seconds_left
    return "modular" if estimate <= budget else "hypercube"
