"""The geo API (FastAPI). ``create_app(settings)`` assembles it."""

from digitalcity.api.app import create_app

__all__ = ["create_app"]
