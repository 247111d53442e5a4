"""English for the Chinese names a drafted definition carries (a layer's file name, a field's
column name), from a small glossary of words of city data (``glossary.csv``): "市政消火栓" is
"Municipal hydrants", "学校名录" "School list". A name with a word the glossary does not hold
gets none (the draft then writes it in pinyin): a half-translated title would mislead."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

_GLOSSARY = Path(__file__).with_name("glossary.csv")
_RUNS = re.compile(r"([\u3400-\u9fff]+)")


@cache
def _words() -> dict[str, str]:
    with _GLOSSARY.open(encoding="utf-8", newline="") as fh:
        return {row["zh"]: row["en"] for row in csv.DictReader(fh)}


def _split(run: str, words: dict[str, str]) -> list[str] | None:
    """``run`` (Chinese characters) as glossary words, longest first from the left; None
    when a part is not in the glossary."""
    longest = max(map(len, words))
    out, start = [], 0
    while start < len(run):
        for size in range(min(longest, len(run) - start), 0, -1):
            if run[start : start + size] in words:
                out.append(words[run[start : start + size]])
                start += size
                break
        else:
            return None
    return out


def english(name: str) -> str | None:
    """``name`` in English when every Chinese word of it is in the glossary (other text kept
    as written), capitalised; None when it holds no Chinese or an unknown word."""
    words = _words()
    parts: list[str] = []
    found = False
    for run in _RUNS.split(name.strip()):
        if not run:
            continue
        if _RUNS.fullmatch(run):
            translated = _split(run, words)
            if translated is None:
                return None
            parts += translated
            found = True
        elif run.strip(" _-"):
            parts.append(run.strip(" _-"))
    if not found:
        return None
    text = " ".join(parts)
    return text[:1].upper() + text[1:]
