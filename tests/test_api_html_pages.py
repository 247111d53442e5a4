"""The API's HTML pages (``f=html``) in Chinese and English: links named in the page's
language and leading to the other formats and to the HTML pages of what they point to, in the
same language; tables headed by the definitions' field titles and units; kinds by their
titles. Against the loaded demo cities."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from digitalcity.catalog.model import KIND_TITLES
from digitalcity.catalog.units import UNITS_ZH, unit_text

PARCELS = "cambridge__parcels"
# words of the pages before they spoke both languages, which no page may show now
PREVIEW_DATA = re.compile(r'<script type="application/json" id="dc-preview">(.*?)</script>', re.S)
RAW = {"alternate", "self", "_link", "property", "value", "service-doc", "items", "landuse"}


class _Page(HTMLParser):
    """The links (text, href), header cells and all text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.headers: list[str] = []
        self.words: list[str] = []
        self._href: str | None = None
        self._in: str | None = None
        self._buffer = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("a", "th"):
            self._in, self._buffer = tag, ""
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in == "a":
            self.links.append((self._buffer, self._href or ""))
        elif tag == self._in == "th":
            self.headers.append(self._buffer)
        self._in = None

    def handle_data(self, data: str) -> None:
        self._buffer += data
        self.words.append(data)


def _open(client, path: str, **params: str) -> _Page:  # noqa: ANN001
    response = client.get(path, params={"f": "html", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = _Page(response.text)
    shown = {w.strip() for w in page.words} | {text for text, _ in page.links}
    assert not shown & RAW, shown & RAW
    return page


def _heading(field, lang: str) -> str:  # noqa: ANN001
    unit = unit_text(field.unit, lang)
    title = field.title.get(lang)
    if not unit:
        return title
    return f"{title}（{unit}）" if lang == "zh" else f"{title} ({unit})"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_page_of_features_is_headed_by_field_titles_and_units(client, catalog, lang):
    layer = catalog.layer("cambridge", "parcels")
    page = _open(client, f"/collections/{PARCELS}/items", limit="3", lang=lang)
    public = [f for f in layer.all_fields if f.access == "public"]
    assert page.headers[0] == ("编号" if lang == "zh" else "ID")
    assert page.headers[1:] == [_heading(f, lang) for f in public]
    area = next(f for f in public if f.unit)
    if lang == "zh":  # the definitions' units read in Chinese
        assert UNITS_ZH[area.unit] in page.headers[1 + public.index(area)]
    named = dict(page.links)
    words = {"zh": ("下一页", "所属图层"), "en": ("Next page", "Collection")}[lang]
    assert {"GeoJSON", "CSV", *words} <= set(named)
    assert "f=json" in named["GeoJSON"] and "f=csv" in named["CSV"]
    for text in words:  # the HTML pages they lead to speak the same language
        assert "f=html" in named[text] and f"lang={lang}" in named[text]
    feature_links = [href for text, href in page.links if text.isdigit()]
    assert len(feature_links) == 3
    assert all("f=html" in h and f"lang={lang}" in h for h in feature_links)


def test_one_feature_lists_its_properties_by_title(client, catalog):
    layer = catalog.layer("cambridge", "parcels")
    page = _open(client, f"/collections/{PARCELS}/items/5", lang="zh")
    assert page.headers == ["属性", "值"]
    text = "".join(page.words)
    for field in (f for f in layer.all_fields if f.access == "public"):
        assert _heading(field, "zh") in text
    assert [t for t, _ in page.links[1:]] == ["GeoJSON", "所属图层"]


def test_a_collection_links_its_features_schemas_and_tiles_by_name(client):
    page = _open(client, f"/collections/{PARCELS}", lang="zh")
    assert [t for t, _ in page.links[1:]] == [
        "JSON", "要素（GeoJSON）", "要素列表", "要素（CSV）", "数据结构", "GeoJSON 数据结构",
        "可查询字段", "可排序字段", "矢量瓦片", "规划工作图", "公众地图",
    ]  # fmt: skip
    assert page.headers == ["属性", "值"]
    assert KIND_TITLES["landuse"]["zh"] in page.words


def test_the_landing_page_and_the_list_of_collections(client, catalog):
    landing = _open(client, "/", lang="en")
    named = dict(landing.links)
    assert {"JSON", "OpenAPI document", "API documentation", "Conformance"} <= set(named)
    assert named["All collections"].endswith("/collections?f=html&lang=en")
    assert named["Conformance"].endswith("/conformance?f=html&lang=en")
    assert any(t.startswith("Vector tiles: ") for t in named)
    nav = [t for t, _ in landing.links if t not in ("Planner map", "Public map")]
    assert len(set(nav)) == len(nav)  # the OGC and the short rels: one link each
    parcels = catalog.layer("cambridge", "parcels")
    assert named[parcels.title.en].endswith(f"/collections/{PARCELS}?f=html&lang=en")
    assert "Land use" in landing.words
    collections = _open(client, "/collections", lang="zh")
    assert collections.headers == ["图层", "城市", "类别", "几何类型"]
    assert dict(collections.links)[parcels.title.zh].endswith("f=html&lang=zh")
    conformance = _open(client, "/conformance", lang="zh")
    assert "标准符合性" in conformance.words


def test_the_page_a_link_opens_keeps_its_language(client):
    """From the landing page to a feature, every page reached by its links is in Chinese."""
    page = _open(client, "/", lang="zh")
    for text in ("全部图层", "地块（土地利用现状）", "要素列表", "1"):
        href = dict(page.links)[text] if text != "1" else next(
            h for t, h in page.links if t.isdigit()
        )
        path, _, query = href.partition("?")
        params = dict(re.findall(r"([^&=]+)=([^&]*)", query))
        assert params.get("lang") == "zh", href
        page = _open(client, path.removeprefix("http://testserver"), **params)
        assert page.words and "<html lang=" not in page.words


def _vary(response) -> set[str]:  # noqa: ANN001
    return {v.strip().lower() for v in response.headers["vary"].split(",")}


@pytest.mark.parametrize(
    ("path", "params", "chosen_by"),
    [
        ("/collections", {}, {"accept", "accept-language"}),
        ("/collections", {"f": "html"}, {"accept-language"}),
        ("/collections", {"lang": "zh"}, {"accept"}),
        ("/collections", {"f": "json", "lang": "en"}, set()),
        (f"/collections/{PARCELS}/items", {"limit": "1", "lang": "en"}, {"accept"}),
        (f"/collections/{PARCELS}/items/5", {"f": "html"}, {"accept-language"}),
        ("/", {}, {"accept", "accept-language"}),
    ],
)
def test_an_answer_names_the_headers_it_was_chosen_by(client, path, params, chosen_by):
    """A shared cache must not hand a Chinese page to an English reader, nor HTML to a GIS
    client: ``Vary`` names ``Accept`` / ``Accept-Language`` when they chose the answer."""
    response = client.get(path, params=params, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    assert _vary(response) & {"accept", "accept-language"} == chosen_by
    assert {"accept-encoding", "authorization", "x-api-key"} <= _vary(response)


def test_the_language_a_reader_asks_for_is_the_page_they_get(client):
    zh = client.get("/collections", params={"f": "html"}, headers={"Accept-Language": "zh"})
    en = client.get("/collections", params={"f": "html"}, headers={"Accept-Language": "en-GB"})
    assert "<h1>图层</h1>" in zh.text and "<h1>Collections</h1>" in en.text
    html = client.get("/collections", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")


def test_the_pages_lead_to_the_maps(client, catalog, planner_key):
    landing = _open(client, "/", lang="zh")
    maps = [(t, h) for t, h in landing.links if t in ("规划工作图", "公众地图")]
    assert len(maps) == 2 * len(catalog.cities)
    assert ("公众地图", "http://testserver/public?city=xiamen&lang=zh") in maps
    assert ("规划工作图", "http://testserver/map?city=cambridge&lang=zh") in maps
    public = dict(_open(client, f"/collections/{PARCELS}", lang="en").links)
    assert public["Public map"].endswith("/public?city=cambridge&lang=en")
    assert public["Planner map"].endswith("/map?city=cambridge&lang=en")
    # an internal layer is not on the public map: its page links the planner map only
    internal = client.get(
        "/collections/cambridge__utility_poles",
        params={"f": "html", "lang": "en"},
        headers={"X-API-Key": planner_key},
    )
    assert internal.status_code == 200
    links = dict(_Page(internal.text).links)
    assert "Planner map" in links and "Public map" not in links


def test_the_map_data_cannot_end_its_script_element():
    from digitalcity.api.html import map_preview

    point = {"type": "Point", "coordinates": [-71.1, 42.37]}
    snippet = map_preview("http://h", "c</script><!--<script>", "en", [point, None])
    data = PREVIEW_DATA.search(snippet)
    assert data and "<" not in data[1]
    assert json.loads(data[1])["style"] == "http://h/styles/c</script><!--<script>/public?lang=en"
    assert map_preview("http://h", "c", "en", [None]) == ""  # nothing to map: no map
