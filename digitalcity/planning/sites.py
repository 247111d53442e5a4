"""Saved site boundaries (红线核查 shared by link): a boundary read by the site check, kept
under an unguessable token so that colleagues open the same check from a link.

Who may do what: saving and reading need a signed-in role (a project's red line is not for
the public: an anonymous caller is told nothing, not even that the token exists); deleting
needs the key that saved the site, or an admin. Geometries are CRS84 (lon/lat degrees),
stored as EPSG:4326 multipolygons; areas in m² (the city's local CRS, as read)."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.boundary import Boundary
from digitalcity.catalog.access import Role
from digitalcity.errors import DigitalCityError, NotFound

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NO_SUCH_SITE = "no such site (a saved site is shown to signed-in callers)"

_SAVE = sa.text(
    "INSERT INTO digitalcity.sites (token, city, name, crs, area_m2, parts, geom, key_id, role) "
    "VALUES (:token, :city, :name, :crs, :area_m2, :parts, "
    "ST_Multi(ST_GeomFromWKB(:wkb, 4326)), :key_id, :role)"
)
_READ = sa.text(
    "SELECT name, crs, area_m2, parts, ST_AsGeoJSON(geom, 7) AS geojson, role, created_at "
    "FROM digitalcity.sites WHERE token = :token AND city = :city"
)
_LIST = sa.text(
    "SELECT token, name, area_m2, parts, role, created_at FROM digitalcity.sites "
    "WHERE city = :city AND (:everyone OR key_id = :key_id) "
    "ORDER BY created_at DESC LIMIT :limit"
)
_OWNER = sa.text("SELECT key_id FROM digitalcity.sites WHERE token = :token AND city = :city")
_DELETE = sa.text("DELETE FROM digitalcity.sites WHERE token = :token AND city = :city")


class SignInRequired(DigitalCityError):
    status = 401
    title = "Sign in to save a site"


class NotYours(DigitalCityError):
    status = 403
    title = "Not your site"


def save_site(
    engine: Engine, city: str, name: str, boundary: Boundary, role: Role, key_id: int | None
) -> str:
    """Keep ``boundary`` (read from the file ``name``) for ``city``; its token."""
    if role == "anonymous":
        raise SignInRequired("sign in with an API key to save a site and share it")
    token = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    with engine.begin() as conn:
        conn.execute(
            _SAVE,
            {
                "token": token,
                "city": city,
                "name": name[:200],
                "crs": boundary.crs,
                "area_m2": boundary.area_m2,
                "parts": boundary.parts,
                "wkb": shapely.to_wkb(boundary.geometry),
                "key_id": key_id,
                "role": role,
            },
        )
    return token


def read_site(engine: Engine, city: str, token: str, role: Role) -> dict[str, Any]:
    """The saved site as a GeoJSON Feature (CRS84) with its name, area (m²), parts, the CRS
    it was read in, who saved it (the role) and when; NotFound for an anonymous caller, a
    malformed token or one of no site of ``city``."""
    row = None
    if role != "anonymous" and TOKEN.match(token):
        with engine.connect() as conn:
            row = conn.execute(_READ, {"token": token, "city": city}).first()
    if row is None:
        raise NotFound(_NO_SUCH_SITE)
    return {
        "type": "Feature",
        "id": token,
        "geometry": json.loads(row.geojson),
        "properties": {
            "name": row.name,
            "area_m2": round(row.area_m2, 1),
            "parts": row.parts,
            "crs": row.crs,
            "rejected": [],
            "rejected_count": 0,
            "site": token,
            "saved_by": row.role,
            "saved_at": row.created_at.isoformat(),
        },
    }


def list_sites(
    engine: Engine, city: str, role: Role, key_id: int | None, limit: int = 100
) -> list[dict[str, Any]]:
    """The sites of ``city`` the caller saved (an admin: everyone's), newest first: token,
    name, area (m²), parts, who saved it (the role) and when; none for an anonymous caller."""
    if role == "anonymous" or (key_id is None and role != "admin"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            _LIST,
            {"city": city, "everyone": role == "admin", "key_id": key_id, "limit": limit},
        ).all()
    return [
        {
            "site": r.token,
            "name": r.name,
            "area_m2": round(r.area_m2, 1),
            "parts": r.parts,
            "saved_by": r.role,
            "saved_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def delete_site(engine: Engine, city: str, token: str, role: Role, key_id: int | None) -> None:
    """Forget a saved site: by the key that saved it or an admin (NotYours otherwise);
    NotFound as reading it would be."""
    with engine.begin() as conn:
        owner = (
            conn.execute(_OWNER, {"token": token, "city": city}).first()
            if role != "anonymous" and TOKEN.match(token)
            else None
        )
        if owner is None:
            raise NotFound(_NO_SUCH_SITE)
        if role != "admin" and (key_id is None or owner.key_id != key_id):
            raise NotYours("a site is deleted by the key that saved it, or an admin")
        conn.execute(_DELETE, {"token": token, "city": city})
