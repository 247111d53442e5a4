"""The land-bureau notebooks run top to bottom against the test database (nbclient), and the
committed ``.ipynb`` files are what ``notebooks/build_notebooks.py`` writes."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest
from nbclient import NotebookClient

from digitalcity.config import PROJECT_ROOT
from digitalcity.db.engine import database_url

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _build_module():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOK_DIR / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_are_built_by_the_script(tmp_path):
    built = _build_module().build(tmp_path)
    assert [p.name for p in built] == [p.name for p in NOTEBOOKS] and len(built) == 6
    for fresh in built:
        committed = nbformat.read(NOTEBOOK_DIR / fresh.name, as_version=4)
        assert [c.source for c in committed.cells] == [
            c.source for c in nbformat.read(fresh, as_version=4).cells
        ], f"{fresh.name} is stale: run notebooks/build_notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, loaded, settings, monkeypatch):
    # the kernel inherits the environment: it opens the test database through Settings()
    monkeypatch.setenv("DIGITALCITY_DATABASE_URL", database_url(settings))
    monkeypatch.setenv("DIGITALCITY_LAYERS_DIR", str(settings.layers_dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / path.name)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert any("folium" in "".join(o["data"]["text/html"]) for o in html), "no folium map"
    assert images, "no matplotlib chart"
