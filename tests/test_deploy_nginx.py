"""The shipped nginx configuration (deploy/nginx-digitalcity.conf) in front of the real API:
anonymous tiles and pages are cached by our headers; a key holder's request is never looked
up in the cache nor stored in it, whichever way the key is sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from string import Template

import pytest
from conftest import free_port

from digitalcity.config import PROJECT_ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TILE = "/tiles/cambridge/14/4956/6060"
PAGE = "/collections/cambridge__hydrants/items?limit=5&bbox=-71.12,42.37,-71.10,42.38"

MAIN_CONF = """
daemon off;
worker_processes 1;
pid $root/nginx.pid;
error_log $root/error.log warn;
$user
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $root/body;
    proxy_temp_path $root/proxy;
    fastcgi_temp_path $root/fastcgi;
    uwsgi_temp_path $root/uwsgi;
    scgi_temp_path $root/scgi;
    include $root/digitalcity.conf;
}
"""


ACCESS_LOGS: dict[str, Path] = {}  # the proxy's URL -> its access log


@pytest.fixture(scope="module")
def proxy(live_server: str) -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="digitalcity-nginx-"))
    port = free_port()
    site = Template((PROJECT_ROOT / "deploy" / "nginx-digitalcity.conf").read_text())
    (root / "digitalcity.conf").write_text(
        site.safe_substitute(
            cache_dir=root / "cache",
            api_address=live_server.removeprefix("http://"),
            listen=f"127.0.0.1:{port}",
            access_log=root / "access.log",
        )
    )
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(Template(MAIN_CONF).substitute(root=root, user=user))
    check = subprocess.run(
        [NGINX, "-t", "-p", str(root), "-c", str(root / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf")])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    ACCESS_LOGS[url] = root / "access.log"
    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get("X-Cache-Status", ""), response.read()


def test_anonymous_tiles_and_pages_are_cached(proxy: str) -> None:
    for path in (TILE, PAGE):
        status, first, body = _get(proxy + path)
        assert status == 200 and first in ("MISS", "EXPIRED", "HIT")
        status, second, again = _get(proxy + path)
        assert (status, second) == (200, "HIT"), path
        assert again == body


@pytest.mark.parametrize("how", ["x-api-key", "bearer", "query"])
def test_key_holders_are_never_cached(proxy: str, planner_key: str, how: str) -> None:
    limit = {"x-api-key": 3, "bearer": 4, "query": 5}[how]  # a URL of its own per case
    path = f"/collections/cambridge__utility_poles/items?limit={limit}"
    headers: dict[str, str] = {}
    if how == "x-api-key":
        headers["X-API-Key"] = planner_key
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {planner_key}"
    keyed = proxy + path + (f"&api_key={planner_key}" if how == "query" else "")
    for _ in range(2):
        status, cache, body = _get(keyed, headers)
        assert status == 200 and cache == "BYPASS"
        assert b"cambridge__utility_poles" in body
    # the internal layer is hidden from the anonymous caller: nothing keyed was stored
    anonymous = urllib.request.Request(proxy + path)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=30)
    assert refused.value.code == 404


def test_keys_never_reach_the_access_log(proxy: str, planner_key: str) -> None:
    paths = [
        f"/collections/cambridge__utility_poles/items?limit=6&api_key={planner_key}",
        f"/collections/cambridge__utility_poles/items?%61pi%5Fkey={planner_key}&limit=7",
        "/collections/cambridge__hydrants/items?limit=8&bbox=-71.12,42.37,-71.10,42.38",
    ]
    caches = [_get(proxy + path)[:2] for path in paths]
    assert caches[:2] == [(200, "BYPASS"), (200, "BYPASS")]  # keyed either way: never cached
    deadline = time.monotonic() + 10  # nginx writes a line once the answer has gone out
    while "cambridge__hydrants/items?limit=8" not in ACCESS_LOGS[proxy].read_text():
        assert time.monotonic() < deadline, ACCESS_LOGS[proxy].read_text()[-2000:]
        time.sleep(0.05)
    log = ACCESS_LOGS[proxy].read_text()
    assert planner_key not in log
    assert log.count("[withheld: a key parameter]") >= 2
    assert "cambridge__hydrants/items?limit=8&bbox=-71.12,42.37,-71.10,42.38" in log  # no key


def test_private_answer_is_not_stored(proxy: str, planner_key: str) -> None:
    path = "/collections?f=json"
    _, cache, keyed_body = _get(proxy + path, {"X-API-Key": planner_key})
    assert cache == "BYPASS"
    _, cache, anonymous_body = _get(proxy + path)
    assert cache != "HIT"
    assert b"cambridge__utility_poles" in keyed_body
    assert b"cambridge__utility_poles" not in anonymous_body


def test_the_cache_keeps_each_format_apart(proxy: str) -> None:
    """One URL, two formats chosen by ``Accept``: the API says ``Vary: Accept``, so the cache
    never hands the GeoJSON page it stored to a browser asking for HTML."""
    path = "/collections/cambridge__parcels/items?limit=6"
    _get(proxy + path, {"Accept": "application/geo+json"})
    status, cache, body = _get(proxy + path, {"Accept": "application/geo+json"})
    assert (status, cache) == (200, "HIT") and body.startswith(b"{")
    status, cache, page = _get(proxy + path, {"Accept": "text/html"})
    assert status == 200 and cache != "HIT"
    assert page.lstrip().lower().startswith(b"<!doctype html")
