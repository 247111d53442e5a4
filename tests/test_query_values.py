"""What a query builder reads before a query: coded fields' codes in the queryables (named in
the caller's language), and a queryable's values with their counts and range
(`/collections/{id}/queryables/{property}/values`), checked against SQL on the loaded data,
through the caller's access."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from digitalcity.catalog.field_codes import field_codes

PARCELS = "/collections/cambridge__parcels"
TABLE = "cambridge.parcels"


def values(client, prop: str, headers: dict | None = None, **params):  # noqa: ANN001, ANN201
    return client.get(f"{PARCELS}/queryables/{prop}/values", params=params, headers=headers or {})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_coded_fields_list_their_codes_named_in_the_language(client, app, catalog, lang):
    schema = client.get(f"{PARCELS}/queryables", params={"lang": lang}).json()["properties"]
    coded = field_codes(catalog.layer("cambridge", "parcels"), app.state.codes)
    assert set(coded) == {"use_code", "landuse_l1", "landuse_l2"}
    for name, codes in coded.items():
        assert schema[name]["enum"] == [c.code for c in codes]
        assert schema[name]["oneOf"] == [{"const": c.code, "title": c.name(lang)} for c in codes]
    assert (
        schema["landuse_l1"]["oneOf"][6]["title"]
        == {"zh": "居住用地", "en": "Residential land"}[lang]
    )
    # a heading with classes under it is not a value a parcel holds; its classes are
    assert all(c.level > 1 or not any(d.parent == c.code for d in coded["use_code"])
               for c in coded["use_code"])  # fmt: skip
    assert "enum" not in schema["address"] and "oneOf" not in schema["address"]


def test_values_are_the_counts_sql_finds(client, engine):
    body = values(client, "use_code", limit=1000, lang="en").json()
    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(
                f"SELECT use_code, count(*) FROM {TABLE} WHERE use_code IS NOT NULL"  # noqa: S608
                " GROUP BY use_code ORDER BY count(*) DESC, use_code"
            )
        ).all()
        count, nulls = conn.execute(
            sa.text(f"SELECT count(use_code), count(*) - count(use_code) FROM {TABLE}")  # noqa: S608
        ).one()
    assert [(v["value"], v["count"]) for v in body["values"]] == [tuple(r) for r in expected]
    assert body["complete"] is True and (body["count"], body["nulls"]) == (count, nulls)
    assert body["type"] == "string" and "min" not in body
    single = next(v for v in body["values"] if v["value"] == "101")
    assert single["title"] == "Single Family"  # a coded field's values are named


def test_the_commonest_values_come_first_and_a_cut_list_says_so(client):
    top = values(client, "use_code", limit=3, lang="zh").json()
    whole = values(client, "use_code", limit=1000, lang="zh").json()
    assert top["values"] == whole["values"][:3] and top["complete"] is False
    assert top["values"][0]["title"] == "独户住宅"


def test_contains_finds_text_and_is_never_sql(client, engine):
    body = values(client, "address", contains="maple", limit=1000).json()
    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(f"SELECT count(DISTINCT address) FROM {TABLE} WHERE address ILIKE '%maple%'")  # noqa: S608
        ).scalar()
    assert len(body["values"]) == expected > 10
    assert all("maple" in v["value"].lower() for v in body["values"])
    # LIKE's own characters are plain text, and quotes change nothing
    for text in ("%", "_", "' OR '1'='1", "\\"):
        found = values(client, "address", contains=text, limit=1000)
        assert found.status_code == 200
        assert all(text.lower() in v["value"].lower() for v in found.json()["values"]), text
    assert values(client, "address", contains="a\x01b").status_code == 400
    assert values(client, "address", contains="x" * 201).status_code == 400


def test_numbers_and_dates_carry_their_range(client, engine, planner_key):
    years = values(client, "year_built").json()
    area = values(client, "gross_area_sqft").json()
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT min(year_built), max(year_built), min(gross_area_sqft),"  # noqa: S608
                f" max(gross_area_sqft), min(sale_date), max(sale_date) FROM {TABLE}"
            )
        ).one()
    assert (years["min"], years["max"]) == (row[0], row[1])
    assert (area["min"], area["max"]) == pytest.approx((row[2], row[3]))
    assert area["unit"] == "ft²"
    # an internal field: unknown to a visitor (and not named in the answer), read with a key
    hidden = values(client, "sale_date")
    assert hidden.status_code == 400
    listed = hidden.json()["detail"].split("queryable:")[1]
    assert "year_built" in listed and "sale_date" not in listed and "land_value" not in listed
    dated = values(client, "sale_date", headers={"X-API-Key": planner_key}).json()
    assert (dated["min"], dated["max"]) == (row[4].isoformat(), row[5].isoformat())


def test_access_limits_and_bad_requests(client, planner_key):
    drainage = "/collections/cambridge__drainage/queryables"
    assert client.get(drainage).status_code == 404  # an internal layer, for a visitor
    schema = client.get(drainage, headers={"X-API-Key": planner_key}).json()["properties"]
    name = next(n for n in schema if n not in ("geometry", "id"))
    shown = client.get(f"{drainage}/{name}/values", headers={"X-API-Key": planner_key})
    assert shown.status_code == 200 and shown.json()["count"] > 0
    assert client.get(f"{drainage}/{name}/values").status_code == 404
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}):
        assert values(client, "use_code", **params).status_code == 400, params
    unknown = values(client, "nope")
    assert unknown.status_code == 400 and "use_code" in unknown.json()["detail"]
    assert client.get("/collections/nowhere__x/queryables/a/values").status_code == 404


def test_values_as_of_a_day_before_any_load(client):
    body = values(client, "use_code", **{"as-of": "2020-01-01T00:00:00Z"}).json()
    assert body["values"] == [] and body["count"] == 0 and body["complete"] is True
    assert values(client, "use_code", **{"as-of": "not a time"}).status_code == 400


def test_values_of_a_query_s_matches(client, engine, planner_key):
    body = values(client, "landuse_l2", filter='"stories" >= 4', limit=1000).json()
    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(
                f"SELECT landuse_l2, count(*) FROM {TABLE} WHERE stories >= 4"  # noqa: S608
                " AND landuse_l2 IS NOT NULL GROUP BY landuse_l2 ORDER BY count(*) DESC, landuse_l2"
            )
        ).all()
        matched = conn.execute(sa.text(f"SELECT count(*) FROM {TABLE} WHERE stories >= 4")).scalar()  # noqa: S608
    assert [(v["value"], v["count"]) for v in body["values"]] == [tuple(r) for r in expected]
    assert body["count"] + body["nulls"] == matched
    boxed = values(client, "landuse_l2", bbox="-71.11,42.37,-71.10,42.375").json()
    assert 0 < boxed["count"] + boxed["nulls"] < 13116
    # the filter goes through the caller's access, as on items
    hidden = values(client, "landuse_l2", filter="\"sale_date\" >= DATE('2010-01-01')")
    assert hidden.status_code == 400
    shown = values(
        client,
        "landuse_l2",
        headers={"X-API-Key": planner_key},
        filter="\"sale_date\" >= DATE('2010-01-01')",
    )
    assert shown.status_code == 200 and shown.json()["count"] > 0
    assert values(client, "landuse_l2", filter="stories >>> 4").status_code == 400
    assert values(client, "landuse_l2", bbox="1,2,3").status_code == 400


def test_numbers_are_summed_over_the_matches(client, engine):
    body = values(client, "gross_area_sqft", filter='"stories" >= 4', limit=1).json()
    with engine.connect() as conn:
        total, mean, count = conn.execute(
            sa.text(
                "SELECT sum(gross_area_sqft), avg(gross_area_sqft), count(gross_area_sqft)"  # noqa: S608
                f" FROM {TABLE} WHERE stories >= 4"
            )
        ).one()
    assert body["sum"] == pytest.approx(float(total)) and body["count"] == count
    assert body["mean"] == pytest.approx(float(mean))
    assert isinstance(values(client, "year_built").json()["sum"], int)
    assert "sum" not in values(client, "address").json()
