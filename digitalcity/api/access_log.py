"""Keys stay out of the access log: uvicorn writes each request's path with its query string,
and a key sent as ``?api_key=`` (where a browser cannot send a header) would be stored there in
clear text. The value of every parameter the API reads as ``api_key`` is replaced by
``[redacted]`` before the line is written."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

from digitalcity.api.caller import KEY_QUERY_PARAMETER

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"


def redacted(path: str) -> str:
    """``path`` (with its query string) with the value of every parameter the API reads as
    its key replaced: names are compared decoded, as the API decodes them, so ``api%5Fkey``
    and ``%61pi_key`` are caught too."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name) == KEY_QUERY_PARAMETER:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{base}?{'&'.join(parts)}"


class KeyRedaction(logging.Filter):
    """Rewrites uvicorn's access records (client, method, path, HTTP version, status): the
    path's key values become ``REDACTED``; every record is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redacted(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """Install ``KeyRedaction`` on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, KeyRedaction) for f in logger.filters):
        logger.addFilter(KeyRedaction())
