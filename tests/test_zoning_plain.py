"""Plain-language zoning: every district on the map has a zh/en description from the data under
``layers/``; a limit the plan does not set ("no limit") is told apart from an unknown one; the
sources are flagged; a bad descriptions file is a catalog error naming its row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from digitalcity.catalog.codes import code_tables
from digitalcity.catalog.descriptions import code_descriptions
from digitalcity.errors import CatalogError

MAPLE = (-71.1039, 42.37295)  # 38 MAPLE AVE, in C-1 (amended 10 Feb 2025)


def _card(client, lang: str) -> dict:  # noqa: ANN001
    response = client.get(
        "/cities/cambridge/identify", params={"lon": MAPLE[0], "lat": MAPLE[1], "lang": lang}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_mapped_district_has_a_description_in_both_languages(settings, engine, loaded):
    tables = code_tables(settings.layers_dir)
    described = code_descriptions(settings.layers_dir, tables)["cambridge_zoning"]
    with engine.connect() as conn:
        codes = conn.execute(
            sa.text("SELECT DISTINCT zone_code FROM cambridge.zoning_districts")
        ).scalars()
        codes = sorted(c for c in codes if c)
    assert len(codes) > 20
    for code in codes:
        for lang in ("zh", "en"):
            plain = described.describe(code, lang)
            assert plain is not None and plain["summary"], (code, lang)
            assert plain["sources"] in {"official", "secondary", "mixed", "none"}
        assert described.describe(code, "zh")["summary"] != described.describe(code, "en")["summary"]


def test_card_tells_no_limit_from_unknown(client, loaded):
    card = _card(client, "en")
    zoning = card["zoning"]
    assert zoning["zone_code"] == "C-1"
    status = {c["control"]: c["status"] for c in zoning["controls"]}
    # the 2025 amendment removed the residential FAR limit: no limit, not unknown
    assert status["max_far_residential"] == "no_limit"
    assert status["max_far"] == "unknown"  # no source gives it for other uses
    assert status["max_height"] == "value"
    assert zoning["plain"]["summary"].startswith("Since February 2025")
    assert "10 February 2025" in zoning["plain"]["no_limit_note"]
    assert zoning["plain"]["sources"] == "mixed"
    zh = _card(client, "zh")["zoning"]["plain"]
    assert zh["summary"].startswith("自2025年2月起") and "无上限" in zh["no_limit_note"]


def test_card_of_a_district_without_sources_says_so(client, loaded, engine):
    with engine.connect() as conn:
        fid = conn.execute(
            sa.text(
                "SELECT p.fid FROM cambridge.parcels p JOIN cambridge.zoning_districts z "
                "ON ST_Within(p.geom, z.geom) WHERE z.zone_code = 'MXD' "
                "ORDER BY ST_Area(p.geom) DESC LIMIT 1"
            )
        ).scalar_one()
    card = client.get(f"/cities/cambridge/parcels/{fid}", params={"lang": "en"}).json()
    plain = card["zoning"]["plain"]
    assert card["zoning"]["zone_code"] == "MXD"
    assert plain["sources"] == "none" and "Kendall Square" in plain["summary"]
    assert {c["status"] for c in card["zoning"]["controls"]} == {"unknown"}


@pytest.mark.parametrize(
    ("row", "fault"),
    [
        ("XX-9,文,text,,,,secondary", "not a code of"),
        ("O-1,文,text,max_bogus,为何,why,secondary", "not controls"),
        ("O-1,文,text,max_far,,,secondary", "say why"),
        ("O-1,文,text,,,,rumour", "sources must be one of"),
        ("O-1,,text,,,,secondary", "summary_zh and summary_en"),
    ],
)
def test_bad_descriptions_are_catalog_errors(tmp_path: Path, settings, row: str, fault: str):
    layers = tmp_path / "layers"
    shutil.copytree(settings.layers_dir, layers)
    path = layers / "cambridge" / "cambridge_zoning_descriptions.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(row + "\n")
    with pytest.raises(CatalogError, match=fault) as caught:
        code_descriptions(layers, code_tables(layers))
    assert "cambridge_zoning_descriptions.csv: row" in str(caught.value)
