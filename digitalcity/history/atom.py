"""A city's recent changes as an Atom feed (RFC 4287), in Chinese or English plain words, for
feed readers: each entry one change set, linking to the map at what it changed."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from digitalcity.catalog.model import Titles

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
SHOWN = 5  # features an entry's text describes; the rest are counted

_WORDS = {
    "feed": Titles(zh="{city}：最近变更", en="{city}: recent changes"),
    "added": Titles(zh="新增 {n} 处", en="{n} added"),
    "modified": Titles(zh="修改 {n} 处", en="{n} changed"),
    "deleted": Titles(zh="删除 {n} 处", en="{n} removed"),
    "added_one": Titles(zh="新增", en="added"),
    "modified_one": Titles(zh="修改", en="changed"),
    "deleted_one": Titles(zh="删除", en="removed"),
    "load": Titles(zh="数据更新", en="new data release"),
    "revert": Titles(zh="撤销了一次修改", en="a change undone"),
    "split": Titles(zh="要素分割", en="a feature split"),
    "merge": Titles(zh="要素合并", en="features merged"),
    "more": Titles(zh="另有 {n} 处", en="and {n} more"),
    "feature": Titles(zh="要素 {id}", en="feature {id}"),
    "shape": Titles(zh="形状", en="shape"),
    "empty": Titles(zh="（空）", en="(empty)"),
    "reason": Titles(zh="原因：{reason}", en="Reason: {reason}"),
    "sep": Titles(zh="；", en="; "),
    "colon": Titles(zh="：", en=": "),
    "aside": Titles(zh="{text}（{note}）", en="{text} ({note})"),
}


def word(key: str, lang: str, **values: Any) -> str:
    return _WORDS[key].get(lang).format(**values)


def summary(entry: dict[str, Any], lang: str) -> str:
    """One line for a change set: the layer and its counts, e.g. "Zoning districts: 1 changed"."""
    counts = [word(k, lang, n=entry[k]) for k in ("added", "modified", "deleted") if entry[k]]
    kind = [word(entry["kind"], lang)] if entry["kind"] in ("load", "revert") else []
    if entry.get("reshape"):
        kind.append(word(entry["reshape"], lang))
    return entry["layer_title"] + word("colon", lang) + word("sep", lang).join(kind + counts)


def _value(change: dict[str, Any], side: str, lang: str) -> str:
    named = change.get(f"{side}_name")
    value = change[side]
    if value is None:
        return word("empty", lang)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3 storeys, not 3.0
    text = f"{value} {named}" if named else str(value)
    return f"{text} {change['unit']}" if change.get("unit") and not named else text


def feature_line(feature: dict[str, Any], lang: str) -> str:
    """A feature's change in words: "12 Main St: Land use: 101 Single Family → 104 Two Family"."""
    name = feature["name"] or word("feature", lang, id=feature["id"])
    parts = [
        f"{c['title']}{word('colon', lang)}{_value(c, 'before', lang)} → {_value(c, 'after', lang)}"
        for c in feature["fields"]
        if feature["change"] == "modified"
    ]
    if feature["geometry_changed"]:
        parts.append(word("shape", lang))
    head = word("aside", lang, text=name, note=word(feature["change"] + "_one", lang))
    return head + (word("colon", lang) + word("sep", lang).join(parts) if parts else "")


def _centre_link(base: str, page: str, city: str, entry: dict[str, Any], lang: str) -> str:
    """The map page with the change set opened (``chg``), at its box (centre and a zoom that
    shows it)."""
    link = f"{base}/{page}#c={quote(city)}&lang={lang}&chg={entry['id']}"  # the page opens it
    box = entry.get("bbox")
    if not box:
        return link
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    span = max(box[2] - box[0], box[3] - box[1], 1e-4)
    zoom = max(10, min(18, int(math.log2(360 / span))))
    return f"{link}&z={zoom}&ll={lon:.5f},{lat:.5f}"


def atom_feed(
    page: dict[str, Any], *, city_title: str, base: str, self_url: str, lang: str, public: bool
) -> bytes:
    """The Atom document of a feed page (``history.feed.city_changes``); entries link to the
    public map (``public``) or the planner map."""
    ET.register_namespace("", ATOM)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "zh-CN" if lang == "zh" else "en"})
    add(root, "id", f"{base}/cities/{page['city']}/changes.atom?lang={lang}")
    add(root, "title", word("feed", lang, city=city_title))
    entries = page["changesets"]
    add(root, "updated", entries[0]["at"] if entries else page["until"])
    add(root, "link", rel="self", href=self_url, type=MEDIA_TYPE)
    add(root, "author").append(_named("digitalcity"))
    map_page = "public" if public else "map"
    for entry in entries:
        item = add(root, "entry")
        add(item, "id", f"{base}/cities/{page['city']}/changes#{entry['id']}")
        add(item, "title", summary(entry, lang))
        add(item, "updated", entry["at"])
        add(item, "link", rel="alternate", type="text/html",
            href=_centre_link(base, map_page, page["city"], entry, lang))  # fmt: skip
        lines = [feature_line(f, lang) for f in entry["features"][:SHOWN]]
        more = entry["more"] + max(0, len(entry["features"]) - SHOWN)
        if more:
            lines.append(word("more", lang, n=more))
        if entry.get("reason"):
            lines.append(word("reason", lang, reason=entry["reason"]))
        add(item, "content", "\n".join(lines), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _named(name: str) -> ET.Element:
    element = ET.Element(f"{{{ATOM}}}name")
    element.text = name
    return element
