"""Writing the pathway table to CSV or parquet, in one piece or part by part.

:class:`PathwayWriter` writes a pathway table (the frames of :func:`derive_pathways`) to one
file, as one frame or as successive parts in PathwayID order (``iaptkit derive`` on a long
extract), with the same result either way:

- CSV: the header once, then each part's rows;
- parquet: one file with a fixed schema (:data:`PATHWAY_ARROW_SCHEMA`; scores are
  ``decimal(12,4)``, docs/module-contracts.md "Pathway table"), one row group per part.

The file is written under a temporary name next to the output and renamed when complete, so a
failed or interrupted run never leaves a partial output under the requested name.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iaptkit.errors import ConfigError
from iaptkit.measures.pathway_schema import PATHWAY_COLUMNS, PATHWAY_TYPES, SCORE_COLUMNS

__all__ = ["PATHWAY_ARROW_SCHEMA", "PathwayWriter", "exact_scores"]

#: The parquet schema of the pathway table (docs/module-contracts.md "Pathway table"): the types of
#: :data:`~iaptkit.measures.pathway_schema.PATHWAY_TYPES`, e.g. scores ``decimal128(12, 4)``.
PATHWAY_ARROW_SCHEMA = pa.schema(
    [pa.field(c, PATHWAY_TYPES[c].to_pyarrow()) for c in PATHWAY_COLUMNS]
)


def exact_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with numeric score columns as :class:`decimal.Decimal` (four places) for parquet.

    :func:`~iaptkit.measures.derive.derive_pathways` returns scores as ``Float64``; the file's
    schema keeps them ``decimal(12,4)``, so each is rounded to four places, exactly.

    Examples
    --------
    >>> f = pd.DataFrame({"PHQ9_FirstScore": pd.array([10.5, None], dtype="Float64")})
    >>> exact_scores(f)["PHQ9_FirstScore"].tolist()
    [Decimal('10.5000'), None]
    """
    out = frame.copy()
    for col in SCORE_COLUMNS:
        if col in out.columns and out[col].dtype != object:
            out[col] = pd.Series(
                [None if pd.isna(v) else Decimal(f"{float(v):.4f}") for v in out[col]],
                index=out.index,
                dtype=object,
            )
    return out


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow pathway table as the frame :meth:`PathwayWriter.write` takes (Decimal scores)."""
    frame: pd.DataFrame = table.to_pandas(date_as_object=True)
    for col in SCORE_COLUMNS:
        frame[col] = pd.Series(table.column(col).to_pylist(), index=frame.index, dtype=object)
    frame["wait_to_first_treatment"] = frame["wait_to_first_treatment"].astype("Int64")
    return frame


class PathwayWriter:
    """Write pathway-table frames, one after another, to ``output`` (``.csv`` or ``.parquet``).

    Use as a context manager: the output appears only when the block ends without an error.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.measures.derive import derive_pathways
    >>> frame = derive_pathways(example_extract(), date(2024, 6, 30))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with PathwayWriter(Path(d) / "p.parquet") as out:
    ...         out.write(frame.iloc[:1])
    ...         out.write(frame.iloc[1:])
    ...     back = pd.read_parquet(Path(d) / "p.parquet")
    >>> len(back) == len(frame), out.rows == len(frame)
    (True, True)
    """

    def __init__(self, output: Path) -> None:
        suffix = output.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise ConfigError(f"output {output}: expected a .csv or .parquet file.")
        self.output = output
        self.rows = 0
        self._csv = suffix == ".csv"
        self._parquet: pq.ParquetWriter | None = None
        output.parent.mkdir(parents=True, exist_ok=True)
        # a new name next to the output, created by the writer itself (the usual permissions)
        self._temp = output.parent / f".{output.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (columns of the pathway table, in order)."""
        frame = frame.loc[:, list(PATHWAY_COLUMNS)]
        frame = exact_scores(frame)
        if self._csv:
            frame.to_csv(
                self._temp, index=False, mode="w" if self.rows == 0 else "a", header=self.rows == 0
            )
        else:
            table = pa.Table.from_pandas(frame, schema=PATHWAY_ARROW_SCHEMA, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._temp, PATHWAY_ARROW_SCHEMA)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def write_arrow(self, table: pa.Table) -> None:
        """Append the rows of an Arrow table (columns of the pathway table, in order).

        The fast path of ``iaptkit derive`` to parquet: no conversion through pandas (the
        file is the same as :meth:`write` of the equivalent frame). CSV goes through
        :meth:`write`, whose text layout (``True``/``False``, four-place decimals) it keeps.
        """
        table = table.select(list(PATHWAY_COLUMNS)).cast(PATHWAY_ARROW_SCHEMA)
        if self._csv:
            self.write(_arrow_frame(table))
            return
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._temp, PATHWAY_ARROW_SCHEMA)
        self._parquet.write_table(table)
        self.rows += table.num_rows

    def __enter__(self) -> PathwayWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif not self._csv and kind is None:
            # no rows at all: an empty table with the schema
            pq.write_table(PATHWAY_ARROW_SCHEMA.empty_table(), self._temp)
        if kind is None and self._csv and self.rows == 0:
            pd.DataFrame(columns=list(PATHWAY_COLUMNS)).to_csv(self._temp, index=False)
        if kind is None:
            self._temp.replace(self.output)
        else:
            self._temp.unlink(missing_ok=True)
