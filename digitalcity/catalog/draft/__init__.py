"""Draft a city's definitions from a folder of source files (``digitalcity init-city``).

Reads each vector file's (and File Geodatabase folder's) header and values with pyogrio, as the
loader will read them (the text encoding and CRS a file does not declare are guessed, and the
guess written down), and writes ``city.toml``, one layer TOML per file or per layer with
geometry of a GeoPackage or geodatabase, and a code-table stub CSV per candidate code column.
Rasters and files that cannot be drafted are skipped with a note in ``city.toml``. The user
then edits titles, kinds and roles.
"""

from digitalcity.catalog.draft.drafts import CityDraft, LayerDraft
from digitalcity.catalog.draft.folder import read_folder
from digitalcity.catalog.draft.writing import suggest_local_crs, write_draft

__all__ = ["CityDraft", "LayerDraft", "read_folder", "suggest_local_crs", "write_draft"]
