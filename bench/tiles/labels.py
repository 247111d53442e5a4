"""``python -m bench.tiles.labels``: time to the first labelled render in headless Chromium.

Opens the public and the planner map at z16 over Massachusetts Ave, Cambridge (labels drawn
with the browser's fonts: the styles have no glyph URL) with the tile cache off, and reports
per page and language the milliseconds from navigation to (a) the first rendered frame with
any feature, (b) the first with a street-name label, (c) every tile loaded. Baseline in the
same run: the same pages with the style's label layers stripped (intercepted in the browser),
i.e. the maps as they were before labels. Each case runs ``RUNS`` times in a fresh browser
context (cold HTTP cache); medians are printed.
"""

from __future__ import annotations

import json
import statistics
import time

from bench.common.city import city_db
from bench.common.servers import uvicorn_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEW = "z=16&ll=-71.1034,42.3655"  # Massachusetts Ave at Central Square
RUNS = 5
PROBE = """() => {
  const m = window.map;
  if (!m || !m.isStyleLoaded || !m.isStyleLoaded()) return [false, false, false];  // #map div first
  const any = m.queryRenderedFeatures().length > 0;
  const labelled = m.getLayer('street_centerlines-label')
    ? m.queryRenderedFeatures(undefined, {layers: ['street_centerlines-label']}).length > 0 : false;
  return [any, labelled, m.areTilesLoaded() && document.body.dataset.ready === '1'];
}"""


def strip_labels(route) -> None:  # noqa: ANN001
    """Answer a style request with the style less its symbol (label) layers."""
    response = route.fetch()
    style = response.json()
    if "version" in style:  # a style (the legend document shares the path)
        style["layers"] = [x for x in style["layers"] if x.get("type") != "symbol"]
    route.fulfill(response=response, body=json.dumps(style))


def one_run(browser, url: str, labels: bool = True) -> tuple[float, float, float]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if not labels:
        context.route("**/styles/*/*", strip_labels)
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    marks: list[float | None] = [None, None, None]
    wanted = (0, 1, 2) if labels else (0, 2)  # without labels there is no label mark
    while any(marks[i] is None for i in wanted) and time.perf_counter() - started < 60:
        state = page.evaluate(PROBE)
        now = (time.perf_counter() - started) * 1000
        marks = [
            m if m is not None else (now if seen else None)
            for m, seen in zip(marks, state, strict=True)
        ]
        page.wait_for_timeout(20)
    context.close()
    return tuple(m if m is not None else float("nan") for m in marks)  # type: ignore[return-value]


def main() -> None:
    from playwright.sync_api import sync_playwright

    with city_db("cambridge") as db, sync_playwright() as p:
        env = {**db.env(), "DIGITALCITY_TILE_CACHE": "0"}
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            one_run(browser, f"{base}/public?lang=en#{VIEW}")  # warm the server's copies
            print(f"median of {RUNS} cold page loads, ms from navigation (tile cache off)")
            print(f"{'page':<8} {'lang':<4} {'features':>9} {'labels':>8} {'all tiles':>10} "
                  f"{'no labels: features':>20} {'all tiles':>10} {'ratio':>6}")  # fmt: skip
            for page in ("public", "map"):
                for lang in ("en", "zh"):
                    url = f"{base}/{page}?lang={lang}#{VIEW}"
                    runs = {flag: [] for flag in (True, False)}
                    for _ in range(RUNS):  # interleaved: the machine is shared
                        for flag in (True, False):
                            runs[flag].append(one_run(browser, url, flag))
                    med = {f: [statistics.median(r[i] for r in runs[f]) for i in range(3)]
                           for f in runs}  # fmt: skip
                    on, off = med[True], med[False]
                    print(f"{page:<8} {lang:<4} {on[0]:>9.0f} {on[1]:>8.0f} {on[2]:>10.0f} "
                          f"{off[0]:>20.0f} {off[2]:>10.0f} {on[2] / off[2]:>6.2f}")  # fmt: skip
            browser.close()


if __name__ == "__main__":
    main()
