"""Files kept with features (附件) over real HTTP: a survey photo (PNG, made by Pillow) kept with
a Cambridge hydrant, anyone who sees hydrants may open it; a scanned deed (a PDF, made by
matplotlib) kept with a parcel, staff only; their bytes back unchanged, the kinds recognised by
their first bytes, limits and rights enforced, removal kept on record; the same from Python."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import httpx
import matplotlib
import pytest
import sqlalchemy as sa
from PIL import Image

from digitalcity.db.keys import create_key

matplotlib.use("Agg")

HYDRANTS = "/collections/cambridge__hydrants/items"
PARCELS = "/collections/cambridge__parcels/items"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _pdf() -> bytes:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2))
    axes.text(0.1, 0.5, "Deed 1923, lot 42")
    out = io.BytesIO()
    figure.savefig(out, format="pdf")
    plt.close(figure)
    return out.getvalue()


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {r: create_key(engine, r, f"files-{r}").key for r in ("planner", "land_bureau")}


def _first(engine, table: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT min(fid) FROM cambridge.{table}")).scalar_one())  # noqa: S608


def _post(
    base: str, path: str, content: bytes, key: str | None, name: str, kind: str
) -> httpx.Response:
    headers = {"Content-Type": kind, **({"X-API-Key": key} if key else {})}
    return httpx.post(f"{base}{path}", params={"name": name}, content=content, headers=headers)


def test_a_survey_photo_kept_with_a_hydrant(live_server, keys, engine) -> None:  # noqa: ANN001
    fid = _first(engine, "hydrants")
    photo = _png()
    path = f"{HYDRANTS}/{fid}/attachments"
    added = _post(live_server, path, photo, keys["land_bureau"], "消防栓照片 2026.png", "image/png")
    assert added.status_code == 201, added.text
    item = added.json()
    assert item["type"] == "image/png" and item["size"] == len(photo)
    assert (
        item["sha256"] == hashlib.sha256(photo).hexdigest() and item["added_role"] == "land_bureau"
    )
    assert added.headers["location"] == item["href"]
    listed = httpx.get(f"{live_server}{path}").json()["attachments"]  # public: anyone
    assert [a["id"] for a in listed][-1] == item["id"]
    opened = httpx.get(item["href"])
    assert opened.status_code == 200, opened.text
    assert opened.content == photo
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in opened.headers["content-security-policy"]
    assert (
        opened.headers["content-disposition"]
        == f"inline; filename*=UTF-8''{quote('消防栓照片 2026.png')}"
    )
    assert opened.headers["etag"] == f'"{item["sha256"]}"'
    # removed: off the list, not opened, kept on record with who removed it
    assert httpx.delete(item["href"]).status_code == 403  # anonymous: seen, not theirs to remove
    assert httpx.delete(item["href"], headers={"X-API-Key": keys["planner"]}).status_code == 403
    gone = httpx.delete(item["href"], headers={"X-API-Key": keys["land_bureau"]})
    assert gone.status_code == 204
    assert item["id"] not in [
        a["id"] for a in httpx.get(f"{live_server}{path}").json()["attachments"]
    ]
    assert httpx.get(item["href"]).status_code == 404
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT removed_role, removed_at IS NOT NULL, length(content) FROM digitalcity.attachments WHERE id = :id"
            ),
            {"id": item["id"]},
        ).one()
    assert tuple(row) == ("land_bureau", True, len(photo))


def test_a_scanned_deed_for_staff_only(live_server, keys, engine) -> None:  # noqa: ANN001
    fid = _first(engine, "parcels")
    deed = _pdf()
    path = f"{PARCELS}/{fid}/attachments"
    assert _post(live_server, path, deed, None, "deed.pdf", "application/pdf").status_code == 404
    assert (
        _post(live_server, path, deed, keys["planner"], "deed.pdf", "application/pdf").status_code
        == 403
    )
    added = _post(
        live_server, path, deed, keys["land_bureau"], "../../scans/deed.pdf", "application/pdf"
    )
    assert added.status_code == 201, added.text
    item = added.json()
    assert item["name"] == "deed.pdf" and item["type"] == "application/pdf"  # no path kept
    assert httpx.get(f"{live_server}{path}").status_code == 404  # the public: no such thing
    assert httpx.get(item["href"]).status_code == 404
    planner = {"X-API-Key": keys["planner"]}
    assert [
        a["name"] for a in httpx.get(f"{live_server}{path}", headers=planner).json()["attachments"]
    ] == ["deed.pdf"]
    opened = httpx.get(item["href"], headers=planner)
    assert opened.content == deed and opened.headers["content-disposition"].startswith(
        "attachment;"
    )
    # the planner map's meta says who may read and write them
    meta = httpx.get(f"{live_server}/cities/cambridge", headers=planner).json()["layers"]
    assert meta["parcels"]["attachments"] == {"write": False}
    assert (
        "attachments"
        not in httpx.get(f"{live_server}/cities/cambridge").json()["layers"]["parcels"]
    )
    bureau = httpx.get(
        f"{live_server}/cities/cambridge", headers={"X-API-Key": keys["land_bureau"]}
    ).json()
    assert bureau["layers"]["parcels"]["attachments"] == {"write": True}


def test_only_the_kinds_kept_within_the_limits(live_server, keys, engine) -> None:  # noqa: ANN001
    fid = _first(engine, "hydrants")
    path = f"{HYDRANTS}/{fid}/attachments"
    key = keys["land_bureau"]
    script = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    assert _post(live_server, path, script, key, "x.svg", "image/svg+xml").status_code == 415
    assert _post(live_server, path, b"hello", key, "x.png", "image/png").status_code == 415
    assert (
        _post(live_server, path, _png(), key, "x.jpg", "image/jpeg").status_code == 415
    )  # not what it says
    assert _post(live_server, path, b"", key, "x.png", "image/png").status_code == 415
    large = b"\x89PNG\r\n\x1a\n" + bytes(20 * 1024 * 1024)
    assert _post(live_server, path, large, key, "big.png", "image/png").status_code == 413
    assert (
        _post(
            live_server, f"{HYDRANTS}/999999999/attachments", _png(), key, "x.png", "image/png"
        ).status_code
        == 404
    )
    assert httpx.get(f"{live_server}{path}/999999999").status_code == 404
    assert httpx.get(f"{live_server}{path}/abc").status_code == 404
    lights = "/collections/cambridge__street_lights/items/1/attachments"  # keeps none
    assert httpx.get(f"{live_server}{lights}", headers={"X-API-Key": key}).status_code == 404
    assert _post(live_server, lights, _png(), key, "x.png", "image/png").status_code == 404


def test_the_same_from_python(catalog, engine, keys, tmp_path) -> None:  # noqa: ANN001
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    fid = _first(engine, "hydrants")
    photo = tmp_path / "hydrant.png"
    photo.write_bytes(_png())
    added = city.attach("hydrants", fid, photo)
    assert added in [a["id"] for a in city.attachments("hydrants", fid)]
    assert city.attachment("hydrants", fid, added) == photo.read_bytes()


def _db_now(engine) -> str:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one().isoformat()


def test_a_past_day_lists_the_files_kept_then(live_server, keys, engine) -> None:  # noqa: ANN001
    fid = _first(engine, "hydrants") + 1
    path = f"{HYDRANTS}/{fid}/attachments"
    bureau = {"X-API-Key": keys["land_bureau"]}
    before = _db_now(engine)
    first = _post(live_server, path, _png(), keys["land_bureau"], "before.png", "image/png").json()
    between = _db_now(engine)
    assert httpx.delete(first["href"], headers=bureau).status_code == 204
    deed = _pdf()
    second = _post(live_server, path, deed, keys["land_bureau"], "after.pdf", "application/pdf")
    second_id = second.json()["id"]

    def listed(at: str | None) -> list[int]:
        params = {"as-of": at} if at else {}
        return [
            a["id"] for a in httpx.get(f"{live_server}{path}", params=params).json()["attachments"]
        ]

    assert first["id"] not in listed(None) and second_id in listed(None)
    assert first["id"] not in listed(before)
    then = httpx.get(f"{live_server}{path}", params={"as-of": between}).json()["attachments"]
    assert [a["id"] for a in then if a["id"] in (first["id"], second_id)] == [first["id"]]
    kept = next(a for a in then if a["id"] == first["id"])
    assert "as-of=" in kept["href"]  # opens the file as that day kept it
    assert httpx.get(kept["href"]).content == _png()
    assert httpx.get(first["href"]).status_code == 404  # not kept now
    assert (
        httpx.get(f"{live_server}{path}/{second_id}", params={"as-of": between}).status_code == 404
    )
    assert httpx.get(f"{live_server}{path}", params={"as-of": "yesterday"}).status_code == 400
    # before the layer was loaded the hydrant was not in it: no feature, so no files
    old = httpx.get(f"{live_server}{path}", params={"as-of": "2000-01-01T00:00:00Z"})
    assert old.status_code == 404
    # the feature's history keeps the record of both, with who added and removed each
    record = httpx.get(f"{live_server}{HYDRANTS}/{fid}/history").json()["files"]
    mine = {f["id"]: f for f in record}
    assert mine[first["id"]]["name"] == "before.png"
    assert mine[first["id"]]["removed_role"] == "land_bureau" and mine[first["id"]]["removed_at"]
    assert mine[second_id]["removed_at"] is None and mine[second_id]["added_role"] == "land_bureau"
    assert "content" not in mine[second_id] and "added_key" not in mine[second_id]


def test_a_history_lists_files_only_to_those_cleared(live_server, keys, engine) -> None:  # noqa: ANN001
    fid = _first(engine, "parcels") + 1
    path = f"{PARCELS}/{fid}/attachments"
    added = _post(live_server, path, _pdf(), keys["land_bureau"], "permit.pdf", "application/pdf")
    assert added.status_code == 201, added.text
    history = f"{live_server}{PARCELS}/{fid}/history"
    assert httpx.get(history).json()["files"] == []  # the public sees the parcel, not its files
    planner = httpx.get(history, headers={"X-API-Key": keys["planner"]}).json()["files"]
    assert [f["name"] for f in planner] == ["permit.pdf"]
    at = _db_now(engine)
    assert httpx.get(f"{live_server}{path}", params={"as-of": at}).status_code == 404


def test_a_past_day_from_python(catalog, engine, keys, tmp_path) -> None:  # noqa: ANN001
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    fid = _first(engine, "hydrants") + 2
    photo = tmp_path / "survey.png"
    photo.write_bytes(_png())
    added = city.attach("hydrants", fid, photo)
    then = city.at(_db_now(engine))
    with engine.begin() as conn:  # removed since, as the DELETE route does it
        conn.execute(
            sa.text(
                "UPDATE digitalcity.attachments SET removed_at = clock_timestamp(), "
                "removed_role = 'land_bureau' WHERE id = :id"
            ),
            {"id": added},
        )
    assert added not in [a["id"] for a in city.attachments("hydrants", fid)]
    assert added in [a["id"] for a in then.attachments("hydrants", fid)]
    assert then.attachment("hydrants", fid, added) == photo.read_bytes()
    record = {f["id"]: f for f in city.attachment_record("hydrants", fid)}
    assert record[added]["removed_role"] == "land_bureau"
