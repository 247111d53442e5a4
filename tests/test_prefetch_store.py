"""The store of pages rendered ahead (``digitalcity.api.prefetch.NextPages``) on its own:
a page is taken once, a page being rendered is waited for, a failed render leaves the
request to render its page, the oldest waiting pages make room for newer ones, one page
renders at a time, and a closed store renders nothing."""

from __future__ import annotations

import threading

import pytest

from digitalcity.api.prefetch import NextPages, Rendered


def test_a_page_is_taken_once() -> None:
    pages = NextPages(4)
    assert pages.schedule("a", lambda: Rendered(b"A", 7))
    assert pages.settle(5)
    assert pages.take("a") == Rendered(b"A", 7)
    assert pages.take("a") is None
    assert pages.take("never scheduled") is None
    assert pages.taken == 1


def test_a_page_being_rendered_is_waited_for_and_kept_for_nobody_else() -> None:
    pages = NextPages(4)
    release = threading.Event()

    def slow() -> Rendered:
        release.wait(5)
        return Rendered(b"slow", None)

    assert pages.schedule("slow", slow)
    assert not pages.schedule("other", lambda: Rendered(b"x", None))  # one at a time
    threading.Timer(0.2, release.set).start()
    assert pages.take("slow") == Rendered(b"slow", None)
    assert pages.settle(5)
    assert pages.waiting() == 0 and pages.take("slow") is None


def test_a_failed_render_leaves_the_page_to_its_request() -> None:
    pages = NextPages(4)

    def broken() -> Rendered:
        raise RuntimeError("statement timeout")

    assert pages.schedule("broken", broken)
    assert pages.take("broken") is None
    assert pages.settle(5) and pages.waiting() == 0


def test_the_oldest_waiting_pages_make_room() -> None:
    pages = NextPages(2)
    for key in ("one", "two", "three"):
        assert pages.schedule(key, lambda key=key: Rendered(key.encode(), None))
        assert pages.settle(5)
    assert pages.waiting() == 2
    assert pages.take("one") is None and pages.take("three") == Rendered(b"three", None)


@pytest.mark.parametrize("slots", [0, 4])
def test_nothing_renders_when_off_or_closed(slots: int) -> None:
    pages = NextPages(slots)
    pages.close()
    assert not pages.schedule("a", lambda: Rendered(b"A", None))
    assert pages.take("a") is None
