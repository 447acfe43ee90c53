"""Loading: formats, names, types, errors (iaptkit.data.loading, sources, extract)."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_builder import AS_AT_MID_AUGUST, frames

from iaptkit.data import TABLES, load_extract
from iaptkit.errors import ExtractError

FORMATS = ("csv", "csv.gz", "txt", "parquet", "parquet_typed", "duckdb")


def write_extract(frames_: dict[str, pd.DataFrame], out: Path, fmt: str) -> Path:
    """Write the text frames in one format; ``parquet_typed`` uses native types per the schema."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "duckdb":
        db = out / "extract.duckdb"
        con = duckdb.connect(str(db))
        for name, frame in frames_.items():
            con.register("frame", frame)
            con.execute(f'CREATE TABLE "{name.lower()}" AS SELECT * FROM frame')
            con.unregister("frame")
        con.close()
        return db
    for name, frame in frames_.items():
        if fmt == "csv":
            frame.to_csv(out / f"{name}.csv", index=False)
        elif fmt == "csv.gz":
            with gzip.open(out / f"{name.lower()}.csv.gz", "wt", encoding="utf-8") as fh:
                frame.to_csv(fh, index=False)
        elif fmt == "txt":
            frame.to_csv(out / f"{name}.txt", sep="|", index=False)
        elif fmt == "parquet":
            pq.write_table(
                pa.Table.from_pandas(frame, preserve_index=False), out / f"{name}.parquet"
            )
        elif fmt == "parquet_typed":
            spec = TABLES[name]
            cols = {}
            for col in frame.columns:
                kind = spec.field(col).type
                values = [None if pd.isna(v) else v for v in frame[col]]
                if kind == "int":
                    cols[col] = pa.array(
                        [None if v is None else int(v) for v in values], type=pa.int64()
                    )
                elif kind == "date":
                    cols[col] = pa.array(
                        [None if v is None else date.fromisoformat(v) for v in values],
                        type=pa.date32(),
                    )
                else:
                    cols[col] = pa.array(list(values), type=pa.string())
            pq.write_table(pa.table(cols), out / f"{name}.parquet")
    return out


def sorted_frame(ex, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = ex.table(name).execute()
    keys = list(TABLES[name].key)
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference() -> dict[str, pd.DataFrame]:
    ex = load_extract(frames())
    out = {name: sorted_frame(ex, name) for name in ex.table_names()}
    ex.close()
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_to_the_same_typed_tables(
    tmp_path: Path, fmt: str, reference: dict[str, pd.DataFrame]
) -> None:
    src = write_extract(frames(), tmp_path / fmt.replace(".", "_"), fmt)
    with load_extract(src) as ex:
        assert ex.table_names() == tuple(reference)
        for name, expected in reference.items():
            pd.testing.assert_frame_equal(sorted_frame(ex, name), expected, check_dtype=True)


def test_typed_values_follow_the_data_model(reference: dict[str, pd.DataFrame]) -> None:
    contacts = reference["IDS201CareContact"]
    # codes keep their leading zeros and stay text
    assert contacts.AppType.tolist() == ["01", "01", "03", "02", "01"]
    referrals = reference["IDS101Referral"]
    assert referrals.UniqueSubmissionID.tolist() == [101, 101, 102, 103, 201, 202]
    # "true", "True", "Y", "1" are true; "false" is false
    assert referrals.UsePathway_Flag.tolist() == [True, True, True, True, True, False]
    assert referrals.ServDischDate.iloc[3] == pd.Timestamp("2024-08-20")
    # optional NHS fields absent from the source are typed nulls
    assert referrals.PHQ9_FirstScore.isna().all()
    assert referrals.TreatmentCareContact_Count.isna().all()


def test_dataframes_of_any_dtype_convert_as_csv_text() -> None:
    frame = pd.DataFrame(
        {
            "uniquesubmissionid": [7, 7, 7],
            "UNIQUE_MONTHID": [1492.0, 1492.0, None],
            "OrgID_Provider": ["R1A", "R1A", "R1A"],
            "PathwayID": ["P1", "P2", "P3"],
            "CareContactId": ["C1", "C2", "C3"],
            "CareContDate": [date(2024, 7, 1), datetime(2024, 7, 2, 13, 5), "2024-07-03"],
            "AppType": ["02", "2", None],
            "AttendOrDNACode": [5, 6, 3],
            "PlannedCareContIndicator": ["Y", "N", "Y"],
        }
    )
    with load_extract({"ids201carecontact": frame}) as ex:
        raw = ex.raw("IDS201CareContact").execute().sort_values("PathwayID")
        typed = ex.table("IDS201CareContact").execute().sort_values("PathwayID")
    assert raw.Unique_MonthID.tolist()[:2] == ["1492", "1492"]
    assert raw.CareContDate.tolist() == ["2024-07-01", "2024-07-02 13:05:00", "2024-07-03"]
    assert raw.AttendOrDNACode.tolist() == ["5", "6", "3"]
    assert typed.AppType.tolist()[:2] == ["02", "2"]
    assert typed.CareContDate.dt.day.tolist() == [1, 2, 3]
    assert typed.Unique_MonthID.isna().tolist() == [False, False, True]


def test_column_and_table_names_are_case_insensitive(tmp_path: Path) -> None:
    frame = frames()["IDS001MPI"].rename(columns=str.upper)
    frame.to_csv(tmp_path / "ids001mpi.csv", index=False)
    with load_extract(tmp_path) as ex:
        assert ex.has_table("IDS001MPI")
        assert ex.has_table("ids001mpi")
        assert ex.has_column("IDS001MPI", "person_id")
        assert not ex.has_column("IDS001MPI", "OrgIDSubICBLocResidence")
        assert ex.table("IDS001MPI").Person_ID.execute().tolist()[:2] == ["PER1", "PER3"]


def test_parquet_numeric_codes_are_kept_as_their_text(tmp_path: Path) -> None:
    frame = frames()["IDS201CareContact"].copy()
    frame["AppType"] = [1, 1, 3, 2, 1]  # a writer lost the leading zeros
    frame.to_parquet(tmp_path / "IDS201CareContact.parquet")
    with load_extract(tmp_path) as ex:
        assert ex.tables["IDS201CareContact"].source_types["AppType"] == "int64"
        assert sorted(ex.table("IDS201CareContact").AppType.execute()) == ["1", "1", "1", "2", "3"]


def test_extra_columns_stay_in_raw_but_not_in_table() -> None:
    frame = frames()["IDS001MPI"].assign(LocalNote=["x"] * 6)
    with load_extract({"IDS001MPI": frame}) as ex:
        assert "LocalNote" in ex.raw("IDS001MPI").columns
        assert "LocalNote" not in ex.table("IDS001MPI").columns
        assert ex.has_column("IDS001MPI", "localnote")


def test_unknown_and_metadata_files_are_listed(tmp_path: Path) -> None:
    write_extract(frames(), tmp_path, "csv")
    (tmp_path / "_synth.json").write_text("{}")
    (tmp_path / "readme.md").write_text("notes")
    (tmp_path / "IDS999Other.csv").write_text("a\n1\n")
    with load_extract(tmp_path) as ex:
        assert ex.unknown_files == ("IDS999Other.csv", "readme.md")


def test_missing_folder_is_an_extract_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match=r"does not exist: expected a folder"):
        load_extract(tmp_path / "nowhere")


def test_unknown_table_name_in_a_mapping_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match=r"Unknown table 'IDS999' .* expected one of IDS000"):
        load_extract({"IDS999": pd.DataFrame({"a": [1]})})


def test_unreadable_file_is_an_extract_error(tmp_path: Path) -> None:
    (tmp_path / "IDS101Referral.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(ExtractError, match=r"Cannot read table IDS101Referral from .*parquet"):
        load_extract(tmp_path)


def test_two_files_for_one_table_is_an_extract_error(tmp_path: Path) -> None:
    frames()["IDS001MPI"].to_csv(tmp_path / "IDS001MPI.csv", index=False)
    frames()["IDS001MPI"].to_parquet(tmp_path / "ids001mpi.parquet")
    with pytest.raises(ExtractError, match=r"IDS001MPI appears twice"):
        load_extract(tmp_path)


def test_missing_required_column_names_what_is_present() -> None:
    frame = frames()["IDS201CareContact"].drop(columns=["AppType"])
    with load_extract({"IDS201CareContact": frame}) as ex:
        with pytest.raises(ExtractError, match=r"has no column AppType \(required\); columns"):
            ex.table("IDS201CareContact")
        # raw() still works: validation reports the missing column
        assert "AppType" not in ex.raw("IDS201CareContact").columns


def test_absent_table_is_an_extract_error_listing_tables() -> None:
    with load_extract({"IDS001MPI": frames()["IDS001MPI"]}) as ex:
        with pytest.raises(ExtractError, match=r"IDS201CareContact is not in extract .* IDS001MPI"):
            ex.table("ids201carecontact")
        with pytest.raises(ExtractError, match=r"Unknown table 'IDS7'"):
            ex.table("IDS7")


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path) -> None:
    write_extract(frames(), tmp_path, "csv")
    with load_extract(tmp_path) as ex:
        first = ex.fingerprint()
        assert first == ex.fingerprint()
    frame = frames()["IDS001MPI"]
    pd.concat([frame, frame.head(1)]).to_csv(tmp_path / "IDS001MPI.csv", index=False)
    with load_extract(tmp_path) as ex:
        assert ex.fingerprint() != first


def test_a_folder_is_read_lazily_through_duckdb_views(tmp_path: Path) -> None:
    write_extract(frames(), tmp_path, "parquet")
    with load_extract(tmp_path) as ex:
        kinds = dict(
            ex.con.con.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_name LIKE 'src_%'"
            ).fetchall()
        )
        temp_dir = ex.con.con.execute("SELECT current_setting('temp_directory')").fetchall()[0]
        assert set(kinds.values()) == {"VIEW"}
        assert len(kinds) == len(frames())
        assert "iaptkit-duckdb-" in str(temp_dir[0])
        assert len(ex.referrals_as_at(AS_AT_MID_AUGUST).execute()) == 2


def test_a_dataframe_without_columns_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match=r"Table 'IDS201CareContact' has no columns: expected"):
        load_extract({"IDS201CareContact": pd.DataFrame()})
