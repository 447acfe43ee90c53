"""Shared fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iaptkit.data import Extract, load_extract
from iaptkit.synth.generate import write_synthetic


@pytest.fixture(scope="session")
def faulty_extract_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-pathway synthetic year (April 2023 to March 2024) with 2 % faults, written once."""
    folder = tmp_path_factory.mktemp("faulty-extract")
    write_synthetic(folder, pathways=3_000, months=12, providers=4, seed=11, faults=0.02)
    return folder


@pytest.fixture
def faulty_extract(faulty_extract_folder: Path) -> Iterator[Extract]:
    """:func:`faulty_extract_folder`, opened (and closed after the test)."""
    extract = load_extract(faulty_extract_folder)
    yield extract
    extract.close()
