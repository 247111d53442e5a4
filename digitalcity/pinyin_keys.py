"""Pinyin keys of the Chinese values of search fields, so a search typed in Latin letters finds
them: full pinyin (思明区: ``simingqu``) or initials (``smq``), as Chinese map search boxes do.

Keys are worked out by pypinyin, which reads a value as words (厦门 ``xiamen``, 朝阳
``chaoyang``; read one character at a time they would be ``shamen``, ``zhaoyang``), then with
a character's other readings where it stands outside a known word (``keys``). They are kept per
distinct value in ``digitalcity.pinyin_keys`` whichever layer or version holds it, so an as-of
search finds past values too; ``digitalcity.pinyin_fields`` names the search fields holding
Chinese values, so a Latin search of a city without any costs one small read. A load keys its
layer's new values (``remember_layer``), an edit its features' (``remember_edit``), and a
PMTiles export carries its city's keys for the static site (``city_keys``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table
from digitalcity.romanise import place_syllables

log = logging.getLogger(__name__)

# CJK unified ideographs and extension A (as PostgreSQL's regular expressions read them too)
HAN = "[\u3400-\u4dbf\u4e00-\u9fff]"
_HAN = re.compile(HAN)
_HAN_ONLY = re.compile(f"^{HAN}+$")
_NOT_KEY = re.compile(r"[^a-z0-9]")
# what a query spelled in pinyin may hold: letters, then spaces, apostrophes (xi'an), hyphens
_SPELLING = re.compile(r"^[a-z][a-z' \-]*$")
MIN_SPELLING = 2  # "s" alone would match every name starting with s
MAX_SPELLINGS = 8  # readings kept per value (a name of many polyphonic characters has more)


def keys(value: str) -> tuple[str, str]:
    """(spellings, initials) of ``value``: space-separated, lower-case letters and digits, text
    that is not Chinese kept as written. The first spelling reads the value as words, as a place
    name (``romanise.place_syllables``: 长宁区 ``changningqu``); then one character read
    otherwise at a time, where a character has other readings outside a known word
    (``zhangningqu``...)."""
    from pypinyin import Style, pinyin  # imported when first read (see romanise.place_syllables)

    readings = pinyin(value, heteronym=True, style=Style.NORMAL)
    if len(readings) == len(value) and _HAN_ONLY.match(value):  # a place name's reading first
        for reading, place in zip(readings, place_syllables(value), strict=True):
            if reading[0] != place:
                reading[:] = [place, *(r for r in reading if r != place)]
    first = [r[0] for r in readings]
    variants = [first] + [
        first[:i] + [other] + first[i + 1 :] for i, r in enumerate(readings) for other in r[1:]
    ]
    spelled: dict[str, None] = {}
    initials: dict[str, None] = {}
    for syllables in variants[:MAX_SPELLINGS]:
        spelled[_NOT_KEY.sub("", "".join(syllables).lower())] = None
        initials[_NOT_KEY.sub("", "".join(map(_initial, syllables)).lower())] = None
    return " ".join(k for k in spelled if k), " ".join(k for k in initials if k)


def _initial(syllable: str) -> str:
    """A pinyin syllable's first letter; other text (digits, a Latin word) as written."""
    return (
        syllable[:1]
        if syllable.isalpha() and syllable.isascii() and len(syllable) <= 6
        else syllable
    )


def spelling(q: str) -> str | None:
    """``q`` as a pinyin key (``"Si Ming"`` -> ``"siming"``), or None when it cannot be one."""
    text = q.strip().lower()
    if not _SPELLING.match(text):
        return None
    key = _NOT_KEY.sub("", text)
    return key if len(key) >= MIN_SPELLING else None


def remember_values(conn: Connection, values: Iterable[object]) -> int:
    """Key the Chinese ``values`` not keyed yet (in ``conn``'s transaction); how many were."""
    chinese = sorted({v for v in values if isinstance(v, str) and _HAN.search(v)})
    if not chinese:
        return 0
    known = set(
        conn.execute(
            sa.text("SELECT value FROM digitalcity.pinyin_keys WHERE value = ANY(:values)"),
            {"values": chinese},
        ).scalars()
    )
    rows = []
    for value in (v for v in chinese if v not in known):
        spelled, initials = keys(value)
        rows.append({"value": value, "spelled": spelled, "initials": initials})
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO digitalcity.pinyin_keys (value, spelled, initials) "
                "VALUES (:value, :spelled, :initials) ON CONFLICT (value) DO NOTHING"
            ),
            rows,
        )
    return len(rows)


def remember_fields(conn: Connection, layer: LayerDef, fields: Iterable[str]) -> None:
    """Record that ``fields`` of ``layer`` hold Chinese values (kept once recorded)."""
    for field in fields:
        conn.execute(
            sa.text(
                "INSERT INTO digitalcity.pinyin_fields (city, layer, field) "
                "VALUES (:city, :layer, :field) ON CONFLICT DO NOTHING"
            ),
            {"city": layer.city, "layer": layer.id, "field": field},
        )


def remember_edit(conn: Connection, layer: LayerDef, values: dict[str, object]) -> None:
    """Key the Chinese values an edit writes into ``layer``'s text search fields (in the edit's
    transaction; nothing is read or written when it writes none)."""
    chinese = {
        name: value
        for name in text_search_fields(layer)
        if isinstance(value := values.get(name), str) and _HAN.search(value)
    }
    if chinese:
        remember_values(conn, chinese.values())
        remember_fields(conn, layer, chinese)


def text_search_fields(layer: LayerDef) -> list[str]:
    """The layer's search fields that hold text."""
    return [n for n in layer.search_fields if layer.field(n).type == "string"]


def remember_layer(engine: Engine, layer: LayerDef, city: CityDef, version: int) -> int:
    """Key the Chinese values of ``layer``'s text search fields, at its current ``version``,
    not keyed yet; how many were. Each version is read once (``pinyin_scans``): after its load,
    or, for a version loaded before keys existed, at the next ``digitalcity load`` that finds
    it unchanged. A failure is logged: search by pinyin then misses those values."""
    fields = text_search_fields(layer)
    if not fields:
        return 0
    scanned = {"city": layer.city, "layer": layer.id, "version": version}
    table = layer_table(layer, city)
    quote = postgresql.dialect().identifier_preparer.quote
    relation = f"{quote(str(table.schema))}.{quote(table.name)}"
    added = 0
    try:
        with engine.begin() as conn:
            first = conn.execute(
                sa.text(
                    "INSERT INTO digitalcity.pinyin_scans (city, layer, version) "
                    "VALUES (:city, :layer, :version) ON CONFLICT DO NOTHING RETURNING 1"
                ),
                scanned,
            ).first()
            if first is None:
                return 0
            holding = []
            for name in fields:
                value = f"CAST(t.{quote(name)} AS text)"
                missing = conn.execute(
                    sa.text(
                        f"SELECT DISTINCT {value} FROM {relation} AS t WHERE {value} ~ :han "  # noqa: S608 - catalog names
                        "AND NOT EXISTS (SELECT 1 FROM digitalcity.pinyin_keys AS k "
                        f"WHERE k.value = {value})"
                    ),
                    {"han": HAN},
                ).scalars()
                values = list(missing)
                present = (
                    values
                    or conn.execute(
                        sa.text(f"SELECT 1 FROM {relation} AS t WHERE {value} ~ :han LIMIT 1"),  # noqa: S608 - catalog names
                        {"han": HAN},
                    ).first()
                )
                if present:
                    holding.append(name)
                added += remember_values(conn, values)
            remember_fields(conn, layer, holding)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("no pinyin keys for %s: %s", layer.qualified_id, exc)
    return added


def spelled_fields(conn: Connection, city: str) -> set[tuple[str, str]]:
    """(layer, field) of ``city`` whose values are keyed."""
    rows = conn.execute(
        sa.text("SELECT layer, field FROM digitalcity.pinyin_fields WHERE city = :city"),
        {"city": city},
    )
    return {(str(layer), str(field)) for layer, field in rows}


ARCHIVE_KEYS_MAX = 50_000  # values a static site carries keys for (about 40 bytes each)


def city_keys(engine: Engine, layers: Iterable[LayerDef], city: CityDef) -> dict[str, str]:
    """{value: "spellings|initials"} for the keyed values of ``layers``' text search fields (at
    most ``ARCHIVE_KEYS_MAX``): what a static site, which has no API, searches by pinyin."""
    quote = postgresql.dialect().identifier_preparer.quote
    out: dict[str, str] = {}
    with engine.connect() as conn:
        keyed = spelled_fields(conn, city.id)
        for layer in layers:
            table = layer_table(layer, city)
            relation = f"{quote(str(table.schema))}.{quote(table.name)}"
            for name in (n for n in text_search_fields(layer) if (layer.id, n) in keyed):
                rows = conn.execute(
                    sa.text(
                        "SELECT k.value, k.spelled, k.initials FROM digitalcity.pinyin_keys AS k "  # noqa: S608 - catalog names
                        f"WHERE k.value IN (SELECT CAST(t.{quote(name)} AS text) FROM {relation} AS t) "
                        "LIMIT :most"
                    ),
                    {"most": ARCHIVE_KEYS_MAX - len(out)},
                )
                out.update({value: f"{spelled}|{initials}" for value, spelled, initials in rows})
                if len(out) >= ARCHIVE_KEYS_MAX:
                    return out
    return out
