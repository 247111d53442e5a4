"""The bounded LRU behind the item page cache and the kept answers of the changes feed."""

from __future__ import annotations

from digitalcity.lru import BoundedLRU


def test_a_bounded_lru_stays_within_its_budget() -> None:
    kept: BoundedLRU[tuple, object] = BoundedLRU(1000)
    for n in range(10):
        kept.put((n,), n, 200)
    assert kept.weight <= 1000 and kept.get((9,)) == 9
    assert kept.get((0,)) is None  # the least recently used went first
    kept.get((5,))  # used: kept over 6 and 7 when room is needed
    kept.put(("x",), "x", 200)
    assert kept.get((5,)) == 5 and kept.get((6,)) is None
    kept.put(("big",), "y", 300)  # heavier than a quarter of the budget: never kept
    assert kept.get(("big",)) is None and kept.get((9,)) == 9
    before = kept.weight
    kept.put((9,), "again", 200)  # a key put again is replaced, and weighs once
    assert kept.weight == before and kept.get((9,)) == "again"
    pages: BoundedLRU[str, bytes] = BoundedLRU(100)
    pages.put("a", b"0123456789")  # bytes weigh their length
    assert pages.weight == 10
    assert BoundedLRU(0).get("a") is None  # a budget of 0 keeps nothing
