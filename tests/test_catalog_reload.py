"""The catalog reloads into a running server (POST /admin/reload, admin key only) atomically:
no request fails while it happens, the new definition is served after, a broken one refused."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from digitalcity.api import create_app
from digitalcity.db.keys import create_key

PROJECT_LAYERS = Path(__file__).resolve().parents[1] / "layers"
BOUNDARY = "/collections/cambridge__city_boundary"


@pytest.fixture(scope="module")
def layers(tmp_path_factory) -> Path:  # noqa: ANN001
    root = tmp_path_factory.mktemp("reload") / "layers"
    shutil.copytree(PROJECT_LAYERS, root)
    return root


@pytest.fixture(scope="module")
def server(settings, loaded, layers) -> Iterator[str]:  # noqa: ANN001
    from conftest import free_port

    app = create_app(settings.model_copy(update={"layers_dir": layers}))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def admin(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {"X-API-Key": create_key(engine, "admin", "reload-test").key}


def _set_title(layers: Path, title: str) -> None:
    path = layers / "cambridge" / "city_boundary.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [
        f'title = {{ zh = "{title}", en = "{title}" }}' if ln.startswith("title =") else ln
        for ln in lines
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_reload_under_load(server, layers, admin) -> None:  # noqa: ANN001
    statuses: list[int] = []
    stop = threading.Event()

    def fire() -> None:
        with httpx.Client(base_url=server, timeout=30) as c:
            while not stop.is_set():
                statuses.append(c.get(BOUNDARY).status_code)
                statuses.append(c.get("/collections").status_code)

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    with httpx.Client(base_url=server, timeout=60) as c:
        for i in range(4):
            _set_title(layers, f"Boundary v{i}")
            response = c.post("/admin/reload", headers=admin)
            assert response.status_code == 200, response.text
        stop.set()
        for t in threads:
            t.join(30)
        assert len(statuses) > 10 and set(statuses) == {200}
        assert c.get(BOUNDARY, params={"lang": "en"}).json()["title"] == "Boundary v3"


def test_reload_needs_an_admin_key(server) -> None:  # noqa: ANN001
    assert httpx.post(f"{server}/admin/reload").status_code == 403


def test_a_broken_catalog_is_refused_and_the_old_one_kept(server, layers, admin) -> None:  # noqa: ANN001
    _set_title(layers, "Kept")
    assert httpx.post(f"{server}/admin/reload", headers=admin, timeout=60).status_code == 200
    city = layers / "cambridge" / "city.toml"
    good = city.read_text(encoding="utf-8")
    city.write_text(good.replace("local_crs", "local_crs_typo", 1), encoding="utf-8")
    _set_title(layers, "Never served")
    try:
        response = httpx.post(f"{server}/admin/reload", headers=admin, timeout=60)
        assert response.status_code == 400
        assert "local_crs" in response.json()["detail"]
        title = httpx.get(f"{server}{BOUNDARY}", params={"lang": "en"}).json()["title"]
        assert title == "Kept"
    finally:
        city.write_text(good, encoding="utf-8")


def test_a_definition_saved_as_gbk_is_refused_clearly(server, layers, admin) -> None:  # noqa: ANN001
    """A layer TOML saved by a Chinese editor as GBK ("ANSI"): tomllib's UnicodeDecodeError
    was not a CatalogError, so the reload answered 500 (and check-layers a traceback)."""
    path = layers / "cambridge" / "city_boundary.toml"
    good = path.read_bytes()
    _set_title(layers, "边界")
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    try:
        response = httpx.post(f"{server}/admin/reload", headers=admin, timeout=60)
        assert response.status_code == 400
        detail = response.json()["detail"]
        assert "city_boundary.toml: not UTF-8 text" in detail
        assert "perhaps saved as GBK: save it as UTF-8" in detail
    finally:
        path.write_bytes(good)


def test_styles_follow_a_reloaded_definition(server, layers, admin) -> None:  # noqa: ANN001
    def water_colour() -> str:
        style = httpx.get(f"{server}/styles/cambridge/planner?lang=en").json()
        fill = next(x for x in style["layers"] if x["id"] == "water_bodies-fill")
        return fill["paint"]["fill-color"]

    before = water_colour()
    path = layers / "cambridge" / "water_bodies.toml"
    text = path.read_text(encoding="utf-8")
    assert '\n[style]\ncolour = "tdyh_2023:17"\n' in text
    path.write_text(
        text.replace('colour = "tdyh_2023:17"', 'colour = "#123456"', 1), encoding="utf-8"
    )
    try:
        assert httpx.post(f"{server}/admin/reload", headers=admin).status_code == 200
        assert water_colour() == "#123456" != before
    finally:
        path.write_text(text, encoding="utf-8")
        httpx.post(f"{server}/admin/reload", headers=admin)


def test_tiles_follow_a_reloaded_access(server, layers, admin) -> None:  # noqa: ANN001
    """A layer made internal is gone from anonymous tiles at once (the tile service reads the
    new definitions; its cached tilesets are worked out afresh)."""
    import gzip

    import mapbox_vector_tile

    def city_layers() -> set[str]:
        r = httpx.get(f"{server}/tiles/cambridge/12/1238/1515")
        assert r.status_code == 200
        data = r.content
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return set(mapbox_vector_tile.decode(data))

    tile = f"{server}{BOUNDARY}/tiles/WebMercatorQuad/12/1238/1515"
    assert httpx.get(tile).status_code == 200 and "city_boundary" in city_layers()
    path = layers / "cambridge" / "city_boundary.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('access = "public"', 'access = "internal"', 1), encoding="utf-8")
    try:
        assert httpx.post(f"{server}/admin/reload", headers=admin).status_code == 200
        assert httpx.get(tile).status_code == 404
        assert "city_boundary" not in city_layers()
    finally:
        path.write_text(text, encoding="utf-8")
        httpx.post(f"{server}/admin/reload", headers=admin)
