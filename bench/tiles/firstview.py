"""``python -m bench.tiles.firstview``: what a phone downloads to open the public map.

Opens the public map of Cambridge on a phone-sized screen (390 x 844) in headless Chromium,
at z13 over the city centre and at z15 over Harvard Square, and counts the bytes received
(gzipped, as sent) for the style, legend and tiles, the number of tile requests and the
milliseconds from navigation to every tile loaded, over the loopback and over a phone
network as Lighthouse emulates it (Slow 4G: 150 ms round trips, 1.6 Mbit/s, set through the
DevTools protocol). The server's tile cache is off, so every tile is rendered cold. Baseline in the same run: the same page with its style rewritten
(intercepted in the browser) to read the whole city tileset as one source, as the public
map did before it read the tileset by theme (``digitalcity/tiles/selections.py``). Each case
runs ``RUNS`` times in a fresh browser context, interleaved; medians are printed.
"""

from __future__ import annotations

import json
import statistics
import time
from urllib.parse import urlsplit

from bench.common.city import city_db
from bench.common.servers import uvicorn_server
from bench.tiles.labels import ARGS, CHROMIUM

VIEWS = {
    "z13 city centre": "z=13&ll=-71.1100,42.3750",
    "z15 Harvard Sq": "z=15&ll=-71.1190,42.3735",
}
RUNS = 5
READY = "document.body.dataset.ready === '1' && window.map.loaded() && window.map.areTilesLoaded()"


def whole_tileset(route) -> None:  # noqa: ANN001
    """Answer a style request with the style reading the city tileset whole, one source."""
    response = route.fetch()
    style = response.json()
    if "version" in style and len(style.get("sources", {})) > 1:
        sources = style["sources"]
        city = style["metadata"]["digitalcity:city"]
        first = sources[city]
        boxes = [s["bounds"] for s in sources.values()]
        merged = {
            **first,
            "tiles": [first["tiles"][0].split("?", 1)[0]],
            "minzoom": min(s["minzoom"] for s in sources.values()),
            "maxzoom": max(s["maxzoom"] for s in sources.values()),
            "bounds": [
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            ],  # fmt: skip
        }
        style["sources"] = {city: merged}
        for layer in style["layers"]:
            if "source" in layer:
                layer["source"] = city
    route.fulfill(response=response, body=json.dumps(style))


# Lighthouse's mobile network ("Slow 4G"): 150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8,
           "uploadThroughput": 750e3 / 8}  # fmt: skip
NETWORKS = {"loopback": None, "slow 4G": SLOW_4G}


def one_run(browser, url: str, parts: bool, network: dict | None) -> tuple[int, int, float]:  # noqa: ANN001
    """(bytes received for style, legend and tiles; tile requests; ms to all tiles)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    if not parts:
        context.route("**/styles/*/public*", whole_tileset)
    page = context.new_page()
    if network is not None:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", network)
    seen: list = []
    page.on("requestfinished", lambda request: seen.append(request))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(READY, timeout=120_000)
    elapsed = (time.perf_counter() - started) * 1000
    page.wait_for_timeout(200)  # the last responses' events
    received = tiles = 0
    for request in seen:
        path = urlsplit(request.url).path
        if path.startswith(("/tiles/", "/styles/")):
            received += request.sizes()["responseBodySize"]
            tiles += path.startswith("/tiles/")
    context.close()
    return received, tiles, elapsed


def main() -> None:
    from playwright.sync_api import sync_playwright

    with city_db("cambridge") as db, sync_playwright() as p:
        env = {**db.env(), "DIGITALCITY_TILE_CACHE": "0"}
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            first = f"{base}/public?lang=en#{VIEWS['z13 city centre']}"
            one_run(browser, first, True, None)  # warm the server's copies
            print(f"public map on a phone (390x844), medians of {RUNS} cold loads, tile cache off")
            print(f"{'view':<16} {'network':<9} {'by theme KB':>12} {'tiles':>6} {'ms':>6}  "
                  f"{'whole KB':>9} {'tiles':>6} {'ms':>6}  {'bytes':>6} {'ms':>6}")  # fmt: skip
            for name, view in VIEWS.items():
                url = f"{base}/public?lang=en#{view}"
                for network, conditions in NETWORKS.items():
                    runs: dict[bool, list] = {True: [], False: []}
                    for _ in range(RUNS):  # interleaved: the machine is shared
                        for parts in (True, False):
                            runs[parts].append(one_run(browser, url, parts, conditions))
                    med = {k: [statistics.median(r[i] for r in v) for i in range(3)]
                           for k, v in runs.items()}  # fmt: skip
                    on, off = med[True], med[False]
                    print(f"{name:<16} {network:<9} {on[0] / 1000:>12.0f} {on[1]:>6.0f} "
                          f"{on[2]:>6.0f}  {off[0] / 1000:>9.0f} {off[1]:>6.0f} {off[2]:>6.0f}  "
                          f"{on[0] / off[0]:>5.2f}x {on[2] / off[2]:>5.2f}x")  # fmt: skip
            browser.close()


if __name__ == "__main__":
    main()
