"""The command line, in-process, against the test cluster: one-line errors, idempotent db."""

from __future__ import annotations

import os
import pwd

import pytest
from typer.testing import CliRunner

from digitalcity.cli import app

runner = CliRunner()


@pytest.fixture
def env(settings, monkeypatch, loaded):
    monkeypatch.setenv("DIGITALCITY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIGITALCITY_DB_PORT", str(settings.db_port))
    monkeypatch.setenv("DIGITALCITY_PROGRESS", "false")
    monkeypatch.setenv("DIGITALCITY_SOURCE_DATA_DIR", str(settings.source_data_dir))
    if settings.database_url:
        monkeypatch.setenv("DIGITALCITY_DATABASE_URL", settings.database_url)
    return monkeypatch


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_check_layers_passes(env):
    result = runner.invoke(app, ["check-layers"])
    assert result.exit_code == 0, result.output
    assert "all layer definitions are valid" in result.output


def test_check_layers_reports_an_invalid_definition(env, tmp_path):
    city = tmp_path / "bad"
    city.mkdir()
    (city / "city.toml").write_text(
        'title = { zh = "坏", en = "Bad" }\nstorage_crs = "EPSG:4326"\n'
    )
    env.setenv("DIGITALCITY_LAYERS_DIR", str(tmp_path))
    assert "local_crs" in one_line_error(runner.invoke(app, ["check-layers"]))


def test_db_start_is_idempotent_and_status_reports(env, settings):
    if settings.database_url:
        assert "using that database" in runner.invoke(app, ["db", "start"]).output
        return
    for _ in range(2):
        result = runner.invoke(app, ["db", "start"])
        assert result.exit_code == 0 and "running" in result.output
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0 and str(settings.db_port) in status.output
    url = runner.invoke(app, ["db", "url"])
    assert url.output.startswith("postgresql+psycopg://") and str(settings.db_port) in url.output


def test_server_does_not_run_as_root(settings):
    pid = int((settings.cluster_dir / "postmaster.pid").read_text().split()[0])
    owner = os.stat(f"/proc/{pid}").st_uid
    assert (
        owner != 0 and pwd.getpwuid(owner).pw_name == settings.db_service_user or os.geteuid() != 0
    )


def test_missing_binaries_name_the_install_command(env, tmp_path):
    env.setenv("DIGITALCITY_DATA_DIR", str(tmp_path / "fresh"))
    env.setenv("DIGITALCITY_PG_BIN_DIR", str(tmp_path / "no-postgres-here"))
    message = one_line_error(runner.invoke(app, ["db", "start"]))
    assert "initdb" in message and "apt-get install" in message


def test_load_unknown_city_and_layer(env):
    assert "unknown city 'atlantis'" in one_line_error(runner.invoke(app, ["load", "atlantis"]))
    error = one_line_error(runner.invoke(app, ["load", "cambridge", "nope"]))
    assert "unknown layer 'nope'" in error


def test_load_unchanged_layer_says_so(env):
    result = runner.invoke(app, ["load", "cambridge", "neighbourhoods"])
    assert result.exit_code == 0, result.output
    assert "cambridge.neighbourhoods: unchanged" in result.output


def test_keys_create_list_revoke(env, client):
    created = runner.invoke(app, ["keys", "create", "--role", "planner", "--name", "cli test"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("dc_")
    poles = "/collections/cambridge__utility_poles"
    assert client.get(poles, headers={"X-API-Key": key}).status_code == 200
    listing = runner.invoke(app, ["keys", "list"]).output
    assert "cli test" in listing and key not in listing
    key_id = next(line.split("\t")[0] for line in listing.splitlines() if "cli test" in line)
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert client.get(poles, headers={"X-API-Key": key}).status_code == 401
    assert "role must be one of" in one_line_error(
        runner.invoke(app, ["keys", "create", "--role", "god"])
    )


def test_revert_cli_reverts_an_edit_and_refuses_unknown_change_sets(env, engine, catalog):
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    fid = int(city.read("hydrants", limit=1).index[0])
    before = city.read("hydrants").loc[fid, "colour"]
    etag = city.etag("hydrants", fid)
    city.update("hydrants", fid, {"properties": {"colour": "cli-test"}}, etag=etag)
    changeset = city.history("hydrants", fid)[-1]["created_by"]["changeset"]
    done = runner.invoke(app, ["revert", "cambridge", "hydrants", str(changeset)])
    assert done.exit_code == 0, done.output
    assert city.read("hydrants").loc[fid, "colour"] == before
    assert "no change set" in one_line_error(
        runner.invoke(app, ["revert", "cambridge", "hydrants", "999999"])
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DIGITALCITY_DB_POOL_SIZE", "0", "greater than or equal to 1"),
        ("DIGITALCITY_ITEMS_MAX_LIMIT", "many", "valid integer"),
        ("DIGITALCITY_TILE_CACHE", "maybe", "valid boolean"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(env, variable, value, says):
    env.setenv(variable, value)
    for command in (["check-layers"], ["db", "url"]):
        line = one_line_error(runner.invoke(app, command))
        assert variable in line and says in line


def test_the_api_factory_names_a_bad_setting(monkeypatch):
    from digitalcity.api.main import app_factory
    from digitalcity.errors import ConfigError

    monkeypatch.setenv("DIGITALCITY_DB_POOL_OVERFLOW", "-1")
    with pytest.raises(ConfigError, match="DIGITALCITY_DB_POOL_OVERFLOW"):
        app_factory()


def test_changes_cli_lists_a_city_s_changes_in_words(env, engine, catalog):
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    fid = int(city.read("hydrants", limit=1).index[0])
    before = city.read("hydrants").loc[fid, "colour"]
    etag = city.update(
        "hydrants", fid, {"properties": {"colour": "cli-violet"}},
        etag=city.etag("hydrants", fid), reason="repainted 重新刷漆",
    )  # fmt: skip
    try:
        done = runner.invoke(app, ["changes", "cambridge", "--layer", "hydrants", "--lang", "en"])
        assert done.exit_code == 0, done.output
        head, feature = done.output.splitlines()[:2]
        assert "Fire hydrants: 1 changed" in head and "repainted 重新刷漆" in head
        shown = "(empty)" if before is None else before
        assert "(changed): " in feature and f"{shown} → cli-violet" in feature
        zh = runner.invoke(app, ["changes", "cambridge", "--layer", "hydrants"]).output
        assert "消火栓：修改 1 处" in zh.splitlines()[0]
    finally:
        city.update("hydrants", fid, {"properties": {"colour": before}}, etag=etag)
    assert "error: " in runner.invoke(app, ["changes", "cambridge", "--since", "yesterday"]).output
    assert "error: " in runner.invoke(app, ["changes", "atlantis"]).output


def test_quality_cli_counts_lists_writes_and_fails_on_request(env, engine, catalog, tmp_path):
    import geopandas as gpd

    from digitalcity.analysis import data_quality
    from digitalcity.city import City

    expected = data_quality(
        City(catalog, catalog.city("cambridge"), engine, "land_bureau"), "hydrants"
    ).summary
    out = tmp_path / "faults.geojson"
    done = runner.invoke(app, ["quality", "cambridge", "hydrants", "--out", str(out)])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == f"cambridge.hydrants: 1,960 features, {expected['faults']} faults"
    assert lines[3].split() == ["duplicate", str(expected["by_check"]["duplicate"])]
    written = gpd.read_file(out)
    assert len(written) == expected["faults"] and set(written["check"]) == {"duplicate"}
    failed = runner.invoke(app, ["quality", "cambridge", "hydrants", "--fail"])
    assert failed.exit_code == 3
    zones = runner.invoke(app, ["quality", "cambridge", "zoning_districts", "--check", "gap"])
    assert zones.exit_code == 0 and zones.output.splitlines()[1].split()[:2] == ["gap", "0"]
    assert "does not apply" in one_line_error(
        runner.invoke(app, ["quality", "cambridge", "hydrants", "--check", "gap"])
    )


def test_attach_cli_keeps_a_folder_of_photos_with_the_features_named(
    env, engine, catalog, tmp_path
):
    import io

    import sqlalchemy as sa
    from PIL import Image

    from digitalcity.city import City

    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT fid, hydrant_id FROM cambridge.hydrants WHERE hydrant_id IS NOT NULL "
                "AND hydrant_id IN (SELECT hydrant_id FROM cambridge.hydrants "
                "GROUP BY hydrant_id HAVING count(*) = 1) ORDER BY fid LIMIT 2"
            )
        ).all()
    (first, first_id), (second, second_id) = rows
    photo = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 90, 160)).save(photo, format="JPEG")
    folder = tmp_path / "survey"
    folder.mkdir()
    (folder / f"{first_id}.jpg").write_bytes(photo.getvalue())
    (folder / f"{second_id}_front view.jpg").write_bytes(photo.getvalue())
    (folder / "no-such-hydrant.jpg").write_bytes(photo.getvalue())
    (folder / f"{first_id} notes.txt").write_text("not a photo")
    dry = runner.invoke(
        app, ["attach", "cambridge", "hydrants", str(folder), "--by", "hydrant_id", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[-1] == "2 kept, 1 no feature, 0 several, 1 refused"
    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    before = len(city.attachments("hydrants", first))
    done = runner.invoke(
        app, ["attach", "cambridge", "hydrants", str(folder), "--by", "hydrant_id", "--fail"]
    )
    assert done.exit_code == 3, done.output  # not every file kept
    assert done.output.splitlines()[-1] == "2 kept, 1 no feature, 0 several, 1 refused"
    assert f"{first_id} notes.txt: only JPEG" in done.output
    assert len(city.attachments("hydrants", first)) == before + 1
    [kept] = [a for a in city.attachments("hydrants", second) if a["name"].startswith(second_id)]
    assert (
        kept["type"] == "image/jpeg"
        and city.attachment("hydrants", second, kept["id"]) == photo.getvalue()
    )
    assert "has no field" in one_line_error(
        runner.invoke(app, ["attach", "cambridge", "hydrants", str(folder), "--by", "nope"])
    )
