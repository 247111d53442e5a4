"""Load several layers of a city, one transaction each, collecting reports and errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from digitalcity import pinyin_keys
from digitalcity.catalog import Catalog
from digitalcity.config import Settings
from digitalcity.errors import DigitalCityError
from digitalcity.ingest.loader import load_layer
from digitalcity.ingest.report import LoadReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOutcome:
    layer: str
    report: LoadReport | None = None
    error: str | None = None


def load_city(
    catalog: Catalog,
    city_id: str,
    layer_ids: Sequence[str] | None,
    engine: Engine,
    settings: Settings,
    *,
    force: bool = False,
) -> Iterator[LoadOutcome]:
    """Load the named layers (all when None) in catalog order; a failing layer, even one that
    meets a defect of ours, does not stop the rest."""
    city = catalog.city(city_id)
    layers = (
        [catalog.layer(city_id, layer_id) for layer_id in layer_ids]
        if layer_ids
        else list(catalog.city_layers(city_id))
    )
    for layer in layers:
        try:
            outcome = LoadOutcome(
                layer.id, report=load_layer(layer, city, engine, settings, force=force)
            )
            version = outcome.report.version if outcome.report else None
            if version is not None:  # search by pinyin: the version's Chinese values keyed
                pinyin_keys.remember_layer(engine, layer, city, version)
        except DigitalCityError as exc:
            outcome = LoadOutcome(layer.id, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a defect on one source spares the others
            # the load rolled back as for any failure; the traceback goes to the log
            log.exception("internal error loading %s", layer.qualified_id)
            outcome = LoadOutcome(
                layer.id,
                error=f"{layer.qualified_id}: internal error ({type(exc).__name__}: {exc}); "
                "previous version kept; please report it with the log",
            )
        yield outcome
