"""Errors as pages for people: a request for HTML (``f=html`` or a browser's ``Accept``) that
fails gets a page in its language, with the problem's own words under *Technical details*;
every other caller keeps the problem JSON."""

from __future__ import annotations

import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("path", "params", "headers", "status", "words"),
    [
        ("/collections/nowhere", {"f": "html", "lang": "zh"}, {}, 404, ("未找到", "返回首页")),
        ("/collections/nowhere", {}, {**BROWSER, "Accept-Language": "en-GB"}, 404,
         ("Not found", "Back to the landing page")),
        ("/collections/cambridge__parcels/items", {"f": "html", "limit": "x", "lang": "zh"}, {},
         400, ("请求有误", "技术信息")),
        ("/collections/cambridge__parcels/items/99999999", {"lang": "en"}, BROWSER, 404,
         ("Not found", "Technical details")),
    ],
)  # fmt: skip
def test_a_browser_gets_a_page_in_its_language(client, path, params, headers, status, words):
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert all(w in text for w in words), text[:400]
    assert "<details>" in text and str(status) in text  # the problem itself, folded away
    assert int(response.headers["content-length"]) == len(response.content)


def test_other_callers_keep_the_problem_json(client):
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        response = client.get("/collections/nowhere", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    asked = client.get("/collections/nowhere", params={"f": "json"}, headers=BROWSER)
    assert asked.headers["content-type"] == "application/problem+json"


def test_the_page_names_what_chose_it(client):
    vary = client.get("/collections/nowhere", headers=BROWSER).headers["vary"].lower()
    assert "accept" in vary.split(", ") and "accept-language" in vary
