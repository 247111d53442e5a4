"""Scale on the SYNTHETIC OSM-like roads: ×N translated copies of its 246,900 road lines side
by side (copy 0 in place), each size loaded by our loader in a fresh process, then the same
probes at every size: tiles z12–z16 and 1,000-item bbox pages over copy 0 and over the last
copy (``bench.scale.probes``). Identify and land use stay Cambridge's (the parcels' card and
classes)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
import sqlalchemy as sa

from bench.common.city import CityDB, osmlike_db
from bench.common.osmlike import CITY
from bench.ingest import measure
from bench.ingest.inputs import bench_layer
from bench.scale.probes import (
    Size,
    buffer_pool_mb,
    measure_probes,
    measure_storage,
    print_table,
    side_by_side,
)
from digitalcity.catalog import CityDef
from digitalcity.db.engine import make_engine
from digitalcity.db.routing import api_parallel_workers

LAYER = "roads"
PAGE_DEG = (0.012, 0.008)  # about 0.9 x 0.9 km: ~2,000 roads, so every page is full
ID_STRIDE = 10_000_000  # copy n's ids start at n x this


def write_copies(source: Path, out: Path, city: CityDef, scale: int) -> None:
    """Write ``scale`` translated copies (``side_by_side``) of the roads of the GeoPackage
    ``source`` to ``out``, ids renumbered per copy; one copy in memory at a time."""
    offsets, _ = side_by_side(city, scale)
    meta, _, wkb, values = pyogrio.raw.read(source, layer=LAYER)
    names = meta["fields"].tolist()
    lines = shapely.from_wkb(wkb)
    ids = values[names.index("osm_id")].astype(np.int64)
    out.unlink(missing_ok=True)
    for copy_no, (dx, dy) in enumerate(offsets):
        moved = shapely.transform(lines, lambda xy, d=(dx, dy): xy + d)
        fields = list(values)
        fields[names.index("osm_id")] = ids + copy_no * ID_STRIDE
        pyogrio.raw.write(
            out,
            np.asarray(shapely.to_wkb(moved), dtype=object),
            fields,
            names,
            layer=LAYER,
            driver="GPKG",
            geometry_type="LineString",
            crs="EPSG:4326",
            append=out.exists(),
        )


def _points(db: CityDB, count: int) -> list[tuple[float, float]]:
    """Middles of ``count`` roads of the dataset as loaded (copy 0), chosen at random."""
    table = f"{db.catalog.city(CITY).schema_name}.{LAYER}"
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint("  # noqa: S608 - the bench's own table
                f"ST_GeometryN(geom, 1), 0.5) AS p FROM {table}) s"
            )
        ).all()
    return random.Random(1).sample([(float(x), float(y)) for x, y in rows], count)


def measure_size(
    db: CityDB, scale: int, points: list[tuple[float, float]], work: Path, api: sa.Engine
) -> Size:
    """Write the roads ×``scale``, load them in a fresh process and probe them."""
    base = db.catalog.city(CITY)
    offsets, bbox = side_by_side(base, scale)
    wide = base.model_copy(update={"bbox": bbox})
    path = work / f"SYNTHETIC_osm_roads_x{scale}.gpkg"
    print(f"SYNTHETIC OSM-like roads ×{scale}: writing…", flush=True)
    write_copies(Path(db.catalog.layer(CITY, LAYER).source.path), path, base, scale)
    layer = bench_layer(db.catalog.layer(CITY, LAYER), f"bench_roads_x{scale}", path, join=False)
    spec = {
        "layers_dir": str(db.settings.layers_dir),
        "city": CITY,
        "layer": LAYER,
        "path": str(path),
        "id": layer.id,
        "join": False,
        "bbox": list(bbox),
    }
    run = measure.ours(db, spec)
    path.unlink()
    size = Size(scale, rows=run.rows, load_s=run.seconds)
    size.peak_mib = (run.peak_kib - int(run.extra["baseline_kib"])) / 1024  # type: ignore[call-overload]
    versions = measure_storage(size, db, layer, wide)
    catalog = db.catalog.with_layer(layer)
    measure_probes(size, db, api, catalog, layer, wide, versions, points, offsets[-1],
                   PAGE_DEG, work)  # fmt: skip
    return size


def main(scales: list[int], samples: int) -> None:
    """Every size in one cluster holding the OSM-like dataset; then the table."""
    buffers = buffer_pool_mb()
    with (
        tempfile.TemporaryDirectory(prefix="digitalcity-scale-osm-") as tmp,
        osmlike_db(shared_buffers_mb=buffers) as db,
    ):
        api = make_engine(db.settings, parallel_workers=api_parallel_workers(db.settings))
        points = _points(db, samples)  # the same roads at every size
        sizes = [measure_size(db, n, points, Path(tmp), api) for n in scales]
        api.dispose()
    print_table(
        sizes,
        "SYNTHETIC OSM-like roads (translated copies of its 246,900 lines), one cluster "
        f"(shared_buffers {buffers:,} MiB)",
        "roads",
    )
