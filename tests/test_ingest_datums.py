"""Sources on an older Chinese datum (Beijing 1954): PROJ knows no transformation to CGCS2000
and shifts nothing, so the report warns; given the local parameters (+towgs84), the load applies
them (it used to ignore them: PROJ does not apply them towards CGCS2000). Written at test time
from the real Xiamen districts."""

from __future__ import annotations

import pyproj
import sqlalchemy as sa

from digitalcity.crs.datums import unknown_datum_shift
from digitalcity.ingest import load_layer
from tests.test_ingest_formats import NAME, POP, layer

# Beijing 1954 / 3-degree Gauss-Kruger CM 117E, with illustrative transformation parameters
# (a bureau's own are confidential): the towgs84 of the Krassowsky datum near Xiamen
BEIJING54_GK = "EPSG:2436"
TOWGS84 = "15.8,-154.4,-82.3,0,0,0,0"
BOUND = (
    "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=krass "
    f"+towgs84={TOWGS84} +units=m +no_defs"
)


def centroids(engine, table: str) -> list[tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM xiamen.{table} "  # noqa: S608
                "ORDER BY fid"
            )
        ).all()
    return [(float(x), float(y)) for x, y in rows]


def test_an_unknown_datum_shift_is_reported_and_given_parameters_applied(
    districts, catalog, engine, settings, tmp_path
):
    path = tmp_path / "beijing54.shp"
    districts.to_crs(BEIJING54_GK).to_file(path, encoding="UTF-8")
    xiamen = catalog.city("xiamen")
    plain = load_layer(layer("bj54", "MultiPolygon", {"path": str(path)}, [NAME, POP]), xiamen,
                       engine, settings)  # fmt: skip
    assert plain.rows_loaded == 6
    assert len(plain.warnings) == 1, plain.warnings
    assert "no transformation from Beijing 1954 to China 2000" in plain.warnings[0]
    assert "warning: PROJ knows no transformation" in plain.summary()

    spec = {"path": str(path), "crs": BOUND}
    bound = load_layer(layer("bj54_bound", "MultiPolygon", spec, [NAME, POP]), xiamen, engine,
                       settings)  # fmt: skip
    assert bound.rows_loaded == 6 and bound.warnings == []
    # each centroid where the parameters put it: through WGS 84, which CGCS2000 matches
    to_wgs84 = pyproj.Transformer.from_crs(BOUND, "EPSG:4326", always_xy=True)
    from_gk = pyproj.Transformer.from_crs("EPSG:4326", BEIJING54_GK, always_xy=True)
    geod = pyproj.Geod(ellps="GRS80")
    ballpark, shifted = centroids(engine, "bj54"), centroids(engine, "bj54_bound")
    for (bx, by), (sx, sy) in zip(ballpark, shifted, strict=True):
        expected = to_wgs84.transform(*from_gk.transform(bx, by))
        assert geod.inv(sx, sy, *expected)[2] < 0.01  # metres
        assert 50 < geod.inv(bx, by, sx, sy)[2] < 70  # what ignoring them cost: 60 m


def test_no_warning_between_datums_on_one_ellipsoid() -> None:
    xiamen = (117.8, 24.4, 118.5, 24.9)
    wgs84, cgcs2000 = pyproj.CRS("EPSG:4326"), pyproj.CRS("EPSG:4490")
    assert unknown_datum_shift(wgs84, cgcs2000, xiamen) is None
    assert unknown_datum_shift(pyproj.CRS("EPSG:4547"), cgcs2000, xiamen) is None
    assert unknown_datum_shift(pyproj.CRS(BOUND), cgcs2000, xiamen) is None
    assert unknown_datum_shift(pyproj.CRS("EPSG:4610"), cgcs2000, xiamen)  # Xian 1980


def test_init_city_drafts_the_warning_ahead(districts, tmp_path, init_city):
    folder = tmp_path / "old_survey"
    folder.mkdir()
    districts.to_crs(BEIJING54_GK).to_file(folder / "districts.shp", encoding="UTF-8")
    districts.to_file(folder / "current.shp", encoding="UTF-8")  # WGS 84: nothing to say
    init_city("xiamen7", folder)
    drafts = init_city.root / "xiamen7"
    old = (drafts / "districts.toml").read_text(encoding="utf-8")
    assert "# PROJ knows no transformation from Beijing 1954 to China 2000 here" in old
    assert "PROJ knows" not in (drafts / "current.toml").read_text(encoding="utf-8")
