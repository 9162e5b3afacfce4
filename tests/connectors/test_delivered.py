"""connectors.delivered: the pairs a cursor remembers, dropped in stamp order and bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadbridge.connectors.delivered import Delivered


def test_pairs_before_the_bound_are_forgotten_whatever_order_they_came_in() -> None:
    delivered = Delivered[int]()
    for ms in (30, 10, 50, 20, 40):
        delivered.add((f"id{ms}", f"s{ms}"), ms)
    delivered.drop_before(30)
    assert delivered.pairs() == {("id30", "s30"), ("id40", "s40"), ("id50", "s50")}
    assert ("id20", "s20") not in delivered and ("id40", "s40") in delivered
    delivered.drop_before(30)  # a bound that does not move forgets nothing more
    assert len(delivered.pairs()) == 3


def test_beyond_the_limit_the_newest_pairs_are_kept() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    delivered = Delivered[datetime](limit=3)
    for second in (5, 1, 4, 2, 3, 6):
        delivered.add((str(second), "s"), start + timedelta(seconds=second))
    assert sorted(pair[0] for pair in delivered.pairs()) == ["4", "5", "6"]


def test_a_pair_added_twice_is_kept_once() -> None:
    delivered = Delivered[int](limit=2)
    delivered.add(("a", "1"), 1)
    delivered.add(("a", "1"), 1)
    delivered.add(("b", "2"), 2)
    assert delivered.pairs() == {("a", "1"), ("b", "2")}
    delivered.drop_before(2)
    assert delivered.pairs() == {("b", "2")}
