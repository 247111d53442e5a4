"""The application: assembles settings, catalog, engine and routers. No logic lives here."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from digitalcity import __version__
from digitalcity.api import problems
from digitalcity.api.access_log import redact_access_log
from digitalcity.api.caller import CallerMiddleware
from digitalcity.api.head import HeadAsGet
from digitalcity.api.metrics import RequestMetrics
from digitalcity.api.page_cache import PageCache
from digitalcity.api.problem_pages import ProblemPages
from digitalcity.api.reload import build_definitions
from digitalcity.api.reload import install as install_definitions
from digitalcity.api.routes import (
    admin,
    analysis,
    attachments,
    changes,
    collections,
    edits,
    health,
    items,
    landing,
    planning,
    reshape,
)
from digitalcity.api.routes import styles as styles_routes
from digitalcity.api.routes import tiles as tiles_routes
from digitalcity.api.routes import web as web_routes
from digitalcity.api.state import LiveLayers
from digitalcity.config import Settings
from digitalcity.db.engine import make_engine
from digitalcity.db.routing import api_parallel_workers, make_router


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the catalog in ``settings.layers_dir`` from the configured database."""
    app = FastAPI(
        title="digitalcity geo API",
        version=__version__,
        description="OGC API – Features (Parts 1–3) and Tiles over the city's layers.",
        openapi_url=None,  # /api and /api.html: routes.landing (OpenAPI 3.0, per role)
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    redact_access_log()  # a key sent as ?api_key= never reaches uvicorn's access log
    install_definitions(app, build_definitions(app))
    app.state.engine = make_engine(settings, parallel_workers=api_parallel_workers(settings))
    app.state.router = make_router(settings, app.state.engine)
    app.state.writes = {}  # key id -> WAL position of its last write (read-your-writes)
    app.state.layers = LiveLayers(app)
    app.state.pages = PageCache(settings.items_cache_mb * 1024 * 1024)
    app.state.openapi_documents = {}
    problems.install(app)
    app.add_middleware(ProblemPages)  # inside the compression: it reads problems as sent
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=4)
    app.add_middleware(
        CallerMiddleware,
        engine_of=lambda: app.state.engine,
        fallback_of=lambda: app.state.router.reader(),
        timeout_of=lambda role: app.state.settings.statement_timeout_ms(role),
        written_lsn=lambda key_id: app.state.writes.get(key_id),
    )
    # inside HeadAsGet (it sees the route the router picks), outside the rest (401s count)
    app.add_middleware(RequestMetrics, engine_of=lambda: app.state.engine)
    app.add_middleware(HeadAsGet)  # outermost: HEAD goes through everything as a GET
    app.include_router(landing.router)
    app.include_router(collections.router)
    app.include_router(items.router)
    app.include_router(edits.router)
    app.include_router(reshape.router)
    app.include_router(attachments.router)
    app.include_router(planning.router)
    app.include_router(changes.router)
    app.include_router(analysis.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(tiles_routes.router)
    app.include_router(styles_routes.router)
    app.include_router(web_routes.router)
    for path, assets, name in web_routes.static_mounts():
        app.mount(path, assets, name=name)
    return app
