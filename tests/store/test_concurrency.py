"""Replicas sharing one PostgreSQL inbox: SKIP LOCKED hands each item to one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadbridge.store import Store

from .conftest import T0, change


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Row locks and SKIP LOCKED are PostgreSQL's (SQLite's BEGIN IMMEDIATE serialises
    writers), so these run on PostgreSQL only, and CI never lets that skip."""
    return postgres_url


def test_concurrent_claims_take_disjoint_items(url: str) -> None:
    first, second = Store.open(url), Store.open(url)
    try:
        with first.transaction() as uow:
            uow.inbox.enqueue([change(f"c{n}", n) for n in range(6)] + [change("c0", 60)])
        with first.transaction() as one, second.transaction() as two:
            mine = one.inbox.claim(3)
            theirs = two.inbox.claim(10)  # does not wait: it skips the rows `one` holds
            assert [item.record_id for item in mine] == ["c0", "c1", "c2"]
            # c0's later item waits behind the one `one` holds: no overtaking within a lead.
            assert [item.record_id for item in theirs] == ["c3", "c4", "c5"]
            one.inbox.done(item.id for item in mine)
            two.inbox.done(item.id for item in theirs)
        with second.transaction() as uow:
            (last,) = uow.inbox.claim(10)
        assert (last.record_id, last.modified_at) == ("c0", T0 + timedelta(minutes=60))
    finally:
        first.close()
        second.close()


def test_a_claim_released_by_rollback_is_claimed_again(url: str) -> None:
    first, second = Store.open(url), Store.open(url)
    try:
        with first.transaction() as uow:
            uow.inbox.enqueue([change("c1")])

        def die_holding_the_item() -> None:
            with first.transaction() as one:
                assert len(one.inbox.claim(10)) == 1
                with second.transaction() as two:
                    assert two.inbox.claim(10) == []
                raise RuntimeError("replica killed mid-item")

        with pytest.raises(RuntimeError, match="killed"):
            die_holding_the_item()
        with second.transaction() as two:
            assert [item.record_id for item in two.inbox.claim(10)] == ["c1"]
    finally:
        first.close()
        second.close()
