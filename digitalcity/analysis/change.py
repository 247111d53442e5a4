"""Change between two versions of a layer: the features added, removed and changed (by feature
id; attributes compared field by field, geometry by ``ST_Equals``) and the change of area and
count by class. The current table is compared with a kept version table ``<layer>__v<n>``
(see ``digitalcity.db.versions``); queries are SQLAlchemy Core over the catalog's tables."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.engine import Connection

from digitalcity.analysis import params
from digitalcity.analysis.errors import InvalidParameter
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import local_srid
from digitalcity.catalog import visible_fields
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.db.schema import table_columns
from digitalcity.errors import NotFound

_VERSIONS = sa.text(
    "SELECT version, table_name, is_current, dropped FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer ORDER BY version"
)


def _tables(
    conn: Connection, city: City, layer: LayerDef, from_version: Any, to_version: Any
) -> tuple[tuple[int, sa.TableClause], tuple[int, sa.TableClause], list[str]]:
    """The two version tables (as Core tables of the readable fields they share) and the
    fields compared; raises NotFound / InvalidParameter for unknown or dropped versions."""
    rows = conn.execute(_VERSIONS, {"city": city.id, "layer": layer.id}).all()
    if not rows:
        raise NotFound(f"layer {layer.qualified_id} has no loaded version")
    by_version = {r.version: r for r in rows}
    current = next(r.version for r in rows if r.is_current)
    kept = [r.version for r in rows if not r.is_current and not r.dropped]
    if from_version is None:
        if not kept:
            raise InvalidParameter(
                f"layer {layer.qualified_id} keeps no earlier version to compare with "
                f"(only version {current}); load it again to create one"
            )
        from_version = max(kept)
    to_version = current if to_version is None else to_version
    chosen = []
    for name, v in (("from_version", from_version), ("to_version", to_version)):
        v = int(params.number(v, name, 1, 1e9))
        row = by_version.get(v)
        if row is None or row.dropped:
            raise NotFound(
                f"version {v} of {layer.qualified_id} is not kept (kept: {sorted([*kept, current])})"
            )
        chosen.append((v, row.table_name))
    if chosen[0][0] == chosen[1][0]:
        raise InvalidParameter("from_version and to_version are the same version")
    readable = [f.name for f in visible_fields(city.role, layer)]
    present = [
        {name for name, _ in table_columns(conn, city.definition.schema_name, t)} for _, t in chosen
    ]
    fields = [f for f in readable if all(f in p for p in present)]
    tables = [
        (
            v,
            sa.table(
                t,
                sa.column("fid"),
                sa.column("geom"),
                *(sa.column(f) for f in fields),
                schema=city.definition.schema_name,
            ),
        )
        for v, t in chosen
    ]
    return tables[0], tables[1], fields


def _area(geom: Any, srid: int) -> Any:
    return sa.func.ST_Area(sa.func.ST_Transform(geom, srid))


def layer_changes(
    city: City, layer_id: str, *, from_version: int | None = None, to_version: int | None = None
) -> AnalysisResult:
    """Features added, removed or changed from ``from_version`` (default: the latest kept
    version) to ``to_version`` (default: the current one), matched by feature id.

    GeoDataFrame (storage CRS; a removed feature shows its old geometry): fid, change,
    changed_fields (readable fields whose value differs), geometry_changed, area before and
    after (m², local CRS; polygons only). Summary: counts per change.
    """
    layer = city.layer(layer_id)
    srid = local_srid(city)
    with city.engine.begin() as conn:
        (v_old, old), (v_new, new), fields = _tables(conn, city, layer, from_version, to_version)
        diffs: list[sa.ColumnElement[str]] = [
            sa.case((old.c[f].is_distinct_from(new.c[f]), sa.literal(f, sa.Text)), else_=None)
            for f in fields
        ]
        changed = (
            sa.func.array_remove(array[Any](diffs, type_=sa.Text), None)
            if diffs
            else sa.cast(sa.literal_column("ARRAY[]::text[]"), ARRAY(sa.Text))
        )
        geom_changed = sa.case(
            (sa.or_(old.c.fid.is_(None), new.c.fid.is_(None)), None),
            (sa.func.ST_OrderingEquals(old.c.geom, new.c.geom), False),
            else_=sa.not_(sa.func.ST_Equals(old.c.geom, new.c.geom)),
        )
        kind = sa.case(
            (old.c.fid.is_(None), "added"), (new.c.fid.is_(None), "removed"), else_="changed"
        )
        inner = (
            sa.select(
                sa.func.coalesce(new.c.fid, old.c.fid).label("fid"),
                kind.label("change"),
                changed.label("changed_fields"),
                geom_changed.label("geometry_changed"),
                _area(old.c.geom, srid).label("area_before_m2"),
                _area(new.c.geom, srid).label("area_after_m2"),
                sa.func.ST_AsBinary(sa.func.coalesce(new.c.geom, old.c.geom)).label("geom"),
            )
            .select_from(old.join(new, old.c.fid == new.c.fid, full=True))
            .subquery()
        )
        query = (
            sa.select(inner)
            .where(
                sa.or_(
                    inner.c.change != "changed",
                    sa.func.cardinality(inner.c.changed_fields) > 0,
                    inner.c.geometry_changed,
                )
            )
            .order_by(inner.c.fid)
        )
        rows = conn.execute(query).mappings().all()
        prov = provenance(
            conn,
            city,
            "layer_changes",
            {"layer": layer_id, "from_version": v_old, "to_version": v_new},
            [layer],
            method="full outer join of the two version tables on fid; fields compared with IS "
            "DISTINCT FROM, geometries with ST_OrderingEquals / ST_Equals",
        )
    prov["compared"] = {"from_version": v_old, "to_version": v_new, "fields": fields}
    data = pd.DataFrame(
        rows,
        columns=[
            "fid",
            "change",
            "changed_fields",
            "geometry_changed",
            "area_before_m2",
            "area_after_m2",
            "geom",
        ],
    )
    if "Polygon" not in layer.geometry_type:
        data = data.drop(columns=["area_before_m2", "area_after_m2"])
    geoms = shapely.from_wkb([bytes(g) for g in data.pop("geom")])
    gdf = gpd.GeoDataFrame(
        data,
        geometry=gpd.GeoSeries(geoms, index=data.index),
        crs=pyproj.CRS.from_user_input(city.definition.storage_crs),
    )
    counts = gdf["change"].value_counts()
    summary = {k: int(counts.get(k, 0)) for k in ("added", "removed", "changed")}
    units = {"area_before_m2": "m²", "area_after_m2": "m²"}
    return AnalysisResult(gdf, city.definition.storage_crs, units, prov, summary)


def area_change_by_class(
    city: City,
    layer_id: str,
    *,
    by: str | None = None,
    from_version: int | None = None,
    to_version: int | None = None,
) -> AnalysisResult:
    """Area (m², local CRS; polygon layers) and feature count per class in two versions, and
    their change. ``by`` defaults to the layer's standard level-1 class field, else its
    classification field."""
    layer = city.layer(layer_id)
    cls = layer.classification
    field = by or (
        cls.crosswalk.level1_field if cls and cls.crosswalk else cls.field if cls else None
    )
    if field is None:
        raise InvalidParameter(f"layer {layer_id!r} has no classification: name a field with by=")
    srid = local_srid(city)
    polygons = "Polygon" in layer.geometry_type
    with city.engine.begin() as conn:
        (v_old, old), (v_new, new), fields = _tables(conn, city, layer, from_version, to_version)
        if field not in fields:
            raise InvalidParameter(
                f"{field!r} is not a readable field of both versions of {layer_id!r}"
            )
        parts = []
        for tag, table in (("before", old), ("after", new)):
            area = (
                sa.func.sum(sa.func.ST_Area(sa.func.ST_Transform(table.c.geom, srid)))
                if polygons
                else sa.null()
            )
            q = sa.select(
                table.c[field].label("class"),
                sa.func.count().label(f"count_{tag}"),
                area.label(f"area_{tag}_m2"),
            ).group_by(table.c[field])
            parts.append(
                pd.DataFrame(
                    conn.execute(q).mappings().all(),
                    columns=["class", f"count_{tag}", f"area_{tag}_m2"],
                )
            )
        prov = provenance(
            conn,
            city,
            "area_change_by_class",
            {"layer": layer_id, "by": field, "from_version": v_old, "to_version": v_new},
            [layer],
            method=f"sum of ST_Area in {city.local_crs} and count per {field} in each version",
        )
    out = parts[0].merge(parts[1], on="class", how="outer")
    for tag in ("before", "after"):
        out[f"count_{tag}"] = out[f"count_{tag}"].fillna(0).astype(int)
        out[f"area_{tag}_m2"] = out[f"area_{tag}_m2"].astype(float).fillna(0.0)
    out["count_change"] = out["count_after"] - out["count_before"]
    out["area_change_m2"] = out["area_after_m2"] - out["area_before_m2"]
    out["class"] = out["class"].astype(object).where(out["class"].notna(), None)
    out = out.sort_values("area_change_m2", key=abs, ascending=False).reset_index(drop=True)
    units = {c: "m²" for c in out.columns if c.endswith("_m2")}
    summary = {
        "area_before_m2": float(out["area_before_m2"].sum()),
        "area_after_m2": float(out["area_after_m2"].sum()),
    }
    return AnalysisResult(out, None, units, prov, summary)
