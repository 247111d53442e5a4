"""``python -m bench.feed``: see the package docstring."""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.common.city import CITY, CityDB, city_db, osmlike_db
from bench.common.osmlike import CITY as OSM_CITY
from bench.common.servers import uvicorn_server
from digitalcity.catalog.access import visible_fields
from digitalcity.city import City
from digitalcity.history.changeset_sql import changeset_statement

PAGE = {"limit": "20", "features": "20", "lang": "en", "since": "2000-01-01"}


@dataclass(frozen=True)
class FeedDataset:
    """One dataset's run: ``--edits`` edits of ``field`` on ``layer`` (a new value each)."""

    label: str
    open_db: Callable[[], AbstractContextManager[CityDB]]
    city: str
    layer: str
    field: str
    value: Callable[[Any, int], Any]  # the field's new value from its old one and the edit's n


DATASETS = {
    "cambridge": FeedDataset(
        "Cambridge (real parcels)", city_db, CITY, "parcels", "stories",
        lambda old, n: float(old) + 1 if old == old and old is not None else 2.0,  # NaN
    ),
    "osm": FeedDataset(
        "SYNTHETIC OSM-like (bench/common/osmlike.py): its loads hold 246,900 roads",
        lambda: osmlike_db(editable=True), OSM_CITY, "roads", "name",
        lambda old, n: f"bench street {n}",
    ),
}  # fmt: skip


def make_edits(db: CityDB, data: FeedDataset, count: int) -> None:
    """``count`` edits of ``data``'s layer through the editing service (a change set each)."""
    city = City(db.catalog, db.catalog.city(data.city), db.engine, "land_bureau")
    rows = city.read(data.layer, columns=[data.field], limit=count)
    for n, (fid, row) in enumerate(rows.iterrows()):
        city.update(
            data.layer, int(fid), {"properties": {data.field: data.value(row[data.field], n)}},
            etag=city.etag(data.layer, int(fid)) or "*", reason=f"bench edit {n}",
        )  # fmt: skip


def walk(base: str, city: str, lang: str = "en") -> tuple[float, int, int]:
    """Every page of ``city``'s feed by ``before``, in ``lang``: (seconds, pages, change
    sets)."""
    path = f"/cities/{city}/changes"
    pages = entries = 0
    before = None
    t0 = time.perf_counter()
    while True:
        query = dict(PAGE, lang=lang, **({"before": str(before)} if before else {}))
        url = f"{base}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(url) as answer:  # noqa: S310 - our own local server
            page = json.load(answer)
        pages += 1
        entries += len(page["changesets"])
        before = page["next_before"]
        if before is None:
            return time.perf_counter() - t0, pages, entries


def atom(base: str, city: str, repeat: int) -> float:
    """Seconds per warm Atom feed (50 entries)."""
    url = f"{base}/cities/{city}/changes.atom?lang=en&since=2000-01-01"
    urllib.request.urlopen(url).read()  # noqa: S310 - our own local server
    t0 = time.perf_counter()
    for _ in range(repeat):
        urllib.request.urlopen(url).read()  # noqa: S310
    return (time.perf_counter() - t0) / repeat


def floor_walk(db: CityDB, name: str) -> tuple[float, int]:
    """The same change sets read by the feed's own statements straight through psycopg:
    the candidates (20 a page, by ``before``), then one statement per change set (rows
    fetched); (seconds, change sets)."""
    catalog, city = db.catalog, db.catalog.city(name)
    layers = {layer.id: layer for layer in catalog.city_layers(name)}
    statements: dict[str, tuple[str, dict[str, Any]]] = {}
    for layer in layers.values():
        fields = visible_fields("anonymous", layer)
        if not fields and layer.access != "public":
            continue
        stmt = changeset_statement(layer, city, fields, 20, False)
        compiled = stmt.compile(db.engine)
        statements[layer.id] = (str(compiled), dict(compiled.params))
    visible = [i for i in statements if layers[i].access == "public"]
    candidates = (
        "SELECT id, layer, at FROM digitalcity.changesets WHERE city = %(city)s AND "
        "layer = ANY(%(layers)s) AND id < %(before)s ORDER BY id DESC LIMIT 20"
    )
    count = 0
    with psycopg.connect(db.libpq_url(), autocommit=True) as conn:
        t0 = time.perf_counter()
        before = 2**63 - 1
        while True:
            rows = conn.execute(
                candidates, {"city": name, "layers": visible, "before": before}
            ).fetchall()
            if not rows:
                return time.perf_counter() - t0, count
            for changeset, layer, at in rows:
                sql, params = statements[layer]
                conn.execute(sql, {**params, "changeset": changeset, "at": at}).fetchall()
                count += 1
            before = rows[-1][0]


def measure(data: FeedDataset, edits: int, rounds: int) -> None:
    with data.open_db() as db:
        make_edits(db, data, edits)
        floors, colds, others, warms, atoms = [], [], [], [], []
        for _ in range(rounds):
            floors.append(floor_walk(db, data.city))
            app = "digitalcity.api.main:app_factory"
            with uvicorn_server(app, db.env(), factory=True) as base:
                urllib.request.urlopen(f"{base}/cities/{data.city}").read()  # noqa: S310
                colds.append(walk(base, data.city))
                others.append(walk(base, data.city, "zh"))  # the statements' rows kept
                warms.append(walk(base, data.city))
                atoms.append(atom(base, data.city, 20))
    floor, changesets = min(floors)
    cold, other, warm = min(colds), min(others), min(warms)
    print(
        f"\n{data.label}: {changesets} change sets the public may see ({edits} edits of "
        f"{data.layer} and the loads), walked 20 a page with 20 features each; best of {rounds}"
    )
    print(f"  SQL floor (the feed's statements, psycopg)  {floor:7.3f} s a walk")
    print(
        f"  digitalcity feed, cold (a new process)      {cold[0]:7.3f} s a walk "
        f"({cold[1]} pages, {cold[1] / cold[0]:6.1f} pages/s)"
    )
    print(
        f"  the other language next, first time (zh)    {other[0]:7.3f} s a walk "
        f"({other[1] / other[0]:6.1f} pages/s)"
    )
    print(
        f"  digitalcity feed, warm (kept)               {warm[0]:7.3f} s a walk "
        f"({warm[1] / warm[0]:6.1f} pages/s)"
    )
    print(f"  Atom feed (50 entries), warm                {min(atoms) * 1000:7.1f} ms")
    print(
        f"  cold / SQL floor: {cold[0] / floor:.2f}x the time; "
        f"warm / SQL floor: {warm[0] / floor:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.feed")
    parser.add_argument("--edits", type=int, default=200, help="edits made first")
    parser.add_argument("--rounds", type=int, default=3, help="cold/warm rounds; best kept")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    args = parser.parse_args(argv)
    for name in ("cambridge", "osm") if args.dataset == "both" else (args.dataset,):
        measure(DATASETS[name], args.edits, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
