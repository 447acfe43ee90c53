"""A matplotlib figure that shows itself as a PNG in every Jupyter front end.

iaptkit draws on :class:`matplotlib.figure.Figure` objects, never through ``pyplot`` (no global
figure state, nothing left open). IPython's PNG formatter for figures is registered only when
``pyplot`` is imported under the inline backend, so a bare ``Figure`` left as a cell's last
expression came out as the text ``<Figure size 800x450 with 1 Axes>`` under papermill,
nbconvert, JupyterLab and classic Jupyter alike. :class:`ChartFigure` answers IPython's
``_repr_png_`` itself, so the image is in the notebook's outputs whatever the backend.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["ChartFigure", "png_bytes"]

#: Resolution of the PNG shown in notebooks and embedded in the reviewer report.
DPI = 100


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure rendered as PNG bytes.

    Parameters
    ----------
    fig
        Any matplotlib figure.
    dpi
        Resolution.

    Returns
    -------
    bytes
        The PNG file's content.

    Examples
    --------
    >>> png_bytes(ChartFigure(figsize=(2, 1)))[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class ChartFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` with IPython's PNG representation.

    Examples
    --------
    >>> fig = ChartFigure(figsize=(2, 1))
    >>> fig._repr_png_()[:4]
    b'\\x89PNG'
    """

    def _repr_png_(self) -> bytes:
        return png_bytes(self)

    def __repr__(self) -> str:
        w, h = self.get_size_inches()
        return f"<iaptkit chart {w:g}x{h:g} in, {len(self.axes)} axes: {self._title()!r}>"

    def _title(self) -> str:
        titles = [ax.get_title() for ax in self.axes if ax.get_title()]
        return titles[0] if titles else ""
