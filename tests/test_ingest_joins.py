"""Join tables reduced to one row per key, on small CSV files written at test time (no database)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from digitalcity.catalog.model import LayerDef
from digitalcity.errors import SourceError
from digitalcity.ingest.join_tables import read_table
from digitalcity.ingest.joins import normalise_key, prepare_joins

# one assessor-like table: "7" has its master row (use 199) between its units; "8" has no master
# row; "9" has only one; "10" units tie on their use codes; rows without a key count for none
ASSESSOR = """\
ML,UseCode,Use,Value,Note
7,102,CONDO A,10,first unit
7,199,CONDO BLDG,,building
7,101,SINGLE,20,
7,102,CONDO B,abc,
8,104,TWO-FAM,1,
8,105,THREE-FAM,2,
8,105,THREE-FAM B,3,
9,199,CONDO BLDG 9,,only the building
10,199,CONDO BLDG 10,5,
10,102,CONDO,1,
10,101,SINGLE,2,
10,101,SINGLE B,3,
10,102,CONDO B,4,
,199,NO KEY,1000,
,101,NO KEY,1000,
"""

FIELDS = {
    "address": "master",
    "use_code": "mode_other",
    "use": "mode_other",
    "note": "mode_other",
    "value": "sum",
    "rows": "count",
    "units": "count_other",
}
SOURCES = {
    "address": "Use",
    "use_code": "UseCode",
    "use": "Use",
    "note": "Note",
    "value": "Value",
    "rows": "ML",
    "units": "ML",
}


def prepare(
    tmp_path: Path, text: str, fields: dict[str, str], sources: dict[str, str], **join: object
) -> pd.DataFrame:
    """The one join of a layer reading ``fields`` (name -> aggregate) from ``text``."""
    (tmp_path / "table.csv").write_text(text, encoding=str(join.pop("encoding", "utf-8")))
    layer = LayerDef.model_validate(
        {
            "id": "parcels",
            "city": "cambridge",
            "title": {"zh": "地块", "en": "Parcels"},
            "kind": "landuse",
            "geometry_type": "MultiPolygon",
            "source": {
                "path": "parcels.geojson",
                "joins": [{"name": "t", "path": "table.csv", **join}],
            },
            "fields": [
                {
                    "name": name,
                    "source": f"t.{sources[name]}",
                    "aggregate": aggregate,
                    "title": {"zh": name, "en": name},
                }
                for name, aggregate in fields.items()
            ],
        }
    )
    [prepared] = prepare_joins(layer, tmp_path)
    return prepared.values


@pytest.fixture
def assessor(tmp_path: Path) -> pd.DataFrame:
    master = {"column": "UseCode", "values": ["199"]}
    return prepare(
        tmp_path, ASSESSOR, FIELDS, SOURCES, left_key="ML", right_key="ML", master=master
    )


def test_one_row_per_key_sorted_as_text(assessor):
    assert assessor.index.tolist() == ["10", "7", "8", "9"]  # rows without a key are ignored
    assert assessor.index.name == "__key"
    assert list(assessor.columns) == list(FIELDS)


def test_master_row(assessor):
    assert assessor.loc["7", "address"] == "CONDO BLDG"  # the master row, though not first
    assert assessor.loc["8", "address"] == "TWO-FAM"  # no master row: the first row
    assert assessor.loc["9", "address"] == "CONDO BLDG 9"


def test_mode_other_takes_the_first_row_with_the_commonest_value(assessor):
    # 7: 102 twice, 101 once -> the first 102 row
    assert assessor.loc["7", ["use_code", "use", "note"]].tolist() == [
        "102",
        "CONDO A",
        "first unit",
    ]
    # 8 (no master row): 105 twice -> the first 105 row; its missing note falls back to the
    # master row's (here the first row's) note, which is missing too
    assert assessor.loc["8", ["use_code", "use"]].tolist() == ["105", "THREE-FAM"]
    assert assessor.loc["8", "note"] is None
    # 10: 101 and 102 twice each -> the smaller value, then its first row
    assert assessor.loc["10", ["use_code", "use"]].tolist() == ["101", "SINGLE"]


def test_mode_other_of_a_key_with_only_a_master_row_is_the_master_row(assessor):
    assert assessor.loc["9", ["use_code", "use", "note"]].tolist() == [
        "199",
        "CONDO BLDG 9",
        "only the building",
    ]


def test_mode_other_falls_back_to_the_master_value_where_the_typical_row_has_none(tmp_path):
    text = "ML,UseCode,Note\n7,199,building\n7,102,\n7,102,second\n"
    values = prepare(
        tmp_path,
        text,
        {"note": "mode_other"},
        {"note": "Note"},
        left_key="ML",
        right_key="ML",
        master={"column": "UseCode", "values": ["199"]},
    )
    assert values.loc["7", "note"] == "building"


def test_sum_adds_numbers_and_is_missing_without_any(assessor):
    assert assessor["value"].dtype == "float64"
    assert assessor.loc["7", "value"] == 30.0  # 10 + 20; "abc" and the empty cell are skipped
    assert assessor.loc["8", "value"] == 6.0
    assert assessor.loc["10", "value"] == 15.0
    assert math.isnan(assessor.loc["9", "value"])  # min_count: nothing to add is missing


def test_sum_of_whole_numbers_stays_integer(tmp_path):
    text = "ML,Value\n1,007\n1,-3\n2,9000000000\n"
    values = prepare(
        tmp_path, text, {"value": "sum"}, {"value": "Value"}, left_key="ML", right_key="ML"
    )
    assert values["value"].dtype == "int64"
    assert values["value"].to_dict() == {"1": 4, "2": 9_000_000_000}


def test_count_and_count_other(assessor):
    assert assessor["rows"].to_dict() == {"10": 5, "7": 4, "8": 3, "9": 1}
    assert assessor["units"].to_dict() == {"10": 4, "7": 3, "8": 3, "9": 0}
    assert assessor["units"].dtype == "int64"


def test_keys_are_normalised(tmp_path):
    text = "ML,Use\n 12.0 ,a\n12,b\n12.50,c\n-4.00,d\n"
    values = prepare(
        tmp_path,
        text,
        {"use": "master", "rows": "count"},
        {"use": "Use", "rows": "ML"},
        left_key="ML",
        right_key="ML",
    )
    assert values["rows"].to_dict() == {"-4": 1, "12": 2, "12.50": 1}
    assert values.loc["12", "use"] == "a"
    assert normalise_key(pd.Series([" 7.000", "7.01", None])).tolist()[:2] == ["7", "7.01"]


def test_row_order_join(tmp_path):
    text = "id,population\n1,5\n0,\n2,7.5\n"
    values = prepare(
        tmp_path,
        text,
        {"density": "master"},
        {"density": "population"},
        how="row_order",
        row_id="id",
    )
    assert values.index.tolist() == [1, 0, 2]
    assert values["density"].tolist() == ["5", None, "7.5"]


def test_read_table_keeps_text_and_drops_empty_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(' id , name ,other\n007,"a, ""b""",x\n,,\n008,,y\n')
    table = read_table(path, columns=["id", "name"])
    assert list(table.columns) == ["id", "name"]
    assert table.values.tolist() == [["007", 'a, "b"'], ["008", None]]
    assert table.index.tolist() == [0, 2]


def test_read_table_names_the_columns_it_has(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match=r"t.csv: no column 'c' \(has a, b\)"):
        read_table(path, columns=["a", "c"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\n1\n  \n2\n", [["1"], ["2"]]),  # one column: pandas skips the line of blanks
        ("a,b\n1,2\n3\n", [["1", "2"], ["3", None]]),  # a short row is filled
        ("a,b\r1,2\r3,4\r", [["1", "2"], ["3", "4"]]),  # lone carriage returns
    ],
)
def test_read_table_reads_what_pyarrow_would_read_otherwise_as_pandas(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    assert read_table(path).values.tolist() == expected


def test_read_table_refuses_a_file_ending_inside_quotes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,2\n3,"4\n')
    with pytest.raises(SourceError, match="cannot read t.csv: .*EOF inside string"):
        read_table(path)


def test_read_table_decodes_gbk(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("名称,人口\n思明区,1\n".encode("gbk"))
    assert read_table(path, "gbk").to_dict("records") == [{"名称": "思明区", "人口": "1"}]
    with pytest.raises(SourceError, match="cannot read t.csv: 'utf-8' codec can't decode"):
        read_table(path)
