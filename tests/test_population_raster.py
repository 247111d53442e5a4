"""A GeoTIFF population grid as a population layer (Wuhan's WorldPop 100 m grid, ages 20+):
loaded as vector cells, totals checked against rasterio reading the same file, and the
population analyses run on it. Plus the two census cities added beside it."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
import test_analysis_sources as src
from sqlalchemy import text

from digitalcity.analysis import district_density, population_in_polygon

GRID = src.SHARED_DATA / "wuhan_population" / "derived_pop_age20plus_sum_wuhan.tif"
GRID_TOTAL = 9_491_334  # the folder's SOURCE.txt
# A drawn polygon over central Wuhan (Hankou / Wuchang), lon/lat: cells cut at its edges.
BOX = (114.2517, 30.5213, 114.3391, 30.6109)


def _grid() -> tuple[np.ndarray, rasterio.Affine]:
    with rasterio.open(GRID) as dataset:
        values = dataset.read(1).astype(float)
        nodata = dataset.nodata
        transform = dataset.transform
    values[~np.isfinite(values) | (values == nodata) | (values <= 0)] = 0.0
    return values, transform


def _box_share(values: np.ndarray, t: rasterio.Affine, box: tuple[float, ...]) -> float:
    """Residents of an axis-aligned lon/lat box by exact areal weighting of the cells: the
    share of each cell inside the box is the product of its overlaps along x and y."""
    minx, miny, maxx, maxy = box
    left = t.c + np.arange(values.shape[1]) * t.a
    top = t.f + np.arange(values.shape[0]) * t.e
    share_x = np.clip(np.minimum(left + t.a, maxx) - np.maximum(left, minx), 0, None) / t.a
    share_y = np.clip(np.minimum(top, maxy) - np.maximum(top + t.e, miny), 0, None) / -t.e
    return float(share_y @ values @ share_x)


@pytest.fixture(scope="module")
def wuhan(loaded, catalog, engine):  # noqa: ANN001, ANN201
    return src.city(catalog, engine, "wuhan")


def test_grid_loads_as_cells_with_every_resident(loaded, engine) -> None:  # noqa: ANN001
    values, _ = _grid()
    report = loaded["wuhan.population_grid"]
    assert report.rows_loaded == int(np.count_nonzero(values))
    with engine.connect() as conn:
        total, cells = conn.execute(
            text("SELECT sum(population), count(*) FROM wuhan.population_grid")
        ).one()
    assert round(total) == round(values.sum()) == GRID_TOTAL
    assert cells == report.rows_loaded


def test_residents_in_the_city_boundary(wuhan) -> None:  # noqa: ANN001
    """Against rasterio: the cells whose centres fall inside the boundary (a raster clip)."""
    from rasterio.features import geometry_mask

    boundary = wuhan.read("city_boundary", crs=4326).geometry.iloc[0]
    values, transform = _grid()
    inside = ~geometry_mask([boundary], values.shape, transform)
    expected = float(values[inside].sum())
    result = population_in_polygon(wuhan, shapely.to_wkt(boundary))
    # areal weighting and centre inclusion differ only in the cells the boundary cuts
    assert result.summary["population"] == pytest.approx(expected, rel=0.005)
    assert result.summary["city_population"] == pytest.approx(GRID_TOTAL, abs=1)


def test_residents_in_a_drawn_polygon(wuhan) -> None:  # noqa: ANN001
    values, transform = _grid()
    expected = _box_share(values, transform, BOX)
    assert expected > 100_000
    result = population_in_polygon(wuhan, shapely.to_wkt(shapely.box(*BOX)))
    # areas measured in Gauss-Krüger metres against shares in degrees: within 0.1 %
    assert result.summary["population"] == pytest.approx(expected, rel=0.001)


def test_district_density_allocates_from_the_grid(wuhan) -> None:  # noqa: ANN001
    values, transform = _grid()
    result = district_density(wuhan)
    frame = result.frame
    assert len(frame) == 1 and frame["name"].iloc[0]
    area_km2 = float(frame["area_km2"].iloc[0])
    assert 8_000 < area_km2 < 9_000  # Wuhan: 8,569 km²
    assert frame["population"].iloc[0] == pytest.approx(result.summary["population"])
    assert frame["density_per_km2"].iloc[0] == pytest.approx(frame["population"].iloc[0] / area_km2)
    assert result.summary["population"] == pytest.approx(GRID_TOTAL, rel=0.005)


def test_population_analysis_over_http(client) -> None:  # noqa: ANN001
    polygon = shapely.to_wkt(shapely.box(*BOX))
    response = client.post(
        "/cities/wuhan/analysis/population_in_polygon", json={"polygon": polygon}
    )
    assert response.status_code == 200, response.text
    values, transform = _grid()
    assert response.json()["summary"]["population"] == pytest.approx(
        _box_share(values, transform, BOX), rel=0.001
    )


@pytest.mark.parametrize(
    ("city_id", "residents"), [("shanghai", 24_870_895), ("shenzhen", 17_494_398)]
)
def test_census_cities_reconcile(loaded, catalog, engine, city_id: str, residents: int) -> None:  # noqa: ANN001
    result = district_density(src.city(catalog, engine, city_id))
    assert result.summary["population"] == residents


def test_cells_come_in_batches_of_the_size_asked_for() -> None:
    """A sparse grid's strips of rows hold few cells with people (Wuhan's: 600 per two rows
    on average); the reader gathers strips into batches of the size asked for, in raster
    order, so a load is not 800 rounds of its pipeline. Each cell comes with its WKB, written
    by numpy byte for byte as GEOS writes it."""
    from digitalcity.ingest.raster import RasterCells

    values, t = _grid()
    batches = list(RasterCells(GRID).cells(4000))
    sizes = [len(frame) for frame, _, _ in batches]
    assert all(size >= 4000 for size in sizes[:-1]) and 0 < sizes[-1]
    assert sum(sizes) == int(np.count_nonzero(values)) and len(batches) < 130
    read = np.concatenate([frame["value"].to_numpy() for frame, _, _ in batches])
    assert np.array_equal(read, values[values > 0])  # row by row, as the raster holds them
    row, col = np.argwhere(values > 0)[0]
    x0, y0 = t.c + col * t.a, t.f + row * t.e
    cell = shapely.box(x0, y0 + t.e, x0 + t.a, y0)
    assert shapely.equals_exact(batches[0][1][0], cell, 1e-12)
    for _, cells, wkb in batches[:3] + batches[-1:]:
        assert wkb.to_pylist() == list(shapely.to_wkb(cells, byte_order=1))


def test_known_valid_squares_are_not_checked_again(catalog) -> None:  # noqa: ANN001
    """Validity is checked unless the reader built the geometries valid (``known_valid``,
    raster cells): 0.37 s of GEOS on Wuhan's grid."""
    from digitalcity.crs import resolve_crs
    from digitalcity.ingest.geometry import check_geometries

    bowtie = shapely.Polygon([(114.0, 30.0), (114.1, 30.1), (114.1, 30.0), (114.0, 30.1)])
    city, source = catalog.city("wuhan"), resolve_crs("EPSG:4326", None)
    checked = check_geometries(np.array([bowtie]), source, city, "Polygon", True)
    trusted = check_geometries(np.array([bowtie]), source, city, "Polygon", True, known_valid=True)
    assert checked.repaired == [0] and trusted.repaired == []
    assert trusted.geometry[0] is bowtie  # passed on as built
