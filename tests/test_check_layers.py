"""check-layers catches what would fail, or go silently wrong, later: each case edits a copy of
the real layers directory (in tmp_path) and expects its one-line problem."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from digitalcity.catalog import load_catalog
from digitalcity.catalog.validate import validate_catalog
from digitalcity.config import PROJECT_ROOT, Settings


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    copy = tmp_path / "layers"
    shutil.copytree(PROJECT_ROOT / "layers", copy)
    return copy


def _problems(layers: Path) -> list[str]:
    settings = Settings(layers_dir=layers, source_data_dir=SHARED_DATA, data_dir=layers.parent)
    return validate_catalog(load_catalog(layers), settings)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_real_definitions_pass(layers: Path) -> None:
    assert _problems(layers) == []


def test_a_geographic_local_crs(layers: Path) -> None:
    _edit(layers / "xiamen" / "city.toml", 'local_crs = "EPSG:4548"', 'local_crs = "EPSG:4258"')
    assert any("xiamen: local_crs EPSG:4258 is geographic" in p for p in _problems(layers))


def test_a_city_folder_without_city_toml(layers: Path) -> None:
    (layers / "newtown").mkdir()
    shutil.copy(layers / "beijing" / "districts.toml", layers / "newtown" / "districts.toml")
    assert any(p.startswith("newtown: 1 layer file(s) but no city.toml") for p in _problems(layers))


def test_a_source_column_that_does_not_exist(layers: Path) -> None:
    _edit(
        layers / "cambridge" / "zoning_districts.toml",
        'source = "ZONE_TYPE"',
        'source = "ZONE_TYPO"',
    )
    problems = _problems(layers)
    assert any(
        "cambridge.zoning_districts: source column 'ZONE_TYPO' is not in" in p for p in problems
    )


def test_codes_missing_from_the_code_table_are_named_with_counts(layers: Path) -> None:
    table = layers / "cambridge" / "cambridge_zoning_codes.csv"
    table.write_text(
        "".join(line for line in table.read_text().splitlines(True) if not line.startswith("C-1,"))
    )
    problems = [p for p in _problems(layers) if "codes not in cambridge_zoning" in p]
    assert problems and re.search(r"'C-1' ×\d+", problems[0]), problems


def test_roles_of_the_wrong_geometry(layers: Path) -> None:
    _edit(
        layers / "cambridge" / "city.toml", 'streets = "street_centerlines"', 'streets = "hydrants"'
    )
    assert any(
        "role streets names hydrants, a Point layer; the role needs LineString" in p
        for p in _problems(layers)
    )


def test_the_cli_exits_1_with_the_problems(layers: Path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from digitalcity.cli import app

    _edit(layers / "xiamen" / "city.toml", 'local_crs = "EPSG:4548"', 'local_crs = "EPSG:4326"')
    monkeypatch.setenv("DIGITALCITY_LAYERS_DIR", str(layers))
    monkeypatch.setenv("DIGITALCITY_SOURCE_DATA_DIR", str(SHARED_DATA))
    result = CliRunner().invoke(app, ["check-layers"])
    assert result.exit_code == 1
    assert "geographic" in result.output and "all layer definitions are valid" not in result.output
