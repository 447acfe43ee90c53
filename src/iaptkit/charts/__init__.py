"""Charts drawn from protected tables only (the palette is shared with the reviewer report).

:mod:`iaptkit.charts.published` reads a protected table's published values and derives rates
from them; :mod:`iaptkit.charts.plots` draws bar, line and funnel charts from those; and
:mod:`iaptkit.charts.palette` holds the colours of charts and report alike.
"""

from __future__ import annotations

from iaptkit.charts import palette, plots, published

__all__ = ["palette", "plots", "published"]
