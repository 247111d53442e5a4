"""The application: assembles settings, catalog, engine and routers. No logic lives here."""

from __future__ import annotations

from fastapi import FastAPI

from digitalcity import __version__
from digitalcity.api import problems
from digitalcity.api.routes import health
from digitalcity.catalog import load_catalog
from digitalcity.config import Settings
from digitalcity.db.engine import make_engine


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the catalog in ``settings.layers_dir`` from the configured database."""
    app = FastAPI(title="digitalcity", version=__version__)
    app.state.settings = settings
    app.state.catalog = load_catalog(settings.layers_dir)
    app.state.engine = make_engine(settings)
    app.state.key_cache = {}
    problems.install(app)
    app.include_router(health.router)
    return app
