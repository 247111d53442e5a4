"""check-layers turns each silent failure of a new city into a named definition error.

Every test edits a copy of the real ``layers/`` directory in tmp_path and checks it
against the real source files in /work/shared/data.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from digitalcity.catalog import load_catalog
from digitalcity.catalog.validate import validate_catalog
from digitalcity.cli import app
from digitalcity.config import Settings

PROJECT_LAYERS = Path(__file__).resolve().parents[1] / "layers"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ZONING = SHARED / "cambridge_ma" / "CDD_ZoningDistricts.geojson"
ASSESSOR = SHARED / "cambridge_ma" / "TaxFY14.csv"  # the parcels' join carrying UseCode


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    root = tmp_path / "layers"
    shutil.copytree(PROJECT_LAYERS, root)
    return root


def check(root: Path) -> list[str]:
    settings = Settings(source_data_dir=SHARED, layers_dir=root, progress=False)
    return validate_catalog(load_catalog(root), settings)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_demo_layers_are_valid(layers: Path) -> None:
    assert check(layers) == []


def test_geographic_local_crs_is_an_error(layers: Path) -> None:
    city = layers / "cambridge" / "city.toml"
    text = city.read_text(encoding="utf-8")
    lines = [
        'local_crs = "EPSG:4258"' if line.startswith("local_crs") else line
        for line in text.splitlines()
    ]
    city.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check(layers)
    assert len(problems) == 1
    assert problems[0].startswith("cambridge: local_crs 'EPSG:4258' is geographic")


def test_a_city_folder_without_city_toml_is_an_error(layers: Path) -> None:
    orphan = layers / "newtown"
    orphan.mkdir()
    shutil.copy(layers / "xiamen" / "districts.toml", orphan / "districts.toml")
    assert check(layers) == ["newtown: folder has layer files but no city.toml"]


def test_missing_source_columns_are_named(layers: Path) -> None:
    edit(layers / "xiamen" / "districts.toml", 'source = "POPU_ETHNIC"', 'source = "POPU_ETHNIK"')
    # a join's key column too
    edit(
        layers / "cambridge" / "zoning_districts.toml",
        'right_key = "zone_type"',
        'right_key = "zone_typ"',
    )
    problems = check(layers)
    assert any(
        p.startswith("xiamen.districts: field 'ethnic_minority_share': source column 'POPU_ETHNIK'")
        for p in problems
    ), problems
    assert any(
        p.startswith(
            "cambridge.zoning_districts: join 'controls' right_key: source column 'zone_typ'"
        )
        for p in problems
    ), problems
    assert len(problems) == 2


def test_codes_missing_from_the_code_table_are_named_with_counts(layers: Path) -> None:
    data = pyogrio.read_dataframe(ZONING, columns=["ZONE_TYPE"], read_geometry=False)
    counts = Counter(data["ZONE_TYPE"].dropna().astype(str).str.strip())
    code, n = counts.most_common(1)[0]
    table = layers / "cambridge" / "cambridge_zoning_codes.csv"
    with table.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    kept = [r for r in rows if r["code"] != code]
    assert len(kept) == len(rows) - 1
    with table.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    problems = check(layers)
    assert problems == [
        f"cambridge.zoning_districts: codes not in code table cambridge_zoning: {code!r} ({n})"
    ]


def test_codes_missing_from_the_crosswalk_are_named_with_counts(layers: Path) -> None:
    path = layers / "cambridge" / "crosswalk_ma_use_to_tdyh2023.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # drop every residential rule (state codes 1xx), so each residential parcel is unmapped
    kept = [r for r in rows if not r["from_prefix"].startswith("1")]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    assessor = pyogrio.read_dataframe(ASSESSOR, columns=["UseCode"], read_geometry=False)
    codes = Counter(assessor["UseCode"].dropna().astype(str).str.strip())
    classes = load_catalog(layers).layer("cambridge", "parcels").classification
    assert classes is not None
    normalise = classes.normaliser  # the parcels definition's rules for Cambridge's codes
    residential = Counter({c: k for c, k in codes.items() if normalise(c)[:1] == "1"})
    top, n = residential.most_common(1)[0]
    problems = check(layers)
    assert len(problems) == 1
    assert problems[0].startswith(
        "cambridge.parcels: codes not in crosswalk cambridge/crosswalk_ma_use_to_tdyh2023.csv: "
    )
    assert f"{top!r} ({n})" in problems[0]


def test_unknown_semantic_keys_are_errors(layers: Path) -> None:
    edit(layers / "cambridge" / "zoning_districts.toml", "zone_name =", "zone_nmae =")
    assert check(layers) == [
        "cambridge.zoning_districts: unknown semantic keys ['zone_nmae'] (see catalog/semantics.py)"
    ]


def test_cli_reports_every_problem_and_fails(layers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit(layers / "cambridge" / "zoning_districts.toml", "zone_name =", "zone_nmae =")
    (layers / "newtown").mkdir()
    shutil.copy(layers / "xiamen" / "districts.toml", layers / "newtown" / "districts.toml")
    monkeypatch.setenv("DIGITALCITY_LAYERS_DIR", str(layers))
    monkeypatch.setenv("DIGITALCITY_SOURCE_DATA_DIR", str(SHARED))
    result = CliRunner().invoke(app, ["check-layers"])
    assert result.exit_code == 1, result.output
    assert "error: newtown: folder has layer files but no city.toml" in result.output
    assert "zone_nmae" in result.output
    assert "all layer definitions are valid" not in result.output


def test_a_city_with_its_own_source_dir_and_code_tables(layers: Path, tmp_path: Path) -> None:
    """source_dir in city.toml (absolute here) and a code table in <city>/codes/."""
    own = tmp_path / "own_sources" / "cambridge_ma"
    own.mkdir(parents=True)
    for name in ("CDD_ZoningDistricts.geojson", "ZoneListFromMunicode.csv", "zoning_controls.csv"):
        shutil.copy(SHARED / "cambridge_ma" / name, own / name)
    city = layers / "cambridge"
    for path in city.glob("*.toml"):
        if path.name not in ("city.toml", "zoning_districts.toml"):
            path.unlink()
    (city / "city.toml").write_text(
        'title = { zh = "剑桥", en = "Cambridge" }\n'
        'storage_crs = "EPSG:4326"\nlocal_crs = "EPSG:26986"\n'
        f'source_dir = "{own.parent}"\n[roles]\nzoning = "zoning_districts"\n',
        encoding="utf-8",
    )
    (city / "codes").mkdir()
    shutil.move(city / "cambridge_zoning_codes.csv", city / "codes" / "cambridge_zoning.csv")
    settings = Settings(source_data_dir=tmp_path / "elsewhere", layers_dir=layers, progress=False)
    catalog = load_catalog(layers)
    problems = [p for p in validate_catalog(catalog, settings) if p.startswith("cambridge")]
    assert problems == []
    shutil.rmtree(own)
    problems = [p for p in validate_catalog(catalog, settings) if p.startswith("cambridge")]
    assert problems and all(str(own) in p for p in problems)


def test_crosswalk_rows_match_exactly_unless_declared_prefix(tmp_path: Path) -> None:
    from digitalcity.catalog.codes import code_tables, load_crosswalk

    target = code_tables(PROJECT_LAYERS)["tdyh_2023"]
    with (PROJECT_LAYERS / "cambridge" / "crosswalk_ma_use_to_tdyh2023.csv").open(
        encoding="utf-8-sig"
    ) as fh:
        row = next(csv.DictReader(fh))
    l1, l2 = row["to_level1"], row["to_level2"]
    path = tmp_path / "crosswalk_streets_to_tdyh_2023.csv"
    path.write_text(
        f"from_prefix,to_level1,to_level2,note,match\nlane,{l1},{l2},,exact\nroad,{l1},{l2},,prefix\n",
        encoding="utf-8",
    )
    crosswalk = load_crosswalk(path, target)
    assert crosswalk.lookup("lane") == (l1, l2)
    assert crosswalk.lookup("lanes") is None
    assert crosswalk.lookup("roads") == (l1, l2)


def test_a_role_naming_a_layer_of_the_wrong_geometry_is_an_error(layers: Path) -> None:
    city = layers / "cambridge" / "city.toml"
    lines = city.read_text(encoding="utf-8").splitlines()
    lines = ['hydrants = "parcels"' if ln.startswith("hydrants =") else ln for ln in lines]
    city.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check(layers)
    assert problems == [
        "cambridge: role 'hydrants' names 'parcels', a MultiPolygon layer; "
        "it needs Point or MultiPoint"
    ]


def test_native_first_needs_coloured_native_classes(layers: Path) -> None:
    codes = layers / "cambridge" / "ma_use_codes.csv"
    rows = list(csv.reader(codes.open(encoding="utf-8")))
    for row in rows[1:]:
        row[5] = ""  # no colour anywhere
    with codes.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    problems = check(layers)
    assert problems == [
        "cambridge.parcels: the city puts its own classes first (land_use_primary = 'native') "
        "but no level-1 class of 'ma_use' has a colour to draw them with"
    ]
    edit(
        layers / "cambridge" / "city.toml",
        'land_use_primary = "native"',
        'land_use_primary = "standard"',
    )
    assert check(layers) == []


def test_a_role_naming_a_layer_of_the_wrong_kind_is_an_error(layers: Path) -> None:
    # water bodies are polygons, as zoning needs, but not a planning layer
    edit(
        layers / "cambridge" / "city.toml", 'zoning = "zoning_districts"', 'zoning = "water_bodies"'
    )
    problems = check(layers)
    assert len(problems) == 1 and problems[0].startswith(
        "cambridge: role 'zoning' names 'water_bodies', a basemap layer; it needs a layer of kind planning"
    ), problems
