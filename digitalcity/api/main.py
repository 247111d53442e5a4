"""Entry point for uvicorn workers: settings come from the environment of each worker."""

from fastapi import FastAPI

from digitalcity.api.app import create_app
from digitalcity.api.reload import on_sighup
from digitalcity.config import settings_from_environment


def app_factory() -> FastAPI:
    app = create_app(settings_from_environment())
    on_sighup(app)  # `kill -HUP <pid>` reloads the catalog
    return app
