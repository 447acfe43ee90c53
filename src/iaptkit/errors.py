"""The iaptkit exception family.

Every error a user can cause (a bad file, a missing column, an unknown policy) is an
:class:`IaptkitError` whose message says what was expected, what was found and where
(file, table, column, row count). The CLI prints these without a traceback and exits 1
(2 when refusing bad input).
Anything else escaping is a bug in iaptkit and is shown with its traceback.
"""

from __future__ import annotations

__all__ = [
    "AuditFailedError",
    "ConfigError",
    "DefinitionsError",
    "ExtractError",
    "IaptkitError",
    "NotebookError",
    "PolicyError",
    "ReleaseError",
    "ValidationError",
]


class IaptkitError(Exception):
    """Base class of every user-facing iaptkit error.

    Parameters
    ----------
    message
        One or more sentences: what was expected, what was found, and where.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(IaptkitError):
    """A configuration file or option is malformed (YAML, CLI options, parameters)."""


class ExtractError(IaptkitError):
    """An extract cannot be found or read: missing folder, file, table or column."""


class ValidationError(IaptkitError):
    """An extract has fatal validation problems (missing required tables or columns)."""


class DefinitionsError(ConfigError):
    """A measure definitions file is malformed or inconsistent."""


class PolicyError(ConfigError):
    """A disclosure-control policy is unknown, malformed or inconsistent."""


class AuditFailedError(IaptkitError):
    """A protected output failed its disclosure audit and must not be released."""


class ReleaseError(IaptkitError):
    """A release cannot be registered, built or verified."""


class NotebookError(IaptkitError):
    """A notebook run failed or its parameters do not match the notebook."""
