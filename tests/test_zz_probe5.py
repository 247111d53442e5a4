"""scratch (not committed): CSV load speed vs ogr2ogr"""
import subprocess, time
import numpy as np, pandas as pd
from digitalcity.ingest import load_layer
from tests.test_ingest_formats import NAME, POP, layer


def test_probe(catalog, engine, settings, tmp_path):
    n = 500_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"name": [f"设施{i}" for i in range(n)], "population": rng.integers(0, 10000, n),
                          "kind": rng.choice(["学校", "医院", "消防站"], n), "x": 118.0 + rng.random(n) * 0.3, "y": 24.4 + rng.random(n) * 0.3})
    path = tmp_path / "pts.csv"
    frame.to_csv(path, index=False)
    d = layer("csvspeed", "Point", {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}, [NAME, POP])
    s2 = settings.model_copy(update={"tile_copies": False})
    for _ in range(2):
        t = time.perf_counter(); r = load_layer(d, catalog.city("xiamen"), engine, s2, force=True); ours = time.perf_counter() - t
        url = engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
        from sqlalchemy.engine import make_url
        u = make_url(url)
        conn = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username} password={u.password}"
        t = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", conn, str(path), "-nln", "ogr_csvspeed", "-overwrite", "-oo", "X_POSSIBLE_NAMES=x", "-oo", "Y_POSSIBLE_NAMES=y", "-a_srs", "EPSG:4326", "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES", "-gt", "65536"], check=True, capture_output=True)
        ogr = time.perf_counter() - t
        print(f"ours {ours:.2f}s ogr2ogr {ogr:.2f}s ratio {ours/ogr:.2f}", r.rows_loaded)
