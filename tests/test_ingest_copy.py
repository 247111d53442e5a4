"""The binary COPY encoding: EWKB spliced in bulk equals shapely's own (singles wrapped as
multis), and every column type reaches PostgreSQL as the value it was."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa
import pytest
import shapely

from digitalcity.ingest.copybinary import HEADER, TRAILER, copy_binary, ewkb

GEOMS = np.array(
    [
        shapely.Point(1.5, -2),
        shapely.LineString([(0, 0), (1, 1), (2, 0)]),
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 0)], [[(1, 0.5), (3, 0.5), (3, 2), (1, 0.5)]]),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3), (0, 0, 1)]),  # with z
        shapely.MultiPoint([(1, 2), (3, 4)]),
        shapely.GeometryCollection([shapely.Point(0, 0)]),
    ],
    dtype=object,
)


def _expected(geoms: np.ndarray, srid: int, multi: bool) -> list[bytes]:
    out = []
    for g in geoms:
        if multi and g.geom_type in ("Point", "LineString", "Polygon"):
            g = {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString}.get(
                g.geom_type, shapely.MultiPolygon
            )([g])
        out.append(shapely.to_wkb(shapely.set_srid(g, srid), include_srid=True, byte_order=1))
    return out


@pytest.mark.parametrize("srid", [4326, 2249, 0])
@pytest.mark.parametrize("multi", [False, True])
def test_ewkb_equals_shapely(srid: int, multi: bool) -> None:
    encoded = ewkb(GEOMS, srid, multi=multi).to_pylist()
    assert encoded == _expected(GEOMS, srid, multi)
    # and PostGIS's reading of it: the type of a wrapped single is the multi
    if multi:
        assert shapely.from_wkb(encoded[2]).geom_type == "MultiPolygon"
        assert shapely.from_wkb(encoded[4]).has_z


def test_ewkb_of_a_slice_and_of_nothing() -> None:
    assert ewkb(GEOMS[2:4], 4326, multi=True).to_pylist() == _expected(GEOMS[2:4], 4326, True)
    assert ewkb(np.array([], dtype=object), 4326, multi=True).to_pylist() == []


def test_binary_copy_round_trips_through_postgresql(engine) -> None:
    geoms = np.array([shapely.box(0, 0, 1, 1), None, shapely.Point(3, 4)], dtype=object)
    wkb = ewkb(geoms[[0, 2]], 4326, multi=True)
    columns = [
        pa.array([1, None, -(2**63)], pa.int64()),
        pa.array(["tab\tnew\nline \\ 中文", None, ""]),
        pa.array([0.1, None, -1e300]),
        pa.array([True, None, False]),
        pa.array([datetime.date(1899, 12, 31), None, datetime.date(2100, 2, 28)]),
        pa.array(
            [datetime.datetime(2020, 1, 2, 3, 4, 5, 6), None, datetime.datetime(1970, 1, 1)],
            pa.timestamp("us", tz="UTC"),
        ),
        pa.array([wkb[0].as_py(), None, wkb[1].as_py()], pa.large_binary()),
        pa.nulls(3),
    ]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE copied (i bigint, t text, f double precision, b boolean, "
                "d date, ts timestamptz, g geometry, nothing text)"
            )
            with cur.copy("COPY copied FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(HEADER)
                copy.write(memoryview(copy_binary(columns)))
                copy.write(TRAILER)
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute(
                "SELECT i, t, f, b, d, ts::text, ST_AsEWKT(g), nothing FROM copied ORDER BY f"
            )
            rows = cur.fetchall()
    assert rows == [
        (-(2**63), "", -1e300, False, datetime.date(2100, 2, 28), "1970-01-01 00:00:00+00",
         "SRID=4326;MULTIPOINT(3 4)", None),
        (1, "tab\tnew\nline \\ 中文", 0.1, True, datetime.date(1899, 12, 31),
         "2020-01-02 03:04:05.000006+00", "SRID=4326;MULTIPOLYGON(((1 0,1 1,0 1,0 0,1 0)))", None),
        (None, None, None, None, None, None, None, None),
    ]  # fmt: skip


def test_a_null_text_whose_slot_spans_bytes_goes_out_as_null() -> None:
    """Arrow leaves the bytes under a null slot undefined: the tuple carries its -1 length
    and none of those bytes (offsets 0, 3, 5, 5: "abc" is under the null)."""
    text = pa.Array.from_buffers(
        pa.string(),
        3,
        [
            pa.py_buffer(np.packbits([0, 1, 1], bitorder="little")),
            pa.py_buffer(np.array([0, 3, 5, 5], dtype=np.int32)),
            pa.py_buffer(b"abcde"),
        ],
    )
    assert text.to_pylist() == [None, "de", ""]
    data = copy_binary([pa.array([7, 8, 9], pa.int64()), text]).to_pybytes()
    fid = b"\x00\x00\x00\x08"
    assert data == (
        b"\x00\x02" + fid + (7).to_bytes(8, "big") + b"\xff\xff\xff\xff"
        + b"\x00\x02" + fid + (8).to_bytes(8, "big") + b"\x00\x00\x00\x02de"
        + b"\x00\x02" + fid + (9).to_bytes(8, "big") + b"\x00\x00\x00\x00"
    )  # fmt: skip


@pytest.mark.parametrize("srid", [4326, 0])
@pytest.mark.parametrize("multi", [False, True])
def test_ewkb_from_the_source_wkb_equals_encoding_again(srid: int, multi: bool) -> None:
    """Rows whose geometry is the one read take the source's WKB as it is, but only where
    that WKB is 2D and little-endian; every row comes out as if encoded again."""
    source_wkb = [shapely.to_wkb(g, hex=False, byte_order=1) for g in GEOMS]
    source_wkb[0] = shapely.to_wkb(GEOMS[0], hex=False, byte_order=0)  # big-endian: not reused
    source_wkb[4] = shapely.to_wkb(GEOMS[4], hex=False, flavor="iso")  # ISO Z: not reused
    source_wkb[6] = None
    source = pa.array(source_wkb, pa.binary())
    expected = ewkb(GEOMS, srid, multi=multi).to_pylist()
    for same in (np.ones(len(GEOMS), bool), np.arange(len(GEOMS)) % 2 == 0):
        assert ewkb(GEOMS, srid, multi=multi, source=source, same=same).to_pylist() == expected
    moved = GEOMS.copy()
    moved[1] = shapely.LineString(
        [(9, 9), (8, 8)]
    )  # said to be the same, but not 2D LE: re-encoded
    mixed = source.to_pylist()
    mixed[1] = shapely.to_wkb(moved[1], hex=False, byte_order=1)
    assert (
        ewkb(moved, srid, multi=multi, source=pa.array(mixed), same=np.ones(7, bool)).to_pylist()
        == ewkb(moved, srid, multi=multi).to_pylist()
    )


def test_real_layers_encode_alike_from_source_wkb(catalog, settings) -> None:  # noqa: ANN001
    """Every Cambridge layer read through GDAL: the loader's EWKB (reusing the WKB read where
    the geometry is untouched) equals encoding each checked geometry again."""
    from digitalcity.ingest.job import LayerLoad

    reused = 0
    for layer in catalog.city_layers("cambridge"):
        job = LayerLoad(layer, catalog.city("cambridge"), settings)
        if job.reader.format in ("csv", "topojson", "geotiff"):
            continue
        for batch in job.reader.batches(5_000):
            checked = job.check(batch)
            if checked.encoded is None:
                continue
            geoms = checked.checked.geometry[checked.keep].astype(object)
            again = ewkb(geoms, job.srid, multi=job.multi)
            assert checked.encoded.to_pylist() == again.to_pylist(), layer.id
            reused += len(geoms)
    assert reused > 10_000
