"""The versioned definitions: thresholds, code lists and every choice the measures make.

Definitions are data: a YAML file shipped in this package (``iapt-v2.yaml``) or supplied by a
site, loaded into frozen dataclasses and passed explicitly to everything that computes a measure.

>>> from iaptkit.definitions import load_definitions
>>> load_definitions().version
'iapt-v2-2026.1'
"""

from __future__ import annotations

from iaptkit.definitions.catalogue_rules import CatalogueRules
from iaptkit.definitions.loading import load_definitions
from iaptkit.definitions.model import Definitions, ScoreMeasure

__all__ = ["CatalogueRules", "Definitions", "ScoreMeasure", "load_definitions"]
