"""The writer: sends the write log's unfinished writes and commits what came back.

Writes are marked sent (committed) before each system's batch leaves, and
settled after it in one transaction: confirmed with the record's id, its
snapshot remembered (so the next plan and the echo check see our values), a
created record linked to its lead, a failed one parked with its reason.

How a failed write is tried again depends on why it failed. A transient fault
(no answer, 429, 5xx, a row lock) gets a back-off: the write stays unfinished,
and while its record's retry is not due, no write to that record goes out. A
refusal of the record's values (a required field blank, a picklist value
unknown, a validation rule: `errors.refused_values`) can never pass as it is,
so the write is marked refused and its record parked with no retry time, with
what a person must fix. Nothing sends it again; the next decision for its
lead (the values fixed, or anything else changed) plans the record afresh,
and that new write goes out at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadbridge.connectors.base import ApplyPaused, Connector, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Action, refused_values
from leadbridge.core.identity import AMBIGUOUS_MATCH
from leadbridge.model import RecordWrite, System, Value
from leadbridge.store import LoggedWrite, Store, UnitOfWork

BACKOFF = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
# The connectors' batch maxima: the calls a batch of writes costs at least.
BATCH = {System.HUBSPOT: 100, System.SALESFORCE: 200}


@dataclass
class Sent:
    written: dict[System, int] = field(default_factory=dict)  # records written
    # Requests the connector sent while applying (its own count: retries, read-backs and
    # logins included), by system. What "calls" means wherever leadbridge prints it.
    calls: dict[System, int] = field(default_factory=dict)
    # Computed, not counted: the fewest calls the writes sent could cost (`least_calls`).
    # Shown beside `calls` only under a name that says so.
    least_calls: dict[System, int] = field(default_factory=dict)
    refused: dict[System, int] = field(default_factory=dict)  # writes parked, by system


class SendPaused(BudgetPaused):
    """A daily budget ran out while sending: `sent` tells what went out before the pause
    (settled, like every landed write), the budget's reason is the message."""

    def __init__(self, paused: BudgetPaused, sent: Sent) -> None:
        super().__init__(paused.used, paused.allowed, paused.reason)
        self.sent = sent


def _parked_key(write: RecordWrite, lead_id: str) -> str:
    """The record a parked write is listed under: its id, or the key it would be created by,
    or (keyless) its lead, so two keyless creates are two parked records."""
    if write.id is not None:
        return write.id
    return (
        f"{write.key[0]}={write.key[1]}" if write.key is not None else f"(no key, lead {lead_id})"
    )


def backoff(attempts: int) -> timedelta:
    grown: timedelta = BACKOFF * (2 ** max(attempts - 1, 0))
    return min(grown, BACKOFF_CAP)


def flush(
    store: Store,
    connectors: Mapping[System, Connector],
    now: datetime,
    *,
    whole_batches: bool = False,
) -> Sent:
    """Send every unfinished write that is not waiting out a back-off. Raises SendPaused (a
    BudgetPaused, after settling what landed) when a system's daily share is spent.

    `whole_batches`: send only as many of each kind of write as fill whole calls, and
    leave the rest in the log for the next flush. Between the rounds of a large cycle
    this spends the fewest calls: the last flush of the cycle sends the remainders."""
    sent = Sent()
    with store.reading() as uow:
        waiting = {
            (p.system, p.object, p.record_id)
            for p in uow.parked.listing()
            if p.next_retry_at is not None and p.next_retry_at > now
        }
        # A lead held for a person (story 7: which of two records is Kim?) writes nothing.
        held = uow.parked.held_leads(AMBIGUOUS_MATCH)
        unfinished = [
            logged
            for logged in uow.writes.unfinished()
            if (logged.write.system, logged.write.object, _parked_key(logged.write, logged.lead_id))
            not in waiting
            and logged.lead_id not in held
        ]
    for system in (System.HUBSPOT, System.SALESFORCE):
        batch = [logged for logged in unfinished if logged.write.system is system]
        if whole_batches:
            batch = _whole(batch, BATCH[system])
        connector = connectors.get(system)
        if not batch or connector is None:
            continue
        with store.transaction() as uow:
            uow.writes.sent(logged.key for logged in batch)
        writes = [logged.write for logged in batch]
        before = connector.requests.total()
        try:
            results = connector.apply(writes)
        except BudgetPaused as paused:
            # What landed before the pause is settled now: never sent again after the reset.
            settled = paused.results if isinstance(paused, ApplyPaused) else []
            _add(sent.calls, system, connector.requests.total() - before)
            _settle(store, _pairs(batch, settled), now, sent)
            raise SendPaused(paused, sent) from paused
        _add(sent.calls, system, connector.requests.total() - before)
        _add(sent.least_calls, system, least_calls(system, writes))
        _settle(store, _pairs(batch, results), now, sent)
    return sent


def least_calls(system: System, writes: Sequence[RecordWrite]) -> int:
    """The fewest calls these writes could cost, computed, not counted: creates and updates
    go by different calls, each step of a multi-step write by its own, each packed at the
    API's batch maximum. Read-backs, retries and logins come on top."""
    kinds: Counter[tuple[bool, int]] = Counter()
    for write in writes:
        kinds.update((write.id is None, step) for step in range(len(write.steps)))
    return sum(-(-count // BATCH[system]) for count in kinds.values())


def _add(figures: dict[System, int], system: System, count: int) -> None:
    figures[system] = figures.get(system, 0) + count


def _whole(batch: Sequence[LoggedWrite], size: int) -> list[LoggedWrite]:
    """The oldest writes of each kind (create or update, and how many steps) that fill
    whole calls: the connectors batch each kind on its own."""
    kinds: dict[tuple[bool, int], list[LoggedWrite]] = {}
    for logged in batch:
        kinds.setdefault((logged.write.id is None, len(logged.write.steps)), []).append(logged)
    filling = {
        logged.key for writes in kinds.values() for logged in writes[: len(writes) // size * size]
    }
    # A record with a write held back holds its later writes too: they must land in order.
    held: set[tuple[str, str]] = set()
    chosen = []
    for logged in batch:
        record = (logged.write.object, _parked_key(logged.write, logged.lead_id))
        if logged.key in filling and record not in held:
            chosen.append(logged)
        else:
            held.add(record)
    return chosen


def _pairs(
    batch: Sequence[LoggedWrite], results: Sequence[WriteResult]
) -> list[tuple[LoggedWrite, WriteResult]]:
    """Each result with the logged write it answers. A paused apply answers only the writes
    it settled, not necessarily the first ones: those are found by the write sent."""
    if len(results) == len(batch):
        return list(zip(batch, results, strict=True))
    free = list(range(len(batch)))
    pairs = []
    for result in results:
        index = next((i for i in free if batch[i].write == result.write), None)
        if index is not None:
            free.remove(index)
            pairs.append((batch[index], result))
    return pairs


def _settle(
    store: Store,
    pairs: Sequence[tuple[LoggedWrite, WriteResult]],
    now: datetime,
    sent: Sent,
) -> None:
    with store.transaction() as uow:
        # What settling reads (the records' snapshots, the links of those it created), in a
        # few statements.
        landed = [
            (logged.write, result.id)
            for logged, result in pairs
            if result.ok and result.id is not None
        ]
        uow.snapshots.prefetch((write.system, write.object, record) for write, record in landed)
        uow.links.prefetch(
            records=[(w.system, w.object, record) for w, record in landed if w.id is None]
        )
        for logged, result in pairs:
            write = logged.write
            if result.ok and result.id is not None:
                _landed(uow, logged, result.id)
                sent.written[write.system] = sent.written.get(write.system, 0) + 1
                continue
            reason = str(result.failure) if result.failure is not None else "no id answered"
            fix = _fix(result)
            if fix is not None:
                # No timer can make these values pass: the next decision writes the record anew.
                uow.writes.refuse(logged.key)
                reason = f"{reason}. To fix: {fix}; it is written again when the lead changes"
            uow.parked.park(
                write.system,
                write.object,
                _parked_key(write, logged.lead_id),
                reason,
                now=now,
                retry_at=None if fix is not None else now + backoff(logged.attempts + 1),
                lead_id=logged.lead_id,
            )
            sent.refused[write.system] = sent.refused.get(write.system, 0) + 1


def _fix(result: WriteResult) -> str | None:
    """What a person must fix when the service refused the write's values; None otherwise."""
    if result.failure is None or result.action is not Action.PARK:
        return None
    rule = refused_values(result.failure)
    return rule.why if rule is not None else None


def _landed(uow: UnitOfWork, logged: LoggedWrite, record: str) -> None:
    write = logged.write
    uow.writes.confirm(logged.key, record)
    # What the record shows now: what it showed with the write's steps over it, in order
    # (Snapshots.put merges them into the snapshot it holds, without copying it).
    written: dict[str, Value] = {}
    for step in write.steps:
        written.update(step)
    uow.snapshots.put(write.system, write.object, record, written, origin="write")
    uow.parked.unpark(write.system, write.object, _parked_key(write, logged.lead_id))
    if write.id is None:
        email = next(
            (
                value
                for step in write.steps
                for name, value in step.items()
                if name.lower() == "email" and isinstance(value, str) and value
            ),
            None,
        )
        uow.links.link(logged.lead_id, write.system, write.object, record, email=email)
