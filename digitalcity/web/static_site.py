"""The public map as plain static files over a PMTiles export (object storage, a CDN, any
web server that answers HTTP range requests).

    digitalcity tiles export cambridge --public -o site/cambridge.pmtiles
    python -m digitalcity.web.static_site cambridge site/cambridge.pmtiles

writes ``site/index.html``, ``site/assets/`` (the page's scripts, CSS and the vendored
MapLibre GL and pmtiles libraries), ``style-zh.json`` / ``style-en.json`` (MapLibre styles
whose source is ``pmtiles://<file>``) and ``legend-zh.json`` / ``legend-en.json``. Only the
layers in the archive (public ones) are styled; no server code runs at view time.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader

from digitalcity.catalog import Role, load_catalog
from digitalcity.catalog.codes import code_tables
from digitalcity.catalog.descriptions import code_descriptions
from digitalcity.config import Settings, settings_from_environment
from digitalcity.tiles import style as styles
from digitalcity.tiles.content import plan_layer
from digitalcity.tiles.export import PINYIN_METADATA
from digitalcity.tiles.metadata import TilesetInfo, attribution
from digitalcity.tiles.symbology import Symbology, native_first_cities
from digitalcity.web import static_dir
from digitalcity.web.cities import city_summary, layer_meta
from digitalcity.web.pages import page_config, render

LANGS = ("zh", "en")
ASSETS = ("js", "css", "vendor/maplibre-gl", "vendor/pmtiles")
PUBLIC: Role = "anonymous"


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and metadata of a PMTiles v3 archive."""
    with path.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        return reader.header(), reader.metadata()


def _style(archive: str, info: TilesetInfo, symbols: list, header: dict[str, Any]) -> dict:
    doc = styles.style("public", info, symbols, {}, deepest=int(header["max_zoom"]))
    doc["sources"] = {
        info.city.id: {
            "type": "vector",
            "url": f"pmtiles://{archive}",
            "attribution": attribution(info.city, info.lang),
        }
    }
    doc["metadata"]["digitalcity:archive"] = archive
    doc["metadata"]["digitalcity:zooms"] = [header["min_zoom"], header["max_zoom"]]
    return doc


def build_static_site(
    pmtiles: str | Path,
    city: str,
    out_dir: str | Path | None = None,
    *,
    settings: Settings | None = None,
    lang: str = "zh",
) -> Path:
    """Write the static public map of ``city`` over the archive ``pmtiles`` into ``out_dir``
    (default: the archive's folder; the archive is copied there when it lies elsewhere).
    ``lang`` is the language the page opens in. Returns the path of ``index.html``."""
    settings = settings or settings_from_environment()
    source = Path(pmtiles)
    out = Path(out_dir) if out_dir is not None else source.parent
    out.mkdir(parents=True, exist_ok=True)
    if source.resolve() != (out / source.name).resolve():
        shutil.copyfile(source, out / source.name)
    header, metadata = read_archive(source)
    in_archive = {layer["id"] for layer in metadata.get("vector_layers", [])}
    catalog = load_catalog(settings.layers_dir)
    definition = catalog.city(city)
    layers = list(catalog.city_layers(city))
    plans = [p for x in layers if x.id in in_archive and (p := plan_layer(x, PUBLIC))]
    shown = {p.layer.id for p in plans}
    symbology = Symbology(
        code_tables(settings.layers_dir), settings.layers_dir, native_first_cities(catalog)
    )
    for code in LANGS:
        symbols = symbology.symbols(layers, shown, code, "public")
        info = TilesetInfo(
            city=definition,
            plans=plans,
            title=definition.title.get(code),
            description=definition.title.get(code),
            tiles_url="",
            self_url="",
            tilejson_url="",
            base_url="",
            lang=code,
        )
        style_doc = _style(source.name, info, symbols, header)
        legend_doc = styles.legend("public", definition, symbols, code)
        for name, doc in ((f"style-{code}.json", style_doc), (f"legend-{code}.json", legend_doc)):
            (out / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _copy_assets(out / "assets")
    tables = code_tables(settings.layers_dir)
    meta = layer_meta(catalog, city, PUBLIC, code_descriptions(settings.layers_dir, tables))
    meta["layers"] = {k: v for k, v in meta["layers"].items() if k in shown}
    config = page_config("static", catalog, city, lang, None, "assets")
    config.update(
        cities=[city_summary(definition, lang)],
        meta={city: meta},
        styleUrl="style-{lang}.json",
        legendUrl="legend-{lang}.json",
        # its search by pinyin: the keys the export put in the archive (none before them)
        pinyin=metadata.get(PINYIN_METADATA, {}),
    )
    index = out / "index.html"
    index.write_text(render("static", config, lang), encoding="utf-8")
    return index


def _copy_assets(target: Path) -> None:
    root = static_dir()
    for part in ASSETS:
        shutil.copytree(root / part, target / part, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m digitalcity.web.static_site",
        description="Write a static public map (index.html + assets + styles) over a PMTiles export.",
    )
    parser.add_argument("city", help="city id, e.g. cambridge")
    parser.add_argument("pmtiles", type=Path, help="the archive from `digitalcity tiles export`")
    parser.add_argument("-o", "--out", type=Path, help="output folder (default: the archive's)")
    parser.add_argument("--lang", choices=LANGS, default="zh", help="language the page opens in")
    parser.add_argument("--serve", type=int, metavar="PORT", help="then serve it on 127.0.0.1:PORT")
    args = parser.parse_args(argv)
    index = build_static_site(args.pmtiles, args.city, args.out, lang=args.lang)
    print(f"wrote {index}")
    if args.serve:
        serve(index.parent, args.serve)


def serve(folder: Path, port: int, host: str = "127.0.0.1") -> None:
    """Serve ``folder`` with byte-range support (PMTiles needs it; ``http.server`` has none)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.staticfiles import StaticFiles

    app = Starlette()
    app.mount("/", StaticFiles(directory=folder, html=True))
    print(f"serving {folder} at http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
