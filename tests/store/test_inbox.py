"""The inbox and cursors: dedupe, page and cursor as one, order per lead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadbridge.connectors.base import Cursor, Removal
from leadbridge.model import System
from leadbridge.store import Store

from .conftest import T0, FixedClock, change


def test_enqueue_counts_only_new_items(store: Store) -> None:
    first = change("c1", 0, email="a@example.com")
    with store.transaction() as uow:
        # The same change twice in one page, as a webhook and a poll may both bring it.
        assert uow.inbox.enqueue([first, first, change("c2", 1)]) == 2
    with store.transaction() as uow:
        assert uow.inbox.enqueue([first, change("c1", 5)]) == 1
        removal = Removal(System.HUBSPOT, "contact", "c1", T0, merged_into="c9")
        # A removal stamped like a change of the same record is a different item.
        assert uow.inbox.enqueue([], [removal]) == 1
        assert uow.inbox.enqueue([], [removal]) == 0
        assert uow.inbox.pending_count() == 4


def test_item_returns_the_change_it_holds(store: Store) -> None:
    original = change("c1", 0, email="a@example.com", firstname="Ada")
    with store.transaction() as uow:
        uow.inbox.enqueue([original])
    with store.transaction() as uow:
        (item,) = uow.inbox.claim(10)
    assert item.kind == "change"
    assert item.change() == original


def test_removal_keeps_its_merge_target(store: Store) -> None:
    removal = Removal(System.SALESFORCE, "Lead", "00Q1", T0, merged_into="00Q2")
    with store.transaction() as uow:
        uow.inbox.enqueue([], [removal])
    with store.transaction() as uow:
        (item,) = uow.inbox.claim(10)
    assert (item.kind, item.record_id, item.merged_into) == ("removal", "00Q1", "00Q2")
    with pytest.raises(ValueError, match="removal"):
        item.change()


def test_cursor_is_saved_with_its_page(store: Store) -> None:
    cursor = Cursor(T0, frozenset({("c1", "2026-03-02T09:00:00")}))
    with store.transaction() as uow:
        assert uow.cursors.get(System.HUBSPOT, "contact", Cursor.from_json) is None
        uow.inbox.enqueue([change("c1")])
        uow.cursors.save(System.HUBSPOT, "contact", cursor)
    with store.transaction() as uow:
        assert uow.cursors.get(System.HUBSPOT, "contact", Cursor.from_json) == cursor
        assert uow.cursors.get(System.SALESFORCE, "Lead", Cursor.from_json) is None


def test_a_failed_transaction_saves_neither_page_nor_cursor(store: Store) -> None:
    later = Cursor(T0 + timedelta(hours=1))

    def crash_before_commit() -> None:
        with store.transaction() as uow:
            uow.inbox.enqueue([change("c1"), change("c2")])
            uow.cursors.save(System.HUBSPOT, "contact", later)
            raise RuntimeError("crash between page and commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash_before_commit()
    with store.transaction() as uow:
        assert uow.inbox.pending_count() == 0
        assert uow.cursors.get(System.HUBSPOT, "contact", Cursor.from_json) is None


def test_claim_hands_out_each_lead_oldest_first(store: Store) -> None:
    with store.transaction() as uow:
        # Enqueued out of order; b's items come from two records linked to one lead.
        uow.links.link("lead-b", System.HUBSPOT, "contact", "b1")
        uow.links.link("lead-b", System.SALESFORCE, "Lead", "00Qb")
        uow.inbox.enqueue(
            [
                change("a1", 30),
                change("b1", 20),
                change("a1", 10),
                change("00Qb", 15, system=System.SALESFORCE, obj="Lead"),
            ]
        )
    seen: list[tuple[str, int]] = []
    for _ in range(5):
        with store.transaction() as uow:
            items = uow.inbox.claim(10)
            # Never two items of one lead at once: the older must be done first.
            assert len({item.lead_key for item in items}) == len(items)
            seen += [(item.record_id, item.modified_at.minute) for item in items]
            uow.inbox.done(item.id for item in items)
    assert seen == [("a1", 10), ("00Qb", 15), ("b1", 20), ("a1", 30)]


def test_claim_respects_the_limit_and_parked_items_do_not_block(store: Store) -> None:
    with store.transaction() as uow:
        uow.inbox.enqueue([change("a", 0), change("a", 1), change("b", 2), change("c", 3)])
    with store.transaction() as uow:
        first = uow.inbox.claim(2)
        assert [item.record_id for item in first] == ["a", "b"]
        uow.inbox.park([first[0].id], "unreadable email")
        uow.inbox.done([first[1].id])
    with store.transaction() as uow:
        assert [(i.record_id, i.modified_at.minute) for i in uow.inbox.claim(10)] == [
            ("a", 1),
            ("c", 3),
        ]
        assert uow.inbox.pending_count() == 2


def test_linking_a_record_moves_its_waiting_items_into_the_leads_line(store: Store) -> None:
    with store.transaction() as uow:
        uow.inbox.enqueue(
            [change("00Q1", 5, system=System.SALESFORCE, obj="Lead"), change("c1", 1)]
        )
        uow.links.link("L1", System.HUBSPOT, "contact", "c1")
        uow.links.link("L1", System.SALESFORCE, "Lead", "00Q1")
        (head,) = uow.inbox.claim(10)
        assert (head.record_id, head.lead_key) == ("c1", "L1")


def test_an_item_parked_as_its_record_joins_a_lead_waits_in_the_leads_line(
    store: Store,
) -> None:
    """A held lead's change is parked in the round that links its record: it must still
    join the lead's line, where releasing the hold (`reopen_lead`) finds it; an item marked
    done in that round is not re-lined at all."""
    with store.transaction() as uow:
        uow.inbox.enqueue([change("c1", 0, email="kim@orbit.io"), change("c2", 0)])
    with store.transaction() as uow:
        held, finished = sorted(uow.inbox.claim(10), key=lambda item: item.record_id)
        # As a round does: its records' links known up front, the links buffered till commit.
        uow.links.prefetch(records=[(System.HUBSPOT, "contact", r) for r in ("c1", "c2")])
        uow.links.link("L1", System.HUBSPOT, "contact", "c1")
        uow.links.link("L2", System.HUBSPOT, "contact", "c2")
        uow.inbox.park([held.id], "ambiguous email: held for a person")
        uow.inbox.done([finished.id])
    with store.transaction() as uow:
        assert uow.inbox.reopen_lead("L1") == 1
        assert [(i.record_id, i.lead_key) for i in uow.inbox.claim(10)] == [("c1", "L1")]


def test_large_pages_enqueue_and_dedupe_in_bulk(store: Store) -> None:
    page = [change(f"c{n}", n % 50, email=f"p{n}@example.com") for n in range(1_200)]
    with store.transaction() as uow:
        for n in range(0, 1_200, 2):
            uow.links.link(f"L{n}", System.HUBSPOT, "contact", f"c{n}")
        assert uow.inbox.enqueue(page) == 1_200
    with store.transaction() as uow:
        assert uow.inbox.enqueue(page) == 0
        items = uow.inbox.claim(2_000)
        assert len(items) == 1_200
        assert sum(item.lead_key.startswith("L") for item in items) == 600
        uow.inbox.done(item.id for item in items)
        assert uow.inbox.pending_count() == 0


def test_a_parked_item_can_be_put_back_in_line(store: Store) -> None:
    stuck = change("c1", 0)
    with store.transaction() as uow:
        uow.inbox.enqueue([stuck])
        (item,) = uow.inbox.claim(10)
        uow.inbox.park([item.id], "ambiguous email")
    with store.transaction() as uow:
        assert uow.inbox.enqueue([stuck]) == 0  # re-reading an unchanged record adds nothing
        assert uow.inbox.claim(10) == []
        assert uow.inbox.reopen(System.HUBSPOT, "contact", "c1") == 1
        assert [i.id for i in uow.inbox.claim(10)] == [item.id]


def _park_deals(store: Store, *deals: str) -> list[int]:
    """Deals no lead names yet, set aside as a round does; their item ids."""
    with store.transaction() as uow:
        deal = [change(d, 0, system=System.SALESFORCE, obj="Opportunity") for d in deals]
        uow.inbox.enqueue(deal)
        items = uow.inbox.claim(10)
        uow.inbox.park([item.id for item in items], "no lead names this record yet")
    return sorted(item.id for item in items)


def _opportunities(*deals: str) -> list[tuple[System, str, str]]:
    return [(System.SALESFORCE, "Opportunity", deal) for deal in deals]


def test_deals_reopened_soon_go_back_in_line_together_at_the_flush(
    store: Store, statements: list[str]
) -> None:
    parked = _park_deals(store, "006A", "006B", "006C")
    with store.transaction() as uow:
        uow.prefetch(reopened=_opportunities("006A", "006B", "006C", "006Z"))
        before = len(statements)
        for _, obj, deal in _opportunities("006A", "006B", "006Z"):
            uow.inbox.reopen_soon(System.SALESFORCE, obj, deal)
        assert len(statements) == before  # nothing sent yet (006Z has nothing parked)
        uow.flush()
        reopens = [s for s in statements[before:] if s.startswith("UPDATE inbox")]
        assert len(reopens) == 1
        assert sorted(i.record_id for i in uow.inbox.claim(10)) == ["006A", "006B"]
    assert parked  # 006C stays parked
    with store.transaction() as uow:
        assert uow.inbox.reopen(System.SALESFORCE, "Opportunity", "006C") == 1


def test_a_park_after_a_reopen_soon_of_the_same_record_stands(store: Store) -> None:
    """Reopen then park, on one record: stored in that order, whichever flush sends them."""
    (old,) = _park_deals(store, "006A")
    with store.transaction() as uow:
        uow.inbox.enqueue([change("006A", 5, system=System.SALESFORCE, obj="Opportunity")])
    with store.transaction() as uow:
        (new,) = uow.inbox.claim(10)
        uow.prefetch(reopened=_opportunities("006A"))
        uow.inbox.reopen_soon(System.SALESFORCE, "Opportunity", "006A")
        uow.inbox.park([new.id], "still no lead")
        uow.inbox.prefetch(["kim@orbit.io"])  # flushes the inbox's own buffer, as rounds do
    with store.transaction() as uow:
        assert [i.id for i in uow.inbox.claim(10)] == [old]  # put back; the new one parked
        assert uow.inbox.parked_count() == 1


def test_a_deal_reopened_soon_and_linked_in_one_round_waits_in_its_leads_line(
    store: Store,
) -> None:
    """A converted Lead's deal: reopened, then linked to the lead in the same round. The
    reopen reaches the database before the links do, so its item joins the lead's line."""
    _park_deals(store, "006A")
    with store.transaction() as uow:
        uow.prefetch(records=_opportunities("006A"), reopened=_opportunities("006A"))
        uow.inbox.reopen_soon(System.SALESFORCE, "Opportunity", "006A")
        uow.links.link("L1", System.SALESFORCE, "Opportunity", "006A")
    with store.transaction() as uow:
        assert [(i.record_id, i.lead_key) for i in uow.inbox.claim(10)] == [("006A", "L1")]


def test_records_no_lead_holds_queue_under_their_email_across_systems(store: Store) -> None:
    contact = change("h1", 0, email="Kim@Orbit.io")
    twin = change("00Q1", 1, system=System.SALESFORCE, obj="Lead", Email="kim@orbit.io")
    with store.transaction() as uow:
        uow.inbox.enqueue([contact, twin])
        assert uow.inbox.pending_with_email(System.SALESFORCE, "KIM@orbit.io")
        assert not uow.inbox.pending_with_email(System.SALESFORCE, "sam@orbit.io")
        (first,) = uow.inbox.claim(10)  # one line: the Lead waits behind the contact
        assert first.record_id == "h1"
        uow.inbox.done([first.id])
        (second,) = uow.inbox.claim(10)
        assert second.record_id == "00Q1"
        uow.links.link("lead-1", System.SALESFORCE, "Lead", "00Q1", email="kim@orbit.io")
        assert not uow.inbox.pending_with_email(System.SALESFORCE, "kim@orbit.io")


def test_oldest_pending_is_when_the_longest_waiting_item_came_in(
    store: Store, clock: FixedClock
) -> None:
    with store.transaction() as uow:
        assert uow.inbox.oldest_pending() is None
        uow.inbox.enqueue([change("c1")])
    clock.advance(90)
    with store.transaction() as uow:
        uow.inbox.enqueue([change("c2", 1)])
        assert uow.inbox.oldest_pending() == T0
        [first] = uow.inbox.claim(1)
        uow.inbox.done([first.id])
        assert uow.inbox.oldest_pending() == T0 + timedelta(seconds=90)
