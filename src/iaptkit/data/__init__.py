"""Reading IAPT v2.x extracts: the table contract, loading, resubmission rules, validation.

>>> from iaptkit.data import TABLES
>>> "IDS101Referral" in TABLES
True
"""

from __future__ import annotations

from iaptkit.data.extract import Extract
from iaptkit.data.loading import load_extract
from iaptkit.data.schema import (
    CODE_LISTS,
    NHS_DERIVED_FIELDS,
    TABLES,
    FieldSpec,
    TableSpec,
    canonical_table_name,
    month_id,
    month_start,
)
from iaptkit.data.validation import validate
from iaptkit.data.validation_report import Problem, ValidationReport

__all__ = [
    "CODE_LISTS",
    "NHS_DERIVED_FIELDS",
    "TABLES",
    "Extract",
    "FieldSpec",
    "Problem",
    "TableSpec",
    "ValidationReport",
    "canonical_table_name",
    "load_extract",
    "month_id",
    "month_start",
    "validate",
]
