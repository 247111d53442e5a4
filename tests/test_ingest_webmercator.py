"""The tile copy's rows projected by the loader (``digitalcity.ingest.webmercator``): every
geometry kind and dimension rewritten in place, nothing else touched, within a micrometre
of PostGIS's ``ST_Transform``; and the check that decides when the loader may project."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely
import sqlalchemy as sa

from digitalcity.errors import LoadError
from digitalcity.ingest.copybinary import HEADER, TRAILER, copy_rows
from digitalcity.ingest.webmercator import (
    lonlat_to_web_mercator,
    projected_rows,
    projects_as_lonlat,
)
from digitalcity.tiles.prepare import copy_table

CAMBRIDGE = (-71.16, 42.35, -71.06, 42.41)
LONLAT = np.array(
    [
        shapely.Point(-71.1, 42.37),
        shapely.LineString([(-71.1, 42.37), (-71.11, 42.38), (-71.12, 42.36)]),
        shapely.Polygon(
            [(-71.1, 42.3), (-71.0, 42.3), (-71.0, 42.4), (-71.1, 42.3)],
            [[(-71.08, 42.32), (-71.02, 42.32), (-71.02, 42.36), (-71.08, 42.32)]],
        ),
        shapely.MultiPoint([(-71.1, 42.37), (-71.2, 42.1)]),
        shapely.MultiLineString([[(-71.1, 42.3), (-71.0, 42.4)], [(1, 2), (3, 4), (5, 6)]]),
        shapely.MultiPolygon(
            [
                shapely.box(-71.1, 42.3, -71.0, 42.4),
                shapely.Polygon(
                    [(10, 10), (11, 10), (11, 11), (10, 10)],
                    [[(10.2, 10.1), (10.8, 10.1), (10.8, 10.5), (10.2, 10.1)]],
                ),
            ]
        ),
        shapely.from_wkt("MULTIPOLYGON EMPTY"),
        shapely.LineString([(-71.1, 42.37, 5.5), (-71.11, 42.38, 7.25)]),
        shapely.from_wkt("POINT M (-71.1 42.37 3)"),
        shapely.from_wkt("MULTIPOLYGON ZM (((0 0 1 2, 1 0 1 2, 1 1 1 2, 0 0 1 2)))"),
    ],
    dtype=object,
)


def _rows(geoms: np.ndarray, srid: int = 4326) -> tuple[pa.Buffer, np.ndarray, pa.Array]:
    wkb = shapely.to_wkb(
        shapely.set_srid(geoms, srid), include_srid=True, byte_order=1, flavor="extended"
    )
    names = pa.array([f"名{i}" if i % 2 else None for i in range(len(geoms))])
    data, starts, _ = copy_rows(
        [
            pa.array(np.arange(len(geoms), dtype=np.int64) + 7),
            pa.array(wkb, pa.large_binary()),
            names,
        ]
    )
    return data, starts, names


def _geometries(data: pa.Buffer, starts: np.ndarray) -> list[bytes]:
    raw = bytes(data)
    out = []
    for start in starts:
        length = int.from_bytes(raw[start + 14 : start + 18], "big")
        out.append(raw[start + 18 : start + 18 + length])
    return out


def test_every_kind_and_dimension_is_projected_in_place() -> None:
    data, starts, _ = _rows(LONLAT)
    projected = projected_rows(data, starts)
    assert len(projected) == len(data)
    before, after = _geometries(data, starts), _geometries(projected, starts)
    for source, wkb, original in zip(before, after, LONLAT, strict=True):
        assert len(wkb) == len(source)
        geom = shapely.from_wkb(wkb)
        assert shapely.get_srid(geom) == 3857
        assert geom.geom_type == original.geom_type and geom.is_empty == original.is_empty
        lonlat = shapely.get_coordinates(original, include_z=True)
        got = shapely.get_coordinates(geom, include_z=True)
        x, y = lonlat_to_web_mercator(lonlat[:, 0], lonlat[:, 1])
        assert np.array_equal(got[:, 0], x) and np.array_equal(got[:, 1], y)
        assert np.array_equal(got[:, 2], lonlat[:, 2], equal_nan=True)  # z kept (NaN: none)
    # M values survive too (shapely reads no M: compare the bytes after each point's y)
    m_point = after[8]
    assert np.frombuffer(m_point[-8:], "<f8")[0] == 3.0
    # everything but the geometries' coordinates and SRIDs is byte for byte the same
    outside = np.frombuffer(data, np.uint8) != np.frombuffer(projected, np.uint8)
    for start, source in zip(starts, before, strict=True):
        outside[start + 18 : start + 18 + len(source)] = False
    assert not outside.any()


def test_a_batch_without_rows_and_a_geometry_the_loader_never_writes() -> None:
    data, starts, _ = copy_rows([pa.array([], pa.int64()), pa.array([], pa.large_binary())])
    assert bytes(projected_rows(data, starts)) == b""
    without_srid = pa.array([shapely.to_wkb(shapely.Point(1, 2), byte_order=1)], pa.large_binary())
    data, starts, _ = copy_rows([pa.array([1], pa.int64()), without_srid])
    with pytest.raises(LoadError, match="SRID"):
        projected_rows(data, starts)
    big_endian = shapely.to_wkb(
        shapely.set_srid(shapely.Point(1, 2), 4326), include_srid=True, byte_order=0
    )
    data, starts, _ = copy_rows(
        [pa.array([1], pa.int64()), pa.array([big_endian], pa.large_binary())]
    )
    with pytest.raises(LoadError, match="little-endian"):
        projected_rows(data, starts)
    collection = shapely.to_wkb(
        shapely.set_srid(shapely.GeometryCollection([shapely.Point(1, 2)]), 4326),
        include_srid=True,
        byte_order=1,
    )
    data, starts, _ = copy_rows(
        [pa.array([1], pa.int64()), pa.array([collection], pa.large_binary())]
    )
    with pytest.raises(LoadError, match="type 7"):
        projected_rows(data, starts)
    # a line string whose point count runs past the end of the batch
    line = bytearray(
        shapely.to_wkb(
            shapely.set_srid(shapely.LineString([(0, 0), (1, 1)]), 4326),
            include_srid=True,
            byte_order=1,
        )
    )
    line[9:13] = (10_000).to_bytes(4, "little")
    data, starts, _ = copy_rows(
        [pa.array([1], pa.int64()), pa.array([bytes(line)], pa.large_binary())]
    )
    with pytest.raises(LoadError, match="cut short|length"):
        projected_rows(data, starts)


def test_projected_rows_land_within_a_micrometre_of_st_transform(engine) -> None:  # noqa: ANN001
    """Through PostgreSQL: the projected rows COPY into an EPSG:3857 table, and each
    geometry is where ``ST_Transform`` puts the EPSG:4326 original (2D rows)."""
    plain = LONLAT[:7]
    data, starts, _ = _rows(plain)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TEMP TABLE wm_test (fid bigint, geom geometry(Geometry, 3857), name text)"
        )
        conn.exec_driver_sql("CREATE TEMP TABLE wm_source (fid bigint, geom geometry, name text)")
        raw = conn.connection.driver_connection
        for table, rows in (("wm_test", projected_rows(data, starts)), ("wm_source", data)):
            with raw.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(HEADER + bytes(rows) + TRAILER)
        far, names = conn.execute(
            sa.text(
                "SELECT max(COALESCE(ST_HausdorffDistance(t.geom, ST_Transform(s.geom, 3857)), 0)), "
                "count(*) FILTER (WHERE t.name IS NOT DISTINCT FROM s.name AND "
                "ST_NPoints(t.geom) = ST_NPoints(s.geom)) "
                "FROM wm_test t JOIN wm_source s USING (fid)"
            )
        ).one()
    assert names == len(plain)
    assert far <= 1e-6


def test_the_loader_projects_only_where_postgis_agrees(engine) -> None:  # noqa: ANN001
    assert projects_as_lonlat(engine, 4326, CAMBRIDGE)
    assert projects_as_lonlat(engine, 4326, None)
    assert projects_as_lonlat(engine, 4490, (113.7, 22.4, 114.6, 22.9))
    assert not projects_as_lonlat(engine, 2249, CAMBRIDGE)  # feet, projected
    # NAD27 lon/lat: PostGIS shifts its datum to WGS 84's (tens of metres in Massachusetts)
    assert not projects_as_lonlat(engine, 4267, CAMBRIDGE)
    # a geographic CRS the database does not know: the loader leaves it to ST_Transform
    assert not projects_as_lonlat(engine, 999_999, CAMBRIDGE)


def test_an_answer_is_asked_of_the_database_once(engine) -> None:  # noqa: ANN001
    """A city's layers share their CRS and bbox: the check runs once per process and
    database, except where the database could not answer (asked again next time)."""
    asked: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if "ST_Transform" in statement:
            asked.append(statement)

    box = (118.013, 24.417, 118.191, 24.583)  # boxes no other test asks about
    boston = (-71.19, 42.31, -71.01, 42.44)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert [projects_as_lonlat(engine, 4490, box) for _ in range(3)] == [True] * 3
        assert len(asked) == 1
        assert not projects_as_lonlat(engine, 4267, boston)  # NAD27: a datum shift there
        assert not projects_as_lonlat(engine, 4267, boston)
        assert len(asked) == 2
        assert not projects_as_lonlat(engine, 999_998, box)
        assert not projects_as_lonlat(engine, 999_998, box)
        assert len(asked) == 4  # an unknown SRID is an error, not an answer
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_every_demo_copy_is_where_st_transform_puts_its_layer(loaded, catalog, engine) -> None:  # noqa: ANN001
    """Every layer of every demo city, as the suite loaded it (EPSG:4326 and CGCS2000
    storage, projected by the loader): the tile copy holds each of the table's rows once,
    every vertex within a micrometre of where ``ST_Transform`` puts it."""
    checked = {}
    with engine.connect() as conn:
        current = conn.execute(
            sa.text("SELECT city, layer, version FROM digitalcity.layer_versions WHERE is_current")
        ).all()
        demo = {(c, layer.id) for c in catalog.cities for layer in catalog.city_layers(c)}
        for city_id, layer_id, version in current:
            if (city_id, layer_id) not in demo:
                continue  # a layer another test loaded under a definition of its own
            layer = catalog.layer(city_id, layer_id)
            schema = catalog.city(city_id).schema_name
            pairs = conn.execute(
                sa.text(
                    "SELECT ST_AsBinary(c.geom), ST_AsBinary(ST_Transform(t.geom, 3857)) "  # noqa: S608 - catalog names
                    f'FROM "{schema}"."{layer_id}" t LEFT JOIN {copy_table(layer, version)} c '
                    "USING (fid) ORDER BY fid"
                )
            ).all()
            ours = shapely.from_wkb([bytes(a) if a is not None else None for a, _ in pairs])
            theirs = shapely.from_wkb([bytes(b) for _, b in pairs])
            same_shape = (
                not shapely.is_missing(ours).any()
                and (shapely.get_type_id(ours) == shapely.get_type_id(theirs)).all()
                and (shapely.get_num_coordinates(ours) == shapely.get_num_coordinates(theirs)).all()
            )
            apart = (
                float(
                    np.abs(shapely.get_coordinates(ours) - shapely.get_coordinates(theirs)).max(
                        initial=0
                    )
                )
                if same_shape
                else float("inf")
            )
            checked[f"{city_id}.{layer_id}"] = (len(pairs), apart)
    assert len(checked) >= 20 and sum(rows for rows, _ in checked.values()) > 50_000
    assert {name: apart for name, (_, apart) in checked.items() if apart > 1e-6} == {}
