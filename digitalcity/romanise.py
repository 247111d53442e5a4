"""Chinese place names for English readers: the name in pinyin, its generic term in English.

``romanise("长宁区")`` is ``"Changning District"``: the proper name's syllables written as one
word without tones, capitalised, with an apostrophe before a syllable that starts with a, o or e
(``西安`` → ``Xi'an``), as the national rules for place names in pinyin write them
(GB/T 16159, GB 17733); a trailing administrative generic term (区, 新区, 县, 市, 镇, 乡, 街道…)
in English, which an English map's reader understands where *Qu* says nothing. Text that is
not Chinese is kept as written. Readings come from pypinyin (MIT), which reads a character by
the words it knows around it; ``PLACE_READINGS`` corrects what it misreads in place names (长
is *chang* in 长宁 where pypinyin reads the character's default, *zhang*).

A layer's definition asks for such a field with ``romanise = "<field>"``; the loader and edits
write it from that field (``digitalcity.ingest.loader``, ``digitalcity.editing.service``).
"""

from __future__ import annotations

import re

import pyarrow as pa

# Generic terms at the end of a name, longest first, and how an English map says them.
GENERIC_TERMS = (
    ("自治县", "Autonomous County"),
    ("新区", "New Area"),
    ("街道", "Subdistrict"),
    ("区", "District"),
    ("县", "County"),
    ("市", "City"),
    ("镇", "Town"),
    ("乡", "Township"),
)
# Readings in place names that pypinyin does not give: a character read otherwise by default
# outside a word pypinyin knows (长 is *chang* in 长宁, 长春), and whole names it misreads.
PLACE_READINGS: dict[str, tuple[str, ...]] = {"长": ("chang",), "闵行": ("min", "hang")}
_HAN = re.compile(r"[\u3400-\u9fff]")


def place_syllables(text: str) -> list[str]:
    """Syllables of a run of Chinese characters, one per character, as a place name reads
    them (``PLACE_READINGS`` over pypinyin's reading)."""
    # imported when first read: its phrase dictionary takes 0.35-0.45 s to load, which every
    # API process and command paid at start-up before a Chinese name was ever read
    from pypinyin import Style, lazy_pinyin

    read = lazy_pinyin(text, style=Style.NORMAL)
    if len(read) != len(text):  # a character pypinyin does not read: kept as written
        return read
    alone = [lazy_pinyin(c, style=Style.NORMAL)[0] for c in text]
    out = [
        PLACE_READINGS.get(c, (r,))[0] if r == a else r  # read as in a word it knows: kept
        for c, r, a in zip(text, read, alone, strict=True)
    ]
    for word, spelled in PLACE_READINGS.items():
        start = text.find(word) if len(word) > 1 else -1
        while start >= 0:
            out[start : start + len(word)] = spelled
            start = text.find(word, start + len(word))
    return out


def _word(syllables: list[str]) -> str:
    """Syllables as one capitalised word, an apostrophe before a, o or e inside it."""
    out = ""
    for s in syllables:
        if out and s[:1] in ("a", "o", "e"):
            out += "'"
        out += s
    return out[:1].upper() + out[1:]


def romanise(name: object) -> str | None:
    """``name`` for English readers (see the module); None for no name, the name itself
    when it holds no Chinese."""
    if name is None:
        return None
    text = str(name).strip()
    if not text or not _HAN.search(text):
        return text or None
    generic, cut = "", 0
    for term, english in GENERIC_TERMS:
        if text.endswith(term) and len(text) > len(term):
            generic, cut = english, len(term)
            break
    parts = []
    runs = [r for r in re.split(r"([\u3400-\u9fff]+)", text) if r.strip()]
    for n, run in enumerate(runs):
        if not _HAN.match(run):
            parts.append(run.strip())
            continue
        # read with the generic term, which can decide a reading (朝阳区 chao, 朝阳 zhao)
        syllables = place_syllables(run)
        if n == len(runs) - 1 and cut:
            syllables = syllables[:-cut]
        if syllables:
            parts.append(_word(syllables))
    return " ".join([*parts, generic] if generic else parts)


def romanise_column(values: pa.Array) -> pa.Array:
    """``romanise`` of each value of a text column (each distinct value once)."""
    codes = values.cast(pa.string()).dictionary_encode()
    names = pa.array([romanise(v) for v in codes.dictionary.to_pylist()], type=pa.string())
    return names.take(codes.indices)
