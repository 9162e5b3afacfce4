"""Journal, write log and parked records."""

from __future__ import annotations

from datetime import timedelta

from leadbridge.model import Cause, RecordWrite, System, Transition
from leadbridge.store import Store, write_key

from .conftest import T0, FixedClock

HS, SF = System.HUBSPOT, System.SALESFORCE
CAUSE = Cause(HS, "contact", "101", T0)
MQL = Transition("lead", "mql", "score_passes", "score 72 >= 60", CAUSE, T0)
SQL = Transition("mql", "sql", "demo_request", "demo requested", CAUSE, T0)
WRITE = RecordWrite(SF, "Lead", None, ({"Status": "MQL"},), key=("Leadbridge_Id__c", "L1"))


def test_journal_never_records_a_transition_twice(store: Store) -> None:
    with store.transaction() as uow:
        uow.journal.append("L1", [MQL, SQL], [WRITE])
        assert len(uow.journal.entries("L1")) == 2
    later = Transition("sql", "nurture", "handback", "no budget", CAUSE, T0)
    with store.transaction() as uow:
        # Replaying the same change after a crash: same lead, cause and rules.
        uow.journal.append("L1", [MQL, SQL], [WRITE])
        uow.journal.append("L1", [later])
        uow.journal.append("L1", [])
    with store.transaction() as uow:
        entries = uow.journal.entries("L1")
    assert [entry.transition for entry in entries] == [MQL, SQL, later]
    assert entries[0].writes == [
        {
            "system": "salesforce",
            "object": "Lead",
            "id": None,
            "steps": [{"Status": "MQL"}],
            "key": ["Leadbridge_Id__c", "L1"],
        }
    ]


def test_a_change_to_the_same_record_later_is_a_new_cause(store: Store) -> None:
    again = Transition(
        "nurture",
        "mql",
        "score_passes",
        "re-scored",
        Cause(HS, "contact", "101", T0 + timedelta(days=9)),
        T0,
    )
    with store.transaction() as uow:
        uow.journal.append("L1", [MQL, again])
        assert len(uow.journal.entries("L1")) == 2


def test_a_write_key_leads_with_its_inbox_item_so_a_rounds_writes_are_neighbours() -> None:
    keys = [write_key("L1", WRITE, cause=f"inbox:{item}") for item in (9, 10, 4096)]
    assert [key[:12] for key in keys] == ["000000000009", "00000000000a", "000000001000"]
    assert keys == sorted(keys) and all(len(key) == 64 for key in keys)  # the column's size
    # Any other cause (a funnel redeploy, an action) is keyed by the digest alone.
    other = write_key("L1", WRITE, cause="funnel:3f2a")
    assert len(other) == 64 and all(c in "0123456789abcdef" for c in other)
    assert other != write_key("L2", WRITE, cause="funnel:3f2a")


def test_write_log_follows_a_write_from_plan_to_confirmation(
    store: Store, clock: FixedClock
) -> None:
    key = write_key("L1", WRITE, cause="inbox:1")
    assert key == write_key("L1", WRITE, cause="inbox:1")
    assert key != write_key("L1", WRITE, cause="inbox:2")
    with store.transaction() as uow:
        uow.writes.begin(key, "L1", WRITE)
        uow.writes.begin(key, "L1", WRITE)  # the same write for the same cause: logged once
        uow.writes.sent([key])
    # A crash here: on restart the write is still unfinished and can be sent again.
    with store.transaction() as uow:
        (loose,) = uow.writes.unfinished()
        assert (loose.key, loose.status, loose.attempts, loose.write) == (key, "sent", 1, WRITE)
        uow.writes.begin(key, "L1", WRITE)  # planned again after the crash: kept as it was
        assert [w.status for w in uow.writes.unfinished()] == ["sent"]
        clock.advance(5)
        uow.writes.confirm(key, record_id="00Q1")
    with store.transaction() as uow:
        assert uow.writes.unfinished() == []
        done = uow.writes.get(key)
        assert done is not None and done.status == "confirmed" and done.write.id == "00Q1"
        uow.writes.sent([key])  # a late duplicate "sent" must not reopen it
        assert uow.writes.unfinished() == []
        assert uow.writes.get("nope") is None


def test_parked_records_are_listed_counted_and_retried(store: Store) -> None:
    with store.transaction() as uow:
        first = uow.parked.park(SF, "Lead", "00Q1", "two leads share sam@example.com", now=T0)
        assert (first.attempts, first.next_retry_at) == (1, None)
        uow.parked.park(
            HS,
            "contact",
            "101",
            "INVALID_EMAIL",
            now=T0 + timedelta(minutes=1),
            retry_at=T0 + timedelta(minutes=5),
            lead_id="L1",
        )
        again = uow.parked.park(
            HS,
            "contact",
            "101",
            "still INVALID_EMAIL",
            now=T0 + timedelta(minutes=6),
            retry_at=T0 + timedelta(minutes=20),
        )
        assert (again.attempts, again.reason, again.lead_id) == (2, "still INVALID_EMAIL", "L1")
        assert again.first_seen == T0 + timedelta(minutes=1)
        assert again.last_seen == T0 + timedelta(minutes=6)
    with store.transaction() as uow:
        assert [(p.system, p.record_id) for p in uow.parked.listing()] == [
            (SF, "00Q1"),
            (HS, "101"),
        ]
        assert uow.parked.due(T0 + timedelta(minutes=10)) == []
        assert [p.record_id for p in uow.parked.due(T0 + timedelta(minutes=20))] == ["101"]
        assert uow.parked.count() == 2
        uow.parked.unpark(HS, "contact", "101")
        uow.parked.unpark(HS, "contact", "101")
        assert uow.parked.count() == 1
