"""Entry point for uvicorn workers: settings come from the environment of each worker."""

from fastapi import FastAPI

from digitalcity.api.app import create_app
from digitalcity.api.reload import on_sighup
from digitalcity.config import Settings


def app_factory() -> FastAPI:
    app = create_app(Settings())
    on_sighup(app)  # `kill -HUP <pid>` reloads the catalog
    return app
