"""Jupyter niceties for the report notebooks: progress bars, one-line errors and Ctrl-C.

- :func:`progress_bar` is a ``progress(label, done, total)`` callback (the runner's and the
  measures' protocol) drawing a ``tqdm.auto`` bar: a widget in JupyterLab and classic Jupyter,
  text in a terminal or under papermill.
- :func:`quiet_errors` makes IPython show an :class:`~iaptkit.errors.IaptkitError` and a Ctrl-C
  (``KeyboardInterrupt``) as one line instead of a long traceback; other exceptions keep theirs.
  :func:`iaptkit.notebooks.context.setup_notebook` calls it, so every report notebook has it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iaptkit.errors import IaptkitError

__all__ = ["INTERRUPTED", "one_line", "progress_bar", "quiet_errors"]

#: What a Ctrl-C in a notebook cell shows.
INTERRUPTED = "Interrupted (Ctrl-C): the cell stopped; nothing after the last finished step ran."


def one_line(etype: type[BaseException], value: BaseException) -> str:
    """The one line shown for an iaptkit error or a Ctrl-C.

    Examples
    --------
    >>> from iaptkit.errors import ConfigError
    >>> one_line(ConfigError, ConfigError("period: end before start"))
    'ConfigError: period: end before start'
    >>> one_line(KeyboardInterrupt, KeyboardInterrupt()) == INTERRUPTED
    True
    """
    if issubclass(etype, KeyboardInterrupt):
        return INTERRUPTED
    message = getattr(value, "message", None) or str(value)
    return f"{etype.__name__}: {message}"


def _handler(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    # IPython discards what a custom handler returns when user code raises (run_code calls
    # CustomTB and ignores the result), so the handler shows the line itself: through the
    # shell's own traceback display, which a kernel sends to the front end as the cell's error
    # output (ename, evalue, one line), so papermill and nbconvert name the error too.
    lines = [one_line(etype, value)]
    show = getattr(shell, "_showtraceback", None)
    if callable(show):
        show(etype, value, lines)
    return lines


def quiet_errors(shell: Any | None = None) -> bool:
    """Show iaptkit errors and Ctrl-C in one line in this IPython session.

    Parameters
    ----------
    shell
        The IPython shell (default: the running one, if any).

    Returns
    -------
    bool
        Whether a shell was found and set up (``False`` outside IPython: nothing changes).

    Examples
    --------
    >>> quiet_errors(None)  # outside IPython
    False
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((IaptkitError, KeyboardInterrupt), _handler)
    return True


def _bar_class() -> Any:
    """``tqdm``'s widget bar where Jupyter can draw it (ipywidgets, the ``lab`` extra), else text.

    ``tqdm.auto`` warns in every notebook without ipywidgets (papermill, nbconvert); the text bar
    needs no widget and shows on the cell's stderr. A widget is drawn only in a kernel a Jupyter
    server started (it sets ``JPY_SESSION_NAME``): a papermill run has no frontend, and its saved
    notebook keeps the text bar where a widget would leave only a placeholder.
    """
    import os
    from importlib.util import find_spec

    if find_spec("ipywidgets") is not None and os.environ.get("JPY_SESSION_NAME"):
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(desc: str = "", **options: Any) -> Callable[[str, int, int], None]:
    """A ``progress(label, done, total)`` callback drawing a ``tqdm.auto`` bar.

    Parameters
    ----------
    desc
        The bar's description (the label of the current step is shown after it).
    options
        Passed to ``tqdm.auto.tqdm`` (e.g. ``disable=True``, ``file=...``).

    Returns
    -------
    callable
        Give it to :func:`iaptkit.notebooks.runner.run_grid` (``progress=``); the bar closes when
        ``done == total``.

    Examples
    --------
    >>> import io
    >>> update = progress_bar("runs", file=io.StringIO())
    >>> update("a", 0, 2); update("a", 1, 2); update("b", 2, 2)
    """
    tqdm = _bar_class()
    state: dict[str, Any] = {}

    def update(label: str, done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=desc, **options)
        bar.total = total
        bar.set_postfix_str(label, refresh=False)
        bar.update(max(done - bar.n, 0))
        if done >= total:
            bar.close()
            state.pop("bar")

    return update
