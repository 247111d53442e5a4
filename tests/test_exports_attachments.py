"""Files kept with features (附件) in GeoPackage exports (``f=gpkg&attachments=true``) over real
HTTP: the GeoPackage Related Tables Extension written beside the features, read back with
sqlite3 (each file's bytes joined to its feature through the mapping table) and with GDAL
(pyogrio lists and reads the media table); removed files and files added after an ``as-of``
instant stay out; the parcels' staff-only files are not there for the public; bad requests
are 400; the command line does the same."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from pathlib import Path

import httpx
import pyogrio
import pytest
import sqlalchemy as sa
from conftest import cli_on_test_cluster
from PIL import Image

from digitalcity.db.keys import create_key

HYDRANTS = "/collections/cambridge__hydrants/items"
PARCELS = "/collections/cambridge__parcels/items"


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def bureau(engine, loaded) -> str:  # noqa: ANN001
    return create_key(engine, "land_bureau", "export-files").key


@pytest.fixture(scope="module")
def kept(live_server, engine, bureau) -> dict:  # noqa: ANN001
    """Two hydrants with files (a third file removed), the bbox around them and the instant
    before any was added."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT fid, ST_X(geom) x, ST_Y(geom) y FROM cambridge.hydrants "
                "ORDER BY fid OFFSET 10 LIMIT 2"
            )
        ).all()
        before = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one().isoformat()
    files = {}
    for n, (row, colour) in enumerate(zip(rows, [(200, 0, 0), (0, 0, 200)], strict=True)):
        content = _png(colour)
        added = httpx.post(
            f"{live_server}{HYDRANTS}/{row.fid}/attachments",
            params={"name": f"hydrant {n} 消火栓.png"},
            content=content,
            headers={"Content-Type": "image/png", "X-API-Key": bureau},
        )
        assert added.status_code == 201, added.text
        files[added.json()["id"]] = (int(row.fid), content)
    gone = httpx.post(
        f"{live_server}{HYDRANTS}/{rows[0].fid}/attachments",
        params={"name": "removed.png"},
        content=_png((0, 200, 0)),
        headers={"Content-Type": "image/png", "X-API-Key": bureau},
    ).json()
    assert httpx.delete(gone["href"], headers={"X-API-Key": bureau}).status_code == 204
    pad = 0.0005
    xs, ys = [r.x for r in rows], [r.y for r in rows]
    bbox = f"{min(xs) - pad},{min(ys) - pad},{max(xs) + pad},{max(ys) + pad}"
    return {"files": files, "bbox": bbox, "before": before, "removed": gone["id"]}


def _download(url: str, params: dict, out: Path, key: str | None = None) -> httpx.Response:
    answer = httpx.get(url, params=params, headers={"X-API-Key": key} if key else {}, timeout=60)
    if answer.status_code == 200:
        out.write_bytes(answer.content)
    return answer


def _files_in(path: Path, layer: str) -> dict[int, tuple[str, str, bytes]]:
    """Each file in the GeoPackage through its relation: feature id -> (name, type, bytes)."""
    db = sqlite3.connect(path)
    try:
        relation = db.execute(
            "SELECT base_table_name, base_primary_column, related_table_name, "
            "related_primary_column, relation_name, mapping_table_name FROM gpkgext_relations"
        ).fetchall()
        assert relation == [(layer, "fid", f"{layer}_files", "id", "media", f"{layer}_files_of")]
        extensions = {
            r[0]
            for r in db.execute(
                "SELECT table_name FROM gpkg_extensions "
                "WHERE extension_name = 'gpkg_related_tables'"
            )
        }
        assert extensions == {"gpkgext_relations", f"{layer}_files_of"}
        found = db.execute(
            f'SELECT f.feature_id, m.name, m.content_type, m.data, m.sha256 FROM "{layer}" f '  # noqa: S608
            f'JOIN "{layer}_files_of" r ON r.base_id = f.fid JOIN "{layer}_files" m ON m.id = r.related_id'
        ).fetchall()
    finally:
        db.close()
    for _, _, _, data, sha in found:
        assert hashlib.sha256(data).hexdigest() == sha
    return {int(fid): (name, kind, bytes(data)) for fid, name, kind, data, _ in found}


def test_a_geopackage_carries_the_features_files(live_server, kept, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "hydrants.gpkg"
    params = {"f": "gpkg", "attachments": "true", "bbox": kept["bbox"]}
    answer = _download(f"{live_server}{HYDRANTS}", params, out)  # public files: anyone
    assert answer.status_code == 200, answer.text
    files = _files_in(out, "cambridge__hydrants")
    expected = {fid: content for fid, content in kept["files"].values()}
    assert {fid: data for fid, (_, _, data) in files.items()} == expected  # not the removed one
    assert all(kind == "image/png" and "消火栓" in name for name, kind, _ in files.values())
    # GDAL opens the related tables as tables of the GeoPackage
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {
        "cambridge__hydrants",
        "cambridge__hydrants_files",
        "cambridge__hydrants_files_of",
    } <= layers
    media = pyogrio.read_dataframe(
        out, layer="cambridge__hydrants_files", columns=["name", "content_type"]
    )
    assert len(media) == 2 and set(media["content_type"]) == {"image/png"}
    # without attachments= the export is as before: no related tables
    plain = tmp_path / "plain.gpkg"
    assert (
        _download(
            f"{live_server}{HYDRANTS}", {"f": "gpkg", "bbox": kept["bbox"]}, plain
        ).status_code
        == 200
    )
    assert {name for name, _ in pyogrio.list_layers(plain)} == {"cambridge__hydrants"}


def test_a_past_day_exports_the_files_kept_then(live_server, kept, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "before.gpkg"
    params = {"f": "gpkg", "attachments": "true", "bbox": kept["bbox"], "as-of": kept["before"]}
    answer = _download(f"{live_server}{HYDRANTS}", params, out)
    assert answer.status_code == 200, answer.text
    assert not set(_files_in(out, "cambridge__hydrants")) & {f for f, _ in kept["files"].values()}


def test_staff_files_and_bad_requests(live_server, engine, bureau, tmp_path) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        fid, x, y = conn.execute(
            sa.text(
                "SELECT fid, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM cambridge.parcels ORDER BY fid OFFSET 20 LIMIT 1"
            )
        ).one()
    scan = _png((90, 90, 90))
    added = httpx.post(
        f"{live_server}{PARCELS}/{fid}/attachments",
        params={"name": "deed.png"},
        content=scan,
        headers={"Content-Type": "image/png", "X-API-Key": bureau},
    )
    assert added.status_code == 201, added.text
    bbox = f"{x - 0.0001},{y - 0.0001},{x + 0.0001},{y + 0.0001}"
    params = {"f": "gpkg", "attachments": "true", "bbox": bbox}
    url = f"{live_server}{PARCELS}"
    assert _download(url, params, tmp_path / "a.gpkg").status_code == 404  # the public
    planner = create_key(engine, "planner", "export-files").key
    out = tmp_path / "staff.gpkg"
    assert _download(url, params, out, planner).status_code == 200
    assert _files_in(out, "cambridge__parcels")[fid][2] == scan
    for bad in ({"f": "shp", "attachments": "true"}, {"f": "gpkg", "attachments": "maybe"},
                {"f": "json", "attachments": "true"}):  # fmt: skip
        answer = httpx.get(f"{live_server}{HYDRANTS}", params={**bad, "limit": 1})
        assert answer.status_code == 400, (bad, answer.text)


def test_the_command_line_exports_files_too(kept, settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from digitalcity.cli import app

    cli_on_test_cluster(monkeypatch, settings)
    out = tmp_path / "cli.gpkg"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "cambridge",
            "hydrants",
            "-o",
            str(out),
            "--bbox",
            kept["bbox"],
            "--attachments",
        ],
    )
    assert result.exit_code == 0, result.output
    assert set(_files_in(out, "cambridge__hydrants")) == {f for f, _ in kept["files"].values()}
