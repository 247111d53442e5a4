"""Entry point for uvicorn workers: settings come from the environment of each worker."""

from fastapi import FastAPI

from digitalcity.api.app import create_app
from digitalcity.config import Settings


def app_factory() -> FastAPI:
    return create_app(Settings())
