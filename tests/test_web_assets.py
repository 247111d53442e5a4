"""The map pages' assets: loaded from a URL that changes with any of them, kept by browsers for
a year there; an older release's URL redirects to the current one; the unversioned URL is
revalidated at every use. Over real HTTP, and the modules a page loads in headless Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web_planner import Opened, launched_browser

import digitalcity.web as web
from digitalcity.web import VERSIONED_URL, assets_version

ASSET = re.compile(r'(?:src|href)="(static/web/[^"]+)"')


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.mark.parametrize("page", ["map", "public"])
def test_a_page_names_its_assets_by_release_and_they_are_kept(live_server, page):
    html = httpx.get(f"{live_server}/{page}").text
    assets = ASSET.findall(html)
    assert len(assets) >= 4
    prefix = f"{VERSIONED_URL}/{assets_version()}/".lstrip("/")
    assert all(a.startswith(prefix) for a in assets), assets
    for asset in assets:
        response = httpx.get(f"{live_server}/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_an_older_release_url_leads_to_the_current_files(live_server):
    response = httpx.get(f"{live_server}{VERSIONED_URL}/0123456789abcdef/js/common.js")
    assert response.status_code == 307
    assert response.headers["location"] == f"{VERSIONED_URL}/{assets_version()}/js/common.js"
    assert response.headers["cache-control"] == "no-cache"
    followed = httpx.get(response.url, follow_redirects=True)
    assert followed.status_code == 200 and "export function" in followed.text
    missing = httpx.get(f"{live_server}{VERSIONED_URL}/{assets_version()}/js/none.js")
    assert missing.status_code == 404
    outside = httpx.get(f"{live_server}{VERSIONED_URL}/{assets_version()}/../../../pyproject.toml")
    assert outside.status_code == 404


def test_the_unversioned_url_is_revalidated(live_server):
    url = f"{live_server}/static/web/js/common.js"
    first = httpx.get(url)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_the_version_changes_with_any_asset(tmp_path: Path, monkeypatch):
    copy = tmp_path / "static"
    shutil.copytree(web.static_dir(), copy)
    monkeypatch.setattr(web, "static_dir", lambda: copy)
    version = web.assets_version.__wrapped__
    before = version()
    assert before == assets_version()  # the same files: the same version
    (copy / "css" / "app.css").write_text((copy / "css" / "app.css").read_text() + "\n/* */")
    assert version() != before


def test_every_module_a_page_loads_comes_from_one_release(browser, live_server, loaded):
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge")
    scripts = [  # MapLibre starts its workers from a blob: of its own
        r.url
        for r in opened.requests
        if r.resource_type in ("script", "stylesheet") and not r.url.startswith("blob:")
    ]
    assert len(scripts) >= 8  # the planner's modules, MapLibre and the style sheets
    prefix = f"{live_server}{VERSIONED_URL}/{assets_version()}/"
    assert all(u.startswith(prefix) for u in scripts), scripts
    assert not opened.errors
    opened.close()
