"""Stepped-care stages of a pathway for family 7's step-up measures (docs/measures.md §5.9).

A **stage** is a run of at least two consecutive sessions of one intensity, the sessions in date
order (a contact with both intensities gives a low- then a high-intensity session; ties on a date
go low intensity first, then by contact). Sessions of neither intensity are not in the sequence.
Before the first stage, one session of the other intensity is ignored; two or more exclude the
pathway from every stage measure.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["STAGE_COLUMNS", "pathway_stages"]

#: The per-pathway columns of :func:`pathway_stages` (intensity 0 low, 1 high).
STAGE_COLUMNS: tuple[str, ...] = (
    "stage1_intensity",
    "stage1_first_date",
    "stage1_last_date",
    "stage2_intensity",
    "stage2_first_date",
    "stage_excluded",
)


def pathway_stages(sessions: ir.Table) -> ir.Table:
    """Per PathwayID with a stage: its first two stages and whether it is excluded (lazy).

    Parameters
    ----------
    sessions
        One row per session and intensity: ``PathwayID``, ``d`` (date), ``k`` (0 low, 1 high
        intensity) and ``o`` (a text key ordering sessions of one date and intensity).

    Examples
    --------
    >>> from datetime import date
    >>> s = ibis.memtable({"PathwayID": ["P"] * 5, "k": [1, 0, 0, 1, 1], "o": list("abcde"),
    ...     "d": [date(2024, 4, d) for d in (1, 2, 3, 20, 27)]})
    >>> r = pathway_stages(s).execute().iloc[0]
    >>> int(r.stage1_intensity), int(r.stage2_intensity), r.stage2_first_date.day
    (0, 1, 20)
    >>> bool(r.stage_excluded)  # one high-intensity session before the first stage is ignored
    False
    """
    w = ibis.window(group_by="PathwayID", order_by=["d", "k", "o"])
    r = sessions.mutate(_prev=sessions.k.lag().over(w), _rn=ibis.row_number().over(w))
    r = r.mutate(_new=ibis.ifelse(r._prev.isnull() | (r._prev != r.k), 1, 0))
    cum = ibis.cumulative_window(group_by="PathwayID", order_by="_rn")
    r = r.mutate(_run=r._new.sum().over(cum))
    runs = r.group_by(["PathwayID", "_run"]).aggregate(
        k=r.k.max(), n=r.count(), d0=r.d.min(), d1=r.d.max(), rn0=r._rn.min()
    )
    st = runs.filter(runs.n >= 2)
    st = st.mutate(_s=ibis.row_number().over(ibis.window(group_by="PathwayID", order_by="_run")))
    s1 = st.filter(st._s == 0).select(
        PathwayID=st.PathwayID,
        stage1_intensity=st.k,
        stage1_first_date=st.d0,
        stage1_last_date=st.d1,
        _rn1=st.rn0,
    )
    s2 = st.filter(st._s == 1).select(
        _P2=st.PathwayID, stage2_intensity=st.k, stage2_first_date=st.d0
    )
    pre = r.join(s1, r.PathwayID == s1.PathwayID)
    pre = pre.filter((pre._rn < pre._rn1) & (pre.k != pre.stage1_intensity))
    other = pre.group_by(_P3=pre.PathwayID).aggregate(_n_other=pre.count())
    out = s1.left_join(s2, s1.PathwayID == s2._P2)
    out = out.left_join(other, out.PathwayID == other._P3)
    return out.select(
        PathwayID=out.PathwayID,
        stage1_intensity=out.stage1_intensity.cast("int64"),
        stage1_first_date=out.stage1_first_date,
        stage1_last_date=out.stage1_last_date,
        stage2_intensity=out.stage2_intensity.cast("int64"),
        stage2_first_date=out.stage2_first_date,
        stage_excluded=(out._n_other.fill_null(0) >= 2).ifelse(1, 0).cast("int64"),
    )
