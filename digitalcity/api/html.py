"""Plain HTML views of API resources for people (every value escaped)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

_STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2733}
header{background:#17324d;color:#fff;padding:.7rem 1.2rem}header a{color:#fff;text-decoration:none}
main{padding:1rem 1.2rem;max-width:1200px}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d5dde5;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f7}a{color:#0b5cad}.muted{color:#66727f}nav a{margin-right:1rem}
code{background:#f3f5f7;padding:0 .2rem}
"""


def page(title: str, body: str, lang: str = "en") -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · digitalcity</title><style>{_STYLE}</style></head><body>"
        '<header><a href="/">digitalcity 数字城市</a></header>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html)


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'


def cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False)[:300])}</code>"
    return escape(str(value))


def table(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> str:
    rows = list(rows)
    if not rows:
        return '<p class="muted">No features / 无要素</p>'
    columns = columns or list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{r.get(c) if c == '_link' else cell(r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definition_list(items: Mapping[str, Any]) -> str:
    return table([{"property": k, "value": v} for k, v in items.items()], ["property", "value"])


def links_nav(links: list[dict[str, Any]]) -> str:
    shown = [lk for lk in links if lk.get("type") in (None, "text/html") or lk["rel"] == "next"]
    return (
        "<nav>" + "".join(link(lk["href"], lk.get("title") or lk["rel"]) for lk in shown) + "</nav>"
    )
