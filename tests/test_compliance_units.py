"""Zoning compliance reads its units from the field definitions: a city whose height limits
are in metres gets the same answers as Cambridge in feet; mixed or unknown units are refused.

The metres version of Cambridge's zoning controls is derived at test time from the real
``cambridge_ma/zoning_controls.csv`` and loaded through the project's loader.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pandas as pd
import pytest

from digitalcity.analysis import zoning_compliance
from digitalcity.catalog import Catalog, load_catalog
from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.units import FOOT_M, UnitError
from digitalcity.city import City
from digitalcity.ingest.loader import load_layer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _with_zoning(catalog: Catalog, zoning: LayerDef) -> Catalog:
    """``catalog`` with ``zoning`` added to Cambridge and the city's zoning role pointed at it."""
    city = catalog.city("cambridge")
    roles = city.roles.model_copy(update={"zoning": zoning.id})
    city = city.model_copy(update={"roles": roles})
    grown = catalog.with_layer(zoning)
    return Catalog(MappingProxyType({**grown.cities, "cambridge": city}), grown.layers, grown.root)


def _zoning_variant(catalog: Catalog, layer_id: str, controls: Path, unit: str) -> LayerDef:
    data = catalog.layer("cambridge", "zoning_districts").model_dump(mode="python")
    data["id"] = layer_id
    for join in data["source"]["joins"]:
        if join["name"] == "controls":
            join["path"] = str(controls)
    for f in data["fields"]:
        if f["name"] == "max_height_ft":
            f["unit"] = unit
    return LayerDef.model_validate(data)


@pytest.fixture(scope="module")
def base(settings, engine):
    catalog = load_catalog(settings.layers_dir)
    for layer_id in ("parcels", "zoning_districts"):
        load_layer(
            catalog.layer("cambridge", layer_id), catalog.city("cambridge"), engine, settings
        )
    return catalog


@pytest.fixture(scope="module")
def metric_controls(tmp_path_factory) -> Path:
    controls = pd.read_csv(SHARED / "cambridge_ma" / "zoning_controls.csv", dtype=str)
    feet = pd.to_numeric(controls["max_height_ft"], errors="coerce")
    assert feet.notna().sum() > 10
    controls["max_height_ft"] = (feet * FOOT_M).map(lambda v: "" if pd.isna(v) else repr(v))
    path = tmp_path_factory.mktemp("metric") / "zoning_controls_m.csv"
    controls.to_csv(path, index=False)
    return path


def test_height_limits_in_metres_give_the_same_compliance(base, metric_controls, engine, settings):
    zoning_m = _zoning_variant(base, "zoning_districts_m", metric_controls, "m")
    catalog = _with_zoning(base, zoning_m)
    city = catalog.city("cambridge")
    load_layer(zoning_m, city, engine, settings)
    feet = zoning_compliance(City(base, base.city("cambridge"), engine, "land_bureau"))
    metres = zoning_compliance(City(catalog, city, engine, "land_bureau"))
    ours, ref = metres.frame.set_index("fid"), feet.frame.set_index("fid")
    assert len(ours) == len(ref) > 10000
    pd.testing.assert_series_equal(ours["height_status"], ref["height_status"])
    pd.testing.assert_series_equal(ours["status"], ref["status"])
    assert ours["max_height_ft"].to_numpy() == pytest.approx(
        ref["max_height_ft"].to_numpy(), nan_ok=True
    )
    assert (ref["height_status"] == "over").sum() > 0
    assert any("height limit converted to ft" in a for a in metres.provenance["assumptions"])


def test_metres_read_as_feet_would_differ(base, metric_controls, engine, settings):
    """Declaring the metric limits as feet changes the answers: the unit matters."""
    wrong = _zoning_variant(base, "zoning_districts_wrong", metric_controls, "ft")
    catalog = _with_zoning(base, wrong)
    load_layer(wrong, catalog.city("cambridge"), engine, settings)
    wrong_result = zoning_compliance(
        City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    )
    ref = zoning_compliance(City(base, base.city("cambridge"), engine, "land_bureau"))
    assert wrong_result.summary["over"] > ref.summary["over"]


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("m²", "measures area, length is needed"),
        ("furlongs", "unknown unit 'furlongs'"),
        (None, "declares no unit"),
    ],
)
def test_mixed_or_unknown_units_are_refused(base, metric_controls, engine, unit, message):
    zoning = _zoning_variant(base, "zoning_districts_m", metric_controls, "m")
    data = zoning.model_dump(mode="python")
    for f in data["fields"]:
        if f["name"] == "max_height_ft":
            f["unit"] = unit
    bad = LayerDef.model_validate(data)
    catalog = _with_zoning(base, bad)
    with pytest.raises(UnitError, match=message):
        zoning_compliance(City(catalog, catalog.city("cambridge"), engine, "land_bureau"))


def test_floor_area_in_a_length_unit_is_refused(base, engine):
    data = base.layer("cambridge", "parcels").model_dump(mode="python")
    for f in data["fields"]:
        if f["name"] == base.layer("cambridge", "parcels").semantics["floor_area"]:
            f["unit"] = "m"
    catalog = base.with_layer(LayerDef.model_validate(data))
    with pytest.raises(UnitError, match="measures length, area is needed"):
        zoning_compliance(City(catalog, catalog.city("cambridge"), engine, "land_bureau"))
