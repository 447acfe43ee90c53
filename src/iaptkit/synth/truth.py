"""The simulated truth behind a synthetic extract: every pathway and event, as numpy arrays.

:func:`iaptkit.synth.model.simulate` makes a :class:`Truth`; :mod:`iaptkit.synth.writer` cuts it
into monthly submissions and :mod:`iaptkit.synth.nhs` computes the NHS-derived fields from it.
Dates are day numbers (days since 1970-01-01); scores are integers in hundredths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Truth", "month_of_day"]

Arr = npt.NDArray[Any]


@dataclass(frozen=True)
class Truth:
    """The simulated pathways and events (all numpy arrays; dates are days since 1970-01-01).

    Pathway arrays have one entry per pathway; contact arrays one per care contact, sorted by
    (month, provider, pathway, date); score arrays one per score, pointing at a contact.
    """

    n: int
    providers: int
    window_start: int
    window_end: int
    month0: int  # numpy datetime64[M] integer of the first month
    months: int
    provider_effect: Arr
    commissioners_of: Arr  # (providers, 4) commissioner index, -1 unused
    # pathways
    person: Arr  # index of the person's first pathway (re-referrals share it)
    prov: Arr
    comm: Arr
    gender: Arr
    ethnic: Arr
    imd: Arr  # 0 = null
    age: Arr
    source: Arr
    employ: Arr
    R: Arr
    D: Arr  # discharge day; may be after window_end (then open)
    end_code: Arr
    descriptor: Arr
    pres_code: Arr  # index into the descriptor's codes
    secondary: Arr  # index into SECONDARY_CODES or -1
    # contacts
    c_pw: Arr
    c_date: Arr
    c_app: Arr
    c_attend: Arr
    c_planned: Arr  # bool
    c_acts: Arr
    c_therapy: Arr  # index into THERAPY_CODES
    # scores
    s_contact: Arr  # contact index (the score is dated by it, in IDS607 or IDS606)
    s_measure: Arr
    s_value: Arr  # hundredths
    s_in_606: Arr  # bool: written to IDS606 (no care activity to hang it on)
    # internet-enabled therapy logs
    l_pw: Arr
    l_start: Arr
    l_duration: Arr
    l_prog: Arr

    @property
    def s_pw(self) -> Arr:
        """Pathway of each score."""
        return self.c_pw[self.s_contact]

    @property
    def s_date(self) -> Arr:
        """Day of each score (its contact's date)."""
        return self.c_date[self.s_contact]


def month_of_day(days: Arr) -> Arr:
    """Return the numpy month number (months since 1970-01) of day numbers.

    Notes
    -----
    ``Unique_MonthID`` (docs/data-model.md) is this number plus 838.

    Examples
    --------
    >>> int(month_of_day(np.array([19448]))[0]) + 838  # 2023-04-01
    1477
    """
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
