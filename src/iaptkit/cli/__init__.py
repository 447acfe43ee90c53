"""The command line: every ``iaptkit`` command and all terminal output.

This is the only code that prints.
"""

from __future__ import annotations

from iaptkit.cli.app import app, main

__all__ = ["app", "main"]
