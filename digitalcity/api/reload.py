"""Reload the catalog (layer TOMLs, city.toml, code tables) into a running app, atomically.

The new catalog and code tables are built completely first; a broken catalog raises
CatalogError and the app keeps serving the old one. The swap is one assignment of an
immutable :class:`Definitions` pair, so a request sees either the old pair or the new one.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from types import FrameType

from fastapi import FastAPI

from digitalcity.catalog import Catalog, load_catalog
from digitalcity.catalog.codes import CodeTable, code_tables
from digitalcity.catalog.descriptions import Descriptions, code_descriptions
from digitalcity.errors import DigitalCityError

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Definitions:
    """The catalog and the code tables it was checked against, swapped together."""

    catalog: Catalog
    codes: dict[str, CodeTable]
    descriptions: dict[str, Descriptions]


def build_definitions(app: FastAPI) -> Definitions:
    """Read and validate everything under the app's ``layers_dir``; no side effects."""
    layers_dir = app.state.settings.layers_dir
    codes = code_tables(layers_dir)
    return Definitions(load_catalog(layers_dir), codes, code_descriptions(layers_dir, codes))


def install(app: FastAPI, definitions: Definitions) -> None:
    """Make ``definitions`` the app's current ones (one reference swap)."""
    app.state.definitions = definitions
    # what was derived from the old definitions goes with them (styles are rebuilt on demand)
    app.state.symbology = None
    service = getattr(app.state, "tile_service", None)
    if service is not None:
        service.use_catalog(definitions.catalog)
    # legacy aliases read by routes not yet on ``definitions``
    app.state.catalog = definitions.catalog
    app.state.codes = definitions.codes


def reload_catalog(app: FastAPI) -> Catalog:
    """Build the new definitions, then swap them in; raises CatalogError (old kept)."""
    with _LOCK:
        fresh = build_definitions(app)
        install(app, fresh)
        return fresh.catalog


def on_sighup(app: FastAPI) -> None:
    """Reload on SIGHUP (main thread only; a broken catalog is reported and ignored)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        try:
            reload_catalog(app)
        except DigitalCityError as exc:
            print(f"digitalcity: catalog reload refused: {exc}", flush=True)

    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, handler)
