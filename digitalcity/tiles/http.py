"""HTTP semantics of tiles without a web framework: ETag matching, gzip, caching headers."""

from __future__ import annotations


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` without ``q=0``)."""
    if not accept_encoding:
        return False
    allowed: dict[str, bool] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[name.strip().lower()] = q > 0
    if "gzip" in allowed:
        return allowed["gzip"]
    return allowed.get("*", False)


def cache_control(anonymous: bool, max_age: int) -> str:
    """Shared caches may keep anonymous tiles for ``max_age``; a keyed caller's tiles stay
    private and are revalidated on every use (ETag: a 304 when unchanged), so an editor sees
    an edit's tiles at once."""
    return f"public, max-age={max_age}" if anonymous else "private, no-cache"


def immutable_cache_control(anonymous: bool) -> str:
    """An answer about the settled past: a year, never revalidated; still private for a key."""
    return f"{'public' if anonymous else 'private'}, max-age=31536000, immutable"


VARY = "Accept-Encoding, Authorization, X-API-Key"
