"""A city defined but not loaded yet (a new city after ``init-city``, before ``digitalcity
load``), in headless Chromium: the maps say why they are empty, in zh and en, instead of
showing a blank map and an empty layer list.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web_planner import Opened, launched_browser
from test_web_public import serve

from digitalcity.api import create_app
from digitalcity.config import Settings

# ready once the layer list is drawn: a map with no layer has no tiles to wait for
READY = "document.body.dataset.ready === '1'"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _city_copy(layers: Path, source: str, city: str, title: dict[str, str], access: str) -> None:
    """``layers/<city>``: ``source``'s definitions under another id and title, its one
    layer's access set to ``access``."""
    folder = layers / city
    shutil.copytree(layers / source, folder)
    toml = folder / "city.toml"
    text = toml.read_text(encoding="utf-8").splitlines()
    text = [f'title = {{ zh = "{title["zh"]}", en = "{title["en"]}" }}' if line.startswith("title =")
            else line for line in text]  # fmt: skip
    toml.write_text("\n".join(text) + "\n", encoding="utf-8")
    layer = folder / "districts.toml"
    layer.write_text(
        layer.read_text(encoding="utf-8").replace('access = "public"', f'access = "{access}"'),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def unloaded_server(settings: Settings, loaded, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    """The API over the test cluster with the demo layers and two cities never loaded:
    ``newtown`` (one public layer) and ``closedtown`` (one internal layer)."""
    layers = tmp_path_factory.mktemp("unloaded") / "layers"
    shutil.copytree(settings.layers_dir, layers)
    _city_copy(layers, "shenzhen", "newtown", {"zh": "新城", "en": "Newtown"}, "public")
    _city_copy(layers, "shenzhen", "closedtown", {"zh": "内城", "en": "Closedtown"}, "internal")
    app = create_app(settings.model_copy(update={"layers_dir": layers}))
    server, base = serve(app)
    yield base
    server.should_exit = True


def _notice(opened: Opened) -> tuple[str, str]:
    """The map's notice and the layer list's text."""
    page = opened.page
    page.wait_for_selector("#map .map-notice")
    return page.inner_text("#map .map-notice"), page.inner_text("#layer-list")


def test_the_api_has_no_layer_of_a_city_not_loaded(unloaded_server: str) -> None:
    legend = httpx.get(f"{unloaded_server}/styles/newtown/legend?style=planner").json()
    assert legend["layers"] == []
    meta = httpx.get(f"{unloaded_server}/cities/newtown").json()
    assert list(meta["layers"]) == ["districts"]  # defined, so the planner says "not loaded"
    assert httpx.get(f"{unloaded_server}/cities/closedtown").json()["layers"] == {}


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "No layers of this city are loaded yet. An administrator loads them with:"),
        ("zh", "这座城市还没有载入图层。管理员用这条命令载入："),
    ],
)
def test_the_planner_says_the_city_is_not_loaded_and_how_to_load_it(
    browser, unloaded_server: str, lang: str, said: str
) -> None:  # noqa: ANN001
    opened = Opened(browser, f"{unloaded_server}/map?city=newtown&lang={lang}", ready_when=READY)
    notice, listed = _notice(opened)
    assert said in notice and "digitalcity load newtown" in notice
    assert said in listed and "digitalcity load newtown" in listed
    assert opened.page.locator("#layer-list li[data-layer-row]").count() == 0
    # another city, loaded: the notice goes, the layers are listed
    opened.page.select_option("#city", "cambridge")
    opened.page.wait_for_selector("#layer-list li[data-layer-row=parcels]", timeout=30_000)
    assert opened.page.locator("#map .map-notice").count() == 0
    assert not opened.errors, opened.errors
    opened.close()


def test_the_planner_says_no_layer_is_open_to_the_caller(browser, unloaded_server: str) -> None:  # noqa: ANN001
    opened = Opened(browser, f"{unloaded_server}/map?city=closedtown&lang=en", ready_when=READY)
    notice, listed = _notice(opened)
    assert notice == "No layers here are open to you. Sign in to see more." == listed
    assert "digitalcity load" not in notice  # not a matter of loading, for this caller
    assert not opened.errors, opened.errors
    opened.close()


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "This city's map has no data yet."), ("zh", "这座城市的地图还没有数据。")],
)
def test_the_public_map_says_the_city_has_no_data_yet(
    browser, unloaded_server: str, lang: str, said: str
) -> None:  # noqa: ANN001
    opened = Opened(
        browser, f"{unloaded_server}/public?city=newtown&lang={lang}", 390, 844, ready_when=READY
    )
    notice, listed = _notice(opened)
    assert notice == said == listed
    assert "digitalcity" not in notice  # citizens get plain words, not commands
    box = opened.page.locator("#map .map-notice").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # on the phone
    assert not opened.errors, opened.errors
    opened.close()
