"""Codes present in a layer's source data but missing from its code table or crosswalk."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from digitalcity.catalog.codes import CodeTable, load_crosswalk
from digitalcity.catalog.delimited_text import holding
from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.prepared import source_file
from digitalcity.catalog.source_encoding import source_encoding, table_encoding
from digitalcity.catalog.tables import read_source_columns
from digitalcity.config import Settings


def _source_codes(layer: LayerDef, root: Path, in_china: bool) -> Counter[str] | None:
    """Distinct values (with counts) of the classification column, read with the encoding
    the loader reads them with; None if unreadable."""
    assert layer.classification is not None
    field = layer.field(layer.classification.field)
    src = layer.source
    if field.join_name:
        join = next(j for j in src.joins if j.name == field.join_name)
        path, read_layer, needed = root / join.path, None, []
        encoding = table_encoding(join.encoding, path, in_china=in_china)
    else:
        path, read_layer = root / src.path, src.layer
        needed = src.location_columns  # the header, below any title
        encoding = None
    try:
        with source_file(path, None if field.join_name else src.member) as read:
            if not field.join_name:
                encoding = source_encoding(src, read, in_china=in_china)
            frame = read_source_columns(
                read, read_layer, encoding, holding(needed), [field.join_column]
            )
    except Exception:  # noqa: BLE001 - unreadable sources are reported by the column check
        return None
    if field.join_column not in frame.columns:
        return None
    values = frame[field.join_column].dropna().astype(str).str.strip()
    return Counter(v for v in values if v)


def _named(missing: Counter[str]) -> str:
    shown = ", ".join(f"{code!r} ({n})" for code, n in missing.most_common(20))
    more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    return f"{shown}{more}"


def missing_codes(
    layer: LayerDef,
    root: Path,
    settings: Settings,
    tables: dict[str, CodeTable],
    *,
    in_china: bool = False,
) -> list[str]:
    """One problem line per table or crosswalk that misses codes found in the data
    (``in_china``: the city's, for the text encoding of a shapefile that declares none)."""
    cls = layer.classification
    if cls is None:
        return []
    codes = _source_codes(layer, root, in_china)
    if not codes:
        return []
    where = layer.qualified_id
    problems: list[str] = []
    if cls.crosswalk and cls.crosswalk.to in tables:
        crosswalk = load_crosswalk(
            settings.layers_dir / cls.crosswalk.file,
            tables[cls.crosswalk.to],
            cls.normaliser,
        )
        unmapped = Counter({c: n for c, n in codes.items() if crosswalk.lookup(c) is None})
        if unmapped:
            problems.append(
                f"{where}: codes not in crosswalk {cls.crosswalk.file}: {_named(unmapped)}"
            )
    elif cls.system in tables:
        normalise = cls.normaliser
        table = tables[cls.system]
        unknown = Counter({c: n for c, n in codes.items() if normalise(c) not in table})
        if unknown:
            problems.append(f"{where}: codes not in code table {cls.system}: {_named(unknown)}")
    return problems
