"""Problems as pages for people: a request that asks for HTML (``f=html``, or a browser's
``Accept`` without ``f``) and meets an error gets a page in its language saying, in plain
words, what happened and where to go, with the problem's own title and detail (English, for
whoever reports it) folded under *Technical details*. Every other caller keeps the RFC 7807
problem JSON."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitalcity.api import html
from digitalcity.api.negotiation import VARY_STATE, lang_of
from digitalcity.api.problems import PROBLEM

# (title, what to do) by status, zh and en; statuses not here read as their class's
SAID: dict[int, dict[str, tuple[str, str]]] = {
    400: {
        "zh": ("请求有误", "链接中的某个参数不对。请检查链接，或从首页重新进入。"),
        "en": ("The request is not valid", "A parameter of the link is wrong. Check the link, "
               "or start again from the landing page."),
    },
    401: {
        "zh": ("需要有效的 API 密钥", "所用的密钥无效或已被撤销。"),
        "en": ("A valid API key is needed", "The key used is invalid or has been revoked."),
    },
    403: {
        "zh": ("无权进行此操作", "您的角色不能进行此操作。"),
        "en": ("Not allowed", "Your role may not do this."),
    },
    404: {
        "zh": ("未找到", "没有这个页面、图层或要素，或者您无权查看。"),
        "en": ("Not found", "There is no such page, layer or feature, or you may not see it."),
    },
    500: {
        "zh": ("服务暂时不可用", "请稍后再试。"),
        "en": ("The service is unavailable for now", "Please try again shortly."),
    },
}  # fmt: skip
DETAILS = {"zh": "技术信息", "en": "Technical details"}
HOME = {"zh": "返回首页", "en": "Back to the landing page"}


def wants_html(scope: Scope) -> bool:
    """Whether the request asks for an HTML answer: ``f=html``, or no ``f`` and an ``Accept``
    whose first type is ``text/html`` (what browsers send)."""
    explicit = QueryParams(scope.get("query_string", b"")).get("f")
    if explicit is not None:
        return explicit.lower() in ("html", "text/html")
    accept = Headers(scope=scope).get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/html"


def page_of(status: int, problem: dict[str, Any], lang: str) -> bytes:
    """The page saying what the problem ``problem`` (status ``status``) means, in ``lang``."""
    said = SAID.get(status) or SAID[500 if status >= 500 else 400]
    title, advice = said[lang]
    technical = f"{status} {problem.get('title', '')}: {problem.get('detail', '')}"
    faults = problem.get("faults")
    listed = (
        "<ul>" + "".join(f"<li>{escape(str(f))}</li>" for f in faults) + "</ul>"
        if isinstance(faults, list) and faults
        else ""
    )
    body = (
        f"<p>{escape(advice)}</p>{listed}"
        f"<p>{html.link(html.html_href('/', lang), HOME[lang])}</p>"
        f"<details><summary>{escape(DETAILS[lang])}</summary><code>{escape(technical)}</code>"
        "</details>"
    )
    return bytes(html.page(title, body, lang).body)


class ProblemPages:
    """Turns problem JSON into a page (``page_of``) for requests that ask for HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def as_page(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                # whether the caller asked for HTML is read only for problems, not on the way
                # of every answer
                is_problem = Headers(raw=message["headers"]).get("content-type", "") == PROBLEM
                if not is_problem or not wants_html(scope):
                    await send(message)
                    return
                start = message
                return
            if start is None:  # not a problem: passed through as it comes
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _send_page(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, as_page)


async def _send_page(scope: Scope, start: Message, body: bytes, send: Send) -> None:
    try:
        problem = json.loads(body)
    except ValueError:
        problem = {}
    query, headers = QueryParams(scope.get("query_string", b"")), Headers(scope=scope)
    lang = lang_of(query, headers)
    page = page_of(int(start["status"]), problem if isinstance(problem, dict) else {}, lang)
    out = MutableHeaders(raw=list(start["headers"]))
    out["content-type"] = "text/html; charset=utf-8"
    out["content-length"] = str(len(page))
    # the answer now depends on Accept (and the language): the caller middleware says so
    chosen = scope.setdefault("state", {}).setdefault(VARY_STATE, set())
    if "f" not in query:
        chosen.add("Accept")
    if "lang" not in query:
        chosen.add("Accept-Language")
    await send({**start, "headers": out.raw})
    await send({"type": "http.response.body", "body": page, "more_body": False})
