"""One palette for iaptkit's charts and the reviewer report.

Colours follow the NHS identity guidelines (NHS Blue ``#005eb8`` and its companions), so charts
and the report read as one document. Cells of a protected table have a state, each with a fill
(background) and a text colour: ``published`` (shown as is), ``rounded`` (published after
rounding), ``suppressed`` (shown as ``*``; ``primary`` and ``secondary`` suppression can be told
apart), ``structural_zero`` and ``failed`` (a cell that failed the audit). Outputs of a release
have a status (``pass``, ``review``, ``fail``). Everything here is an immutable constant or a pure
function of them. The cell colours live in :mod:`iaptkit.sdc.layout` (the protected
tables' notebook display uses them too) and are re-exported here.

Examples
--------
>>> CELL_FILL["suppressed"], STATUS["pass"]
('#ffd966', '#007f3b')
>>> series_colours(3)
('#005eb8', '#ed8b00', '#009639')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from iaptkit.sdc.layout import CELL_FILL, CELL_STATES, CELL_TEXT

__all__ = [
    "BORDER",
    "CELL_FILL",
    "CELL_STATES",
    "CELL_TEXT",
    "LIMIT_95",
    "LIMIT_998",
    "NHS_BLUE",
    "PUBLISHED",
    "SERIES",
    "STATUS",
    "STATUS_ACCENT",
    "SUPPRESSED",
    "TARGET",
    "TEXT",
    "css_variables",
    "series_colours",
]

NHS_BLUE: Final = "#005eb8"
TEXT: Final = "#212b32"  # also iaptkit.sdc.layout.TEXT
BORDER: Final = "#aeb7bd"

#: Bars, lines and points of published values.
PUBLISHED: Final = NHS_BLUE
#: The ``*`` drawn where a chart's cell is suppressed.
SUPPRESSED: Final = "#d5281b"

#: Funnel plots: the 95 % and 99.8 % control limits and the target line.
LIMIT_95: Final = "#768692"
LIMIT_998: Final = "#425563"
TARGET: Final = TEXT

#: Colours of the series of a chart (one per ``hue`` value), in order; told apart by
#: readers with the common colour-vision deficiencies when used with the chart's labels.
SERIES: Final = (
    NHS_BLUE,
    "#ed8b00",
    "#009639",
    "#7c2855",
    "#41b6e6",
    "#ffb81c",
    "#425563",
    "#330072",
)

#: A release output's status: the badge colour (white text on it).
STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {"pass": "#007f3b", "review": "#b36b00", "fail": "#d5281b"}
)
#: A release output's status: the accent (e.g. the left border of its section).
STATUS_ACCENT: Final[Mapping[str, str]] = MappingProxyType(
    {"pass": "#007f3b", "review": "#ffb81c", "fail": "#d5281b"}
)


def series_colours(n: int) -> tuple[str, ...]:
    """The colours of ``n`` series, from :data:`SERIES` (repeated when there are more).

    Parameters
    ----------
    n
        Number of series (``hue`` values) in the chart.

    Returns
    -------
    tuple of str
        ``n`` hex colours.

    Examples
    --------
    >>> len(series_colours(10)), series_colours(10)[8] == SERIES[0]
    (10, True)
    """
    return tuple(SERIES[i % len(SERIES)] for i in range(max(n, 0)))


def css_variables(prefix: str = "--iaptkit") -> str:
    """The palette as CSS custom properties, for a report's ``<style>``.

    Parameters
    ----------
    prefix
        Start of every property name.

    Returns
    -------
    str
        One ``:root { ... }`` rule: ``{prefix}-cell-<state>`` and ``{prefix}-cell-<state>-text``
        for every cell state, ``{prefix}-status-<status>`` and ``{prefix}-status-<status>-accent``,
        ``{prefix}-blue``, ``{prefix}-text`` and ``{prefix}-border``.

    Examples
    --------
    >>> "--iaptkit-cell-suppressed: #ffd966;" in css_variables()
    True
    """
    lines = [
        f"{prefix}-blue: {NHS_BLUE};",
        f"{prefix}-text: {TEXT};",
        f"{prefix}-border: {BORDER};",
    ]
    for state in CELL_STATES:
        name = state.replace("_", "-")
        lines.append(f"{prefix}-cell-{name}: {CELL_FILL[state]};")
        lines.append(f"{prefix}-cell-{name}-text: {CELL_TEXT[state]};")
    for status in STATUS:
        lines.append(f"{prefix}-status-{status}: {STATUS[status]};")
        lines.append(f"{prefix}-status-{status}-accent: {STATUS_ACCENT[status]};")
    return ":root {\n" + "\n".join(f"  {line}" for line in lines) + "\n}\n"
