"""What people do about parked records (retry, ignore: logged for good), the pause switch,
the lease listing and the replicas' reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from leadbridge.model import Change, RecordWrite, System
from leadbridge.store import Store, write_key
from leadbridge.store import actions as acts
from leadbridge.store.tables import inbox, write_log

from .conftest import T0, FixedClock

SF, HS = System.SALESFORCE, System.HUBSPOT
HOLD = "ambiguous match"
KIM = "kim@orbit.io"
REASON = f"{HOLD}: 2 Salesforce leads share {KIM}"


def statuses(store: Store, record_id: str) -> list[str]:
    with store.reading() as uow:
        rows = uow.connection.execute(
            sa.select(inbox.c.status).where(inbox.c.record_id == record_id).order_by(inbox.c.id)
        )
        return [str(status) for status in rows.scalars()]


def duplicate_pair(store: Store) -> None:
    """Kim's Lead Q1 belongs to lead L1 and waits, held; Q2 claims the same email."""
    with store.transaction() as uow:
        uow.links.link("L1", SF, "Lead", "Q1", email=KIM)
    with store.transaction() as uow:
        uow.inbox.enqueue([Change(SF, "Lead", "Q1", {"Email": KIM, "Status": "Working"}, T0)])
        uow.inbox.enqueue([Change(SF, "Lead", "Q2", {"Email": "Kim@Orbit.io"}, T0)])
        items = {item.record_id: item.id for item in uow.inbox.claim(10)}
        uow.inbox.park([items["Q1"]], REASON)
        uow.inbox.park([items["Q2"]], REASON)
        uow.parked.park(SF, "Lead", "Q2", REASON, now=T0)
        uow.parked.park(SF, "Lead", "Q1", REASON, now=T0, lead_id="L1")


def test_ignoring_a_duplicate_settles_it_logs_why_and_lets_its_one_twin_go(store: Store) -> None:
    duplicate_pair(store)
    with store.transaction() as uow:
        records = uow.parked.listing()
        emails = acts.emails_of(uow, records)
        assert emails == {(SF.value, "Lead", "Q1"): KIM, (SF.value, "Lead", "Q2"): "Kim@Orbit.io"}
        [q2] = acts.find(uow, "Q2", records)
        assert acts.find(uow, "kim@ORBIT.io", records) == records  # an email names both
        acted = acts.ignore(uow, q2, why="a test lead of the rep", by="ops@host", hold=HOLD)
    assert [r.record_id for r in acted.released] == ["Q1"]
    assert acted.items == 1
    assert statuses(store, "Q2") == ["done"]  # settled, never decided
    assert statuses(store, "Q1") == ["pending"]  # the lead goes on at the next sync
    with store.reading() as uow:
        assert uow.parked.listing() == []
        logged = uow.actions.listing()
        assert uow.actions.count(acts.IGNORE) == 1
    assert [(a.action, a.record_id, a.by, a.why) for a in logged] == [  # latest first
        ("retry", "Q1", "ops@host", "its duplicate salesforce:Lead:Q2 was ignored"),
        ("ignore", "Q2", "ops@host", "a test lead of the rep"),
    ]
    ignored = next(a for a in logged if a.action == acts.IGNORE)
    assert (ignored.why, ignored.reason, ignored.email) == (
        "a test lead of the rep",
        REASON,
        "Kim@Orbit.io",
    )


def test_retrying_one_duplicate_puts_it_back_in_line_and_keeps_the_other_parked(
    store: Store,
) -> None:
    duplicate_pair(store)
    with store.transaction() as uow:
        [q2] = acts.find(uow, "salesforce:Lead:Q2", uow.parked.listing())
        acted = acts.retry(uow, q2, by="ops@host", hold=HOLD)
    assert (acted.items, acted.writes, acted.released) == (1, 0, ())
    assert statuses(store, "Q2") == ["pending"]
    assert statuses(store, "Q1") == ["parked"]  # Q1 still holds lead L1
    with store.reading() as uow:
        assert [r.record_id for r in uow.parked.listing()] == ["Q1"]


def test_retry_sends_again_only_refused_writes_newer_than_the_last_that_landed(
    store: Store, clock: FixedClock
) -> None:
    def write(status: str) -> str:
        one = RecordWrite(SF, "Lead", "Q7", ({"Status": status},))
        key = write_key("L7", one, cause=status)
        with store.transaction() as uow:
            uow.writes.begin(key, "L7", one)
        clock.advance(60)
        return key

    stale, landed, refused = write("Open"), write("Working"), write("Nurture")
    with store.transaction() as uow:
        uow.writes.refuse(stale)
        uow.writes.confirm(landed)
        uow.writes.refuse(refused)
        fix = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST. To fix: add the value"
        uow.parked.park(SF, "Lead", "Q7", fix, now=clock(), lead_id="L7")
    with store.transaction() as uow:
        [q7] = uow.parked.listing()
        acted = acts.retry(uow, q7, by="ops@host", hold=HOLD)
    assert acted.writes == 1
    with store.reading() as uow:
        rows = uow.connection.execute(sa.select(write_log.c.key, write_log.c.status))
        found = {str(key): str(status) for key, status in rows}
        assert {key: found[key] for key in (stale, landed, refused)} == {
            stale: "refused",  # older than the write that landed: never sent again
            landed: "confirmed",
            refused: "planned",
        }
        assert [w.key for w in uow.writes.unfinished()] == [refused]
        assert uow.parked.count() == 0


def test_ignore_gives_up_the_unsent_writes_of_a_create(store: Store, clock: FixedClock) -> None:
    create = RecordWrite(HS, "contact", None, ({"email": KIM},), key=("email", KIM))
    key = write_key("L8", create, cause="x")
    with store.transaction() as uow:
        uow.writes.begin(key, "L8", create)
        uow.parked.park(
            HS,
            "contact",
            f"email={KIM}",
            "hubspot 502",
            now=T0,
            lead_id="L8",
            retry_at=T0 + timedelta(minutes=5),
        )
    with store.transaction() as uow:
        [record] = uow.parked.listing()
        assert acts.emails_of(uow, [record]) == {(HS.value, "contact", f"email={KIM}"): KIM}
        acted = acts.ignore(uow, record, why="gone", by="ops@host", hold=HOLD)
    assert (acted.writes, acted.email) == (1, KIM)
    with store.reading() as uow:
        assert uow.writes.unfinished() == []


def test_the_pause_switch_is_one_row_every_reader_sees(store: Store, clock: FixedClock) -> None:
    with store.reading() as uow:
        assert uow.switches.paused() is None
    with store.transaction() as uow:
        uow.switches.pause("CRM migration", "ops@host")
    clock.advance(60)
    with store.transaction() as uow:
        again = uow.switches.pause("CRM migration, part 2", "lee@host")
    with store.reading() as uow:
        assert uow.switches.paused() == again
    assert again.line() == "paused since 2026-03-02 09:01 UTC by lee@host: CRM migration, part 2"
    with store.transaction() as uow:
        assert uow.switches.resume() == again
        assert uow.switches.resume() is None
    with store.reading() as uow:
        assert uow.switches.paused() is None


def test_leases_listed_while_held_and_replica_reports_age_out(
    store: Store, clock: FixedClock
) -> None:
    with store.transaction() as uow:
        assert uow.leases.acquire("sync", "replica-a", timedelta(seconds=30))
        uow.replicas.report("replica-a", {"last_cycle": None})
        uow.replicas.report("replica-b", {"last_cycle": {"leads_decided": 3}})
    with store.reading() as uow:
        assert uow.leases.listing() == {"sync": ("replica-a", T0 + timedelta(seconds=30))}
        assert [r.holder for r in uow.replicas.listing()] == ["replica-a", "replica-b"]
    clock.advance(31)
    with store.transaction() as uow:
        assert uow.leases.listing() == {}
        uow.replicas.gone("replica-a")
    clock.advance(2 * 3600)
    with store.transaction() as uow:
        uow.replicas.report("replica-c", {})
    with store.reading() as uow:
        assert [r.holder for r in uow.replicas.listing()] == ["replica-c"]  # b aged out
