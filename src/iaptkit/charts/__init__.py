"""Charts drawn from protected tables only (the palette is shared with the reviewer report)."""

from __future__ import annotations

from iaptkit.charts import plots

__all__ = ["plots"]
