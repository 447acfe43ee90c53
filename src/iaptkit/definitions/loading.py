"""Load a measure definitions YAML file into :class:`~iaptkit.definitions.model.Definitions`.

The packaged default is ``iaptkit/definitions/iapt-v2.yaml``; a site may pass its own file.
The YAML is read here and checked by :func:`iaptkit.definitions.parse.parse_definitions`, whose
:class:`~iaptkit.errors.DefinitionsError` messages name the file, the key, what was expected and
what was found.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from iaptkit.definitions.model import Definitions
from iaptkit.definitions.parse import parse_definitions
from iaptkit.definitions.yaml_text import yaml_data
from iaptkit.errors import DefinitionsError

__all__ = ["DEFAULT_DEFINITIONS", "PACKAGED_DEFINITIONS", "load_definitions"]

#: Name of the packaged default definitions file (in ``iaptkit/definitions/``).
DEFAULT_DEFINITIONS = "iapt-v2.yaml"
#: The packaged definitions sets, by the name ``--definitions`` accepts.
PACKAGED_DEFINITIONS: tuple[str, ...] = ("iapt-v2", "nhs-published")


def load_definitions(path: str | Path | None = None) -> Definitions:
    """Load and validate a definitions YAML file.

    Parameters
    ----------
    path
        A site's own definitions file, or ``None`` for the packaged default
        (``iaptkit/definitions/iapt-v2.yaml``), or the name of a packaged set
        (:data:`PACKAGED_DEFINITIONS`: ``nhs-published`` for NHS publication conventions).

    Returns
    -------
    Definitions
        Frozen definitions; every derived table carries ``Definitions.version``.

    Raises
    ------
    DefinitionsError
        If the file is missing, not YAML, or a key is missing or malformed (the message names
        the file, the key, what was expected and what was found).

    Notes
    -----
    Values come from docs/measures.md §1, §3 and §4 (NHS Digital, "A guide to IAPT data
    and publications", 2021, §7.4, §7.7 and Appendix B) and docs/data-model.md code lists; each
    value in the YAML names its source. ``scores.strict_comparison: true`` turns every ``>=`` into
    ``>`` (docs/measures.md §4, the guide's prose says "above").

    Examples
    --------
    >>> d = load_definitions()
    >>> d.version
    'iapt-v2-2026.1'
    >>> d.measures["PHQ9"].case_threshold, d.measures["PHQ9"].case_operator
    (Decimal('10'), '>=')
    >>> load_definitions("nhs-published").breakdowns.gender["9"]
    'Indeterminate'
    """
    name = None if path is None else str(path)
    if name is None or (name in PACKAGED_DEFINITIONS and not Path(name).is_file()):
        file = DEFAULT_DEFINITIONS if name is None else f"{name}.yaml"
        resource = resources.files("iaptkit.definitions") / file
        where = f"(packaged) {file}"
        text = resource.read_text(encoding="utf-8")
    else:
        p = Path(name)
        where = str(p)
        if not p.is_file():
            raise DefinitionsError(
                f"Definitions file {where} was not found (expected a YAML file)."
            )
        text = p.read_text(encoding="utf-8")
    try:
        raw = yaml_data(text)
    except yaml.YAMLError as exc:
        raise DefinitionsError(f"Definitions file {where} is not valid YAML: {exc}") from None
    return parse_definitions(raw, where)
