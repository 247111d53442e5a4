"""Printing a map sheet from the planner map in headless Chromium: a one-page PDF at A4
landscape whose first page, rasterised by poppler's pdftoppm, holds the map, the legend and the
scale bar where the sheet says they are; a PNG at A3 portrait of the right proportions; zh.

Never skipped: without /usr/bin/chromium or pdftoppm (poppler-utils) these tests error.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_web_planner import MAPLE, SHOTS, Opened, launched_browser

A4_LANDSCAPE_PT = (841.89, 595.28)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _export(opened: Opened, paper: str, orientation: str, fmt: str, tmp: Path) -> tuple[Path, dict]:
    page = opened.page
    page.click("#print")
    page.select_option("#print-paper", paper)
    page.select_option("#print-orientation", orientation)
    page.select_option("#print-format", fmt)
    page.fill("#print-title", "Test sheet 测试图幅")
    with page.expect_download(timeout=90_000) as download:
        page.click("#print-ok")
    path = tmp / download.value.suggested_filename
    download.value.save_as(path)
    page.wait_for_function("window.dcPrint && !document.querySelector('#print-dialog').open")
    return path, page.evaluate("window.dcPrint")


def printed_legend(page) -> list[str]:  # noqa: ANN001
    """Print the map as it is (PNG, the dialog's defaults) and return the sheet's legend rows:
    each group's title, note or entry label, top to bottom."""
    page.evaluate("window.dcPrint = null")
    page.click("#print")
    page.select_option("#print-format", "png")
    with page.expect_download(timeout=90_000):
        page.click("#print-ok")
    page.wait_for_function("window.dcPrint && !document.querySelector('#print-dialog').open")
    return page.evaluate("window.dcPrint.regions.legend.rows")


def _inked(image: np.ndarray, box: dict, scale: float) -> float:
    """Share of non-white pixels inside ``box`` (sheet pixels, scaled to the image)."""
    x, y = int(box["x"] * scale), int(box["y"] * scale)
    w, h = int(box["w"] * scale), int(box["h"] * scale)
    region = image[y : y + h, x : x + w]
    return float((region.min(axis=2) < 200).mean()) if region.size else 0.0


def test_pdf_sheet_a4_landscape_has_map_legend_and_scale_bar(browser, live_server, tmp_path):
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge&z=15&ll={MAPLE[0]},{MAPLE[1]}")
    path, sheet = _export(opened, "A4", "landscape", "pdf", tmp_path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", data)) == 1
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert box and (float(box[1]), float(box[2])) == pytest.approx(A4_LANDSCAPE_PT, abs=2)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    png = next(tmp_path.glob("page*.png"))
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    scale = image.shape[1] / sheet["size"][0]  # rasterised pixels per sheet pixel
    assert image.shape[1] > image.shape[0]  # landscape
    regions = sheet["regions"]
    assert _inked(image, regions["legend"], scale) > 0.02  # swatches and labels
    assert _inked(image, regions["scale"], scale) > 0.05  # the bar and its length
    drawn = image[
        int(regions["map"]["y"] * scale) : int((regions["map"]["y"] + regions["map"]["h"]) * scale),
        int(regions["map"]["x"] * scale) : int((regions["map"]["x"] + regions["map"]["w"]) * scale),
    ]
    assert drawn.reshape(-1, 3).std(axis=0).mean() > 10  # a map, not a blank box
    SHOTS.mkdir(parents=True, exist_ok=True)
    Image.open(png).save(SHOTS / "print-a4-landscape.png")
    assert 0.1 < sheet["metresPerPixel"] < 50  # z15 over Cambridge, metres per map pixel
    assert not opened.errors
    opened.close()


def test_png_sheet_a3_portrait_in_chinese(browser, live_server, tmp_path):
    opened = Opened(
        browser, f"{live_server}/map?lang=zh#c=cambridge&z=15&ll={MAPLE[0]},{MAPLE[1]}&lang=zh"
    )
    assert opened.page.inner_text("#print") == "打印地图"
    path, sheet = _export(opened, "A3", "portrait", "png", tmp_path)
    image = Image.open(path)
    width, height = image.size
    assert (width, height) == tuple(sheet["size"])
    assert height / width == pytest.approx(420 / 297, rel=0.01)  # A3 portrait
    assert (
        _inked(np.asarray(image.convert("RGB")).astype(int), sheet["regions"]["legend"], 1) > 0.02
    )
    assert not opened.errors
    opened.close()
