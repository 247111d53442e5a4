"""Tiles for a role: what a tileset holds, its cache key and ETag, cache look-up and rendering.

A ``TileService`` lives as long as the app (or a CLI command). Its ``VersionMap`` is loaded
at start and kept current by a LISTEN thread, so building a key, answering If-None-Match
and serving a cached tile never touch the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity import metrics
from digitalcity.catalog import Catalog, CityDef, LayerDef, Role
from digitalcity.catalog.ids import collection_id
from digitalcity.db.live import LayerState, VersionListener, VersionMap
from digitalcity.errors import InvalidParameter, NotFound
from digitalcity.tiles.cache import CITY_TILESET, CacheKey, TileCache
from digitalcity.tiles.compress import compress
from digitalcity.tiles.content import LayerPlan, at_zoom, city_plans, fieldset_key, plan_layer
from digitalcity.tiles.copies import CopyPreparer, source_for
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.query import TileSource, as_of_source, qualified, render
from digitalcity.tiles.selections import theme_selections
from digitalcity.tiles.split import plan_weight, split_in_two
from digitalcity.tiles.tms import TileIndex, tile_box_3857

log = logging.getLogger(__name__)

MEMO_LIMIT = 16384  # tilesets kept worked out: each city, role and zoom, the maps' parts
TILE_FORMAT = "mvt3"  # part of every key: bump when the SQL or encoding changes


@dataclass(frozen=True)
class Tileset:
    """The layers of one tileset for one role (at one zoom for the city tileset) and its key."""

    city: CityDef
    name: str  # a layer id, or CITY_TILESET
    plans: tuple[LayerPlan, ...]
    key: CacheKey
    as_of: dt.datetime | None = None  # the layers as they were then (from their history)
    # whether rendered tiles are stored: not for a selection of the city tileset no map of
    # ours reads (``collections=``), so arbitrary selections cannot fill the disk
    stored: bool = True

    def etag(self, tile: TileIndex, tag: str = "") -> str:
        """Weak ETag: layer versions, field set, tileset, tile and the tile's edit ``tag``
        (same for any encoding)."""
        text = f"{TILE_FORMAT}|{'/'.join(self.key.parts())}|{tile}|{tag}"
        return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:24]}"'


SETTLED = dt.timedelta(minutes=10)  # longer than any edit transaction may run


def settled(instant: dt.datetime) -> bool:
    """True when no transaction still open can change what was current at ``instant``
    (a commit stamps rows with its transaction's start): its answers never change."""
    return instant < dt.datetime.now(dt.UTC) - SETTLED


def definition_tag(layer: LayerDef) -> str:
    """A short digest of a layer's whole definition (worked out when a tileset is, not per
    tile)."""
    return hashlib.sha256(layer.model_dump_json().encode()).hexdigest()[:8]


class TileService:
    """Tilesets, keys and tiles of one catalog, with the disk cache and the version map."""

    def __init__(
        self, catalog: Catalog, options: TileOptions, versions: VersionMap | None = None
    ) -> None:
        self.catalog = catalog
        self.options = options
        self.versions = versions or VersionMap()
        self.cache = TileCache(options.cache_dir)
        self.copies: dict[tuple[str, str], int] = {}  # (city, layer) -> version of its copy
        self._memo: dict[tuple, Tileset] = {}
        self._memo_generation = -1
        self._memo_lock = threading.Lock()
        self._collections: dict[tuple[str, Role], tuple[int, dict[str, str]]] = {}
        self._listener: VersionListener | None = None
        self._preparer: CopyPreparer | None = None
        self._busy = 0  # renders in flight
        self._busy_lock = threading.Lock()
        self._renderers: ThreadPoolExecutor | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(
        self,
        engine: Engine,
        *,
        listen: bool = True,
        reader: Callable[[], Engine] | None = None,
        build_copies: bool = False,
    ) -> None:
        """Load versions; start the LISTEN thread and the 3857-copy finder (when enabled).

        The copies are built by the writers (the loader's CLI, ``tiles seed``:
        ``build_copies``); an API process only finds them, so it runs no DDL. With ``reader``
        (hot standbys), versions are read through it and no LISTEN runs."""
        try:
            self.versions.load(reader() if reader else engine)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("tile versions not loaded at start: %s", exc)
        if reader is not None:
            listen = False
        if self.options.copies and self._preparer is None:
            self._preparer = CopyPreparer(
                self.catalog,
                engine,
                self.copies,
                self.versions,
                build=build_copies,
                reader=reader,
            )
            self.versions.on_change(self._preparer.enqueue)
            self._preparer.start(set(self.versions.current))
        if listen and self._listener is None:
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = VersionListener(self.versions, dsn, self.options.poll_seconds)
            self._listener.start()

    def stop(self) -> None:
        if self._renderers is not None:
            self._renderers.shutdown(wait=False)
            self._renderers = None
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._preparer is not None:
            self._preparer.stop()
            self._preparer = None

    def wait_for_copies(self, timeout: float = 60.0) -> bool:
        """Block until queued 3857 copies are built (CLI seeding and benchmarks)."""
        return self._preparer.wait(timeout) if self._preparer else True

    def use_catalog(self, catalog: Catalog) -> None:
        """Serve ``catalog`` from now on (a reload): tilesets are worked out afresh, and a
        changed definition keys its tiles anew (see ``_key``)."""
        with self._memo_lock:
            self.catalog = catalog
            self._memo.clear()
            self._collections.clear()
            self._memo_generation = -1
        if self._preparer is not None:
            self._preparer.catalog = catalog

    # -- tilesets ------------------------------------------------------------------------------
    def loaded(self, layer: LayerDef) -> bool:
        return self.versions.get(layer.city, layer.id) is not None

    def city_layers(self, city_id: str, role: Role) -> tuple[LayerPlan, ...]:
        """Every loaded layer of the city ``role`` may see, with its fields (any zoom)."""
        return city_plans(self.catalog, city_id, role, self.loaded)

    def selection(self, city_id: str, role: Role, collections: str) -> frozenset[str]:
        """The layer ids that ``collections`` (comma-separated collection ids) names among the
        city's loaded layers ``role`` may see. ``NotFound`` for any other id, the same for a
        layer the role may not see as for one that does not exist; ``InvalidParameter`` when
        it names none."""
        city_id = self.catalog.city(city_id).id
        ids = {c.strip() for c in collections.split(",") if c.strip()}
        if not ids:
            raise InvalidParameter("collections: name at least one collection of the city")
        known = self._collection_ids(city_id, role)
        unknown = sorted(ids - known.keys())
        if unknown:
            raise NotFound(f"unknown collection {unknown[0][:100]!r} in city {city_id!r}")
        return frozenset(known[c] for c in ids)

    def _collection_ids(self, city_id: str, role: Role) -> dict[str, str]:
        """{collection id: layer id} of the city's loaded layers ``role`` may see, kept until
        the versions change (checking a selection took 87 µs a tile request without them, 5 µs
        with them kept)."""
        generation = self.versions.generation
        kept = self._collections.get((city_id, role))
        if kept is not None and kept[0] == generation:
            return kept[1]
        known = {collection_id(p.layer): p.layer.id for p in self.city_layers(city_id, role)}
        self._collections[(city_id, role)] = (generation, known)
        return known

    def public_map_parts(self, city_id: str) -> list[frozenset[str]]:
        """The parts of the anonymous city tileset the public map's style reads, one source
        each: its layers without a theme, and each themed layer (``selections.py``)."""
        return theme_selections(p.layer for p in self.city_layers(city_id, "anonymous"))

    def layer_tileset(self, layer: LayerDef, role: Role) -> Tileset | None:
        """The single-layer tileset; None when the role may not see it or it is not loaded."""
        plan = plan_layer(layer, role)
        if plan is None or not self.loaded(layer):
            return None
        return self._memoised(("layer", layer.city, layer.id, role), layer.city, layer.id, (plan,))

    def city_tileset(
        self,
        city_id: str,
        role: Role,
        z: int,
        *,
        searchable: bool = False,
        layers: frozenset[str] | None = None,
    ) -> Tileset:
        """The city tileset at zoom ``z``: the layers meant for ``z`` that ``role`` may see;
        ``searchable`` (a static site's) with the fields it searches and shows at every zoom
        (``content.drawn_fields``); ``layers`` (layer ids): only those of them.

        A selection's tiles are keyed by its layers (``_key``), so each selection has its
        own cache entries, and one that holds the same layers as the whole tileset at ``z``
        shares its tiles."""
        city = self.catalog.city(city_id)
        memo = ("city", city.id, role, z, searchable, layers)
        with self._memo_lock:
            hit = (
                self._memo.get(memo) if self._memo_generation == self.versions.generation else None
            )
        if hit is not None:
            return hit
        plans = self.city_layers(city.id, role)
        stored = True
        if layers is not None:
            plans = tuple(p for p in plans if p.layer.id in layers)
            stored = role == "anonymous" and layers in self.public_map_parts(city.id)
        plans = at_zoom(plans, z, searchable=searchable)
        return self._memoised(memo, city.id, CITY_TILESET, plans, stored)

    def empty_tileset(self, city_id: str) -> Tileset:
        """A tileset with no layers (every tile empty), e.g. outside a layer's zooms."""
        return self._memoised(("empty", city_id), city_id, "_empty", ())

    def _memoised(
        self,
        memo: tuple,
        city_id: str,
        name: str,
        plans: tuple[LayerPlan, ...],
        stored: bool = True,
    ) -> Tileset:
        generation = self.versions.generation
        with self._memo_lock:
            if self._memo_generation != generation or len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()  # new versions; or many selections asked (collections=)
                self._memo_generation = generation
            hit = self._memo.get(memo)
            if hit is None:
                key = self._key(city_id, name, plans)
                hit = Tileset(self.catalog.city(city_id), name, plans, key, stored=stored)
                self._memo[memo] = hit
        return hit

    def at_instant(self, tileset: Tileset, instant: dt.datetime) -> Tileset:
        """``tileset`` as it was at ``instant``: keyed by the instant and the definitions, not
        the current versions, since the past does not change."""
        tags = "|".join(f"{p.layer.id}:{definition_tag(p.layer)}" for p in tileset.plans)
        text = f"{TILE_FORMAT}|asof|{instant.astimezone(dt.UTC).isoformat()}|{tags}"
        digest = "asof-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        key = CacheKey(tileset.city.id, tileset.name, digest, tileset.key.fieldset)
        return Tileset(tileset.city, tileset.name, tileset.plans, key, instant, tileset.stored)

    def _key(self, city_id: str, name: str, plans: tuple[LayerPlan, ...]) -> CacheKey:
        # a layer's version and edits, and its definition (simplification, zooms, fields: a
        # reloaded definition must not be served tiles cut by the old one)
        # edits key the tiles they touch, one by one (tile_tag), not the whole tileset
        versions = "|".join(
            f"{p.layer.id}:{getattr(self.versions.get(city_id, p.layer.id), 'version', 0)}"
            f":{definition_tag(p.layer)}"
            for p in plans
        )
        digest = hashlib.sha256(f"{TILE_FORMAT}|{versions}".encode()).hexdigest()[:12]
        return CacheKey(city_id, name, digest, fieldset_key(plans))

    # -- tiles ---------------------------------------------------------------------------------
    def tile_tag(self, tileset: Tileset, tile: TileIndex) -> str:
        """What ``tile`` is as of beyond its tileset's key: per layer, the last edit that
        touched the tile (with the margin its features reach into); "" when no edit did. So an
        edit moves the key and ETag of exactly the tiles its old and new geometry touch."""
        if tileset.as_of is not None:
            return ""
        box = tile_box_3857(tile)
        revisions = [
            self.versions.revision_at(tileset.city.id, p.layer.id, box) for p in tileset.plans
        ]
        return "" if not any(revisions) else ".".join(str(r) for r in revisions)

    def cached(self, tileset: Tileset, tile: TileIndex) -> bytes | None:
        """The cached gzip tile (b"" when empty), or None; never touches the database."""
        if not tileset.plans:
            return b""
        if not self.options.cache:
            return None
        gz = self.cache.get(tileset.key, tile, self.tile_tag(tileset, tile))
        metrics.cache_lookup("tiles", gz is not None)
        return gz

    def tile(self, engine: Engine, tileset: Tileset, tile: TileIndex) -> bytes:
        """The gzip-compressed MVT of ``tile`` (b"" when empty): from the cache or rendered.
        The tag is taken before rendering: an edit landing meanwhile moves the tag on, so a
        render that may predate it is never stored under the newer tag."""
        if not tileset.plans:
            return b""
        tag = self.tile_tag(tileset, tile)
        hit = self.cache.get(tileset.key, tile, tag) if self.options.cache else None
        if hit is not None:
            return hit
        mvt = self.render(engine, tileset, tile)
        gz = compress(mvt, self.options.gzip_level) if mvt else b""
        if (
            self.options.cache
            and tileset.stored
            and (tileset.as_of is None or settled(tileset.as_of))
        ):
            self.cache.put(tileset.key, tile, gz, tag)
        return gz

    def render(self, engine: Engine, tileset: Tileset, tile: TileIndex) -> bytes:
        """The uncompressed MVT of ``tile``, read from PostGIS (b"" when empty)."""
        try:
            return self._render(engine, self.sources(tileset, copies=True), tileset.city, tile)
        except psycopg.ProgrammingError:
            # A copy dropped under us (a newer version was just prepared): read the tables.
            return self._render(engine, self.sources(tileset, copies=False), tileset.city, tile)

    def _render(
        self,
        engine: Engine,
        sources: list[tuple[LayerPlan, TileSource]],
        city: CityDef,
        tile: TileIndex,
    ) -> bytes:
        """One statement, or, with a core to spare, two runs of layers at once (split.py)."""
        with self._busy_lock:
            self._busy += 1
            spare = self._busy < self.options.render_cores
        try:
            runs = split_in_two(sources, plan_weight(self._state, tile)) if spare else [sources]
            if len(runs) == 1:
                return render(engine, sources, city, tile)
            second = self._pool().submit(render, engine, runs[1], city, tile)
            first = render(engine, runs[0], city, tile)
            return first + second.result()
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _state(self, layer: LayerDef) -> LayerState | None:
        return self.versions.get(layer.city, layer.id)

    def _pool(self) -> ThreadPoolExecutor:
        with self._busy_lock:
            if self._renderers is None:
                self._renderers = ThreadPoolExecutor(
                    self.options.render_cores, thread_name_prefix="digitalcity-tile"
                )
            return self._renderers

    def sources(
        self, tileset: Tileset, *, copies: bool = True
    ) -> list[tuple[LayerPlan, TileSource]]:
        """Where each layer of ``tileset`` is read: its 3857 copy when current, else its table."""
        city = tileset.city
        if tileset.as_of is not None:  # the history, never the copies (they hold the present)
            return [(p, as_of_source(p.layer, city, tileset.as_of)) for p in tileset.plans]
        out = []
        for plan in tileset.plans:
            state = self.versions.get(city.id, plan.layer.id)
            version = state.version if state else None
            use_copy = (
                copies
                and version is not None
                and self.copies.get((city.id, plan.layer.id)) == version
            )
            if use_copy:
                out.append((plan, source_for(plan.layer, version)))  # type: ignore[arg-type]
            else:
                out.append((plan, TileSource(qualified(city.schema_name, plan.layer.id))))
        return out
