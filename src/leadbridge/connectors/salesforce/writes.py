"""Writing Salesforce: sObject Collections at 200 records a call, one result per record.

Updates go through PATCH composite/sobjects, creates through the collection
upsert PATCH composite/sobjects/{object}/{external id field}, both with
allOrNone=false so one bad record never holds back the other 199. Creating by
upsert is what lets a whole request be retried safely: if the answer to a
create is lost, the retry finds the record by its external id instead of
making a second one (POST composite/sobjects would duplicate, so we never use
it). The same holds for updates by id: the second time sets the same values.

A write with several steps (RecordWrite.steps) is sent one step per round;
a record that failed a step sends no later step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any

from leadbridge.connectors.base import ApplyPaused, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import RETRIABLE, Action, Failure, RemoteError, action_for
from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.soql import identifier
from leadbridge.model import RecordWrite, System, Value, Values

_SF = System.SALESFORCE
_MAX_RECORDS = 200  # sObject Collections' limit per call

__all__ = ["ApplyPaused", "apply"]


@dataclass
class _Slot:
    """One write's progress through its steps."""

    write: RecordWrite
    id: str | None
    created: bool = False
    failure: Failure | None = None
    action: Action | None = None
    done_steps: int = 0

    @property
    def settled(self) -> bool:
        return self.failure is not None or self.done_steps == len(self.write.steps)

    def result(self) -> WriteResult:
        return WriteResult(self.write, self.id, self.created, self.failure, self.action)


def apply(client: SalesforceClient, writes: Sequence[RecordWrite]) -> list[WriteResult]:
    for write in writes:
        _check(write)
    slots = [_Slot(write, write.id) for write in writes]
    rounds = max((len(write.steps) for write in writes), default=0)
    sender = _Sender(client)
    try:
        for step in range(rounds):
            _send_round(sender, slots, step)
    except BudgetPaused as paused:
        raise ApplyPaused(paused, [s.result() for s in slots if s.settled]) from None
    return [slot.result() for slot in slots]


def _send_round(sender: _Sender, slots: list[_Slot], step: int) -> None:
    """Sends step `step` of every write that has one and has not failed: creates, then updates."""
    live = [s for s in slots if step < len(s.write.steps) and s.failure is None]
    # Split before sending: a create answered in this round has an id, not a second step.
    creates, updates = _split(live)
    _send_creates(sender, creates, step)
    _send_updates(sender, updates, step)


def _split(live: list[_Slot]) -> tuple[list[_Slot], list[_Slot]]:
    """The creates, grouped by upsert target, and the updates, grouped by object."""
    creates = sorted((s for s in live if s.id is None), key=_create_target)
    # Mixed types share a collection; sorted, each type is one chunk of the call.
    updates = sorted((s for s in live if s.id is not None), key=lambda s: s.write.object)
    return creates, updates


def _send_creates(sender: _Sender, creates: list[_Slot], step: int) -> None:
    # The upsert path names one object and one external id field, so each pair is its own call.
    for (sobject, key_field), group in groupby(creates, key=_create_target):
        path = f"composite/sobjects/{sobject}/{key_field}"
        for chunk in _chunks(list(group)):
            sender.send(path, [_body(s, step, create=True) for s in chunk], chunk)


def _send_updates(sender: _Sender, updates: list[_Slot], step: int) -> None:
    for chunk in _chunks(updates):
        sender.send("composite/sobjects", [_body(s, step) for s in chunk], chunk)


class _Sender:
    """Sends collections; once one has spent its retries on a transient fault, the rest of
    this apply() is not sent (each write carries that fault, to try again next cycle), so an
    org that is down costs one request's retries, not every chunk's."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.halted: RemoteError | None = None

    def send(self, path: str, records: list[dict[str, Any]], slots: list[_Slot]) -> None:
        if self.halted is not None:
            _fail_all(slots, self.halted)
            return
        body = {"allOrNone": False, "records": records}
        try:
            answer = self.client.call(lambda sf: sf.restful(path, method="PATCH", json=body))
        except RemoteError as exc:
            if exc.action is Action.FAIL:
                raise  # credentials, permissions or our own bug: every later call would fail too
            if exc.action in RETRIABLE:
                self.halted = exc
            # Otherwise the request itself was refused (PARK): other requests may still land.
            _fail_all(slots, exc)
            return
        if not isinstance(answer, list) or len(answer) != len(slots):
            shown = f"{len(slots)} records sent, answer: {answer!r}"[:300]
            raise RemoteError(Failure(_SF, 200, "UNEXPECTED_ANSWER", shown))
        for slot, result in zip(slots, answer, strict=True):
            _record(slot, result)


def _fail_all(slots: list[_Slot], error: RemoteError) -> None:
    for slot in slots:
        slot.failure, slot.action = error.failure, error.action


def _record(slot: _Slot, result: Any) -> None:
    if isinstance(result, dict) and result.get("success"):
        if slot.id is None:
            slot.id = str(result.get("id"))
            slot.created = bool(result.get("created", False))
        slot.done_steps += 1
        return
    raw = result.get("errors") if isinstance(result, dict) else None
    errors = [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    first = errors[0] if errors else {}
    # Salesforce may give several reasons; the first names the code, all are kept for a person.
    message = "; ".join(str(e.get("message", "")) for e in errors) or "no error given"
    failure = Failure(_SF, 200, str(first.get("statusCode", "UNKNOWN")), message)
    slot.failure, slot.action = failure, action_for(failure)
    if slot.id is None and isinstance(result, dict) and result.get("id"):
        slot.id = str(result["id"])


def _body(slot: _Slot, step: int, *, create: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": slot.write.object}}
    if create:
        assert slot.write.key is not None  # _check made sure
        record[slot.write.key[0]] = slot.write.key[1]
    else:
        record["Id"] = slot.id
    record.update(_json_values(slot.write.steps[step]))
    return record


def _json_values(values: Values) -> dict[str, Any]:
    return {name: _json(value) for name, value in values.items()}


def _json(value: Value) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime written to Salesforce needs a time zone")
        return (
            value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{value.microsecond // 1000:03d}Z"
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


def _create_target(slot: _Slot) -> tuple[str, str]:
    assert slot.write.key is not None
    return slot.write.object, slot.write.key[0]


def _chunks(slots: list[_Slot]) -> Iterator[list[_Slot]]:
    for start in range(0, len(slots), _MAX_RECORDS):
        yield slots[start : start + _MAX_RECORDS]


def _check(write: RecordWrite) -> None:
    """Writes the planner should never make: refused before anything is sent."""
    if write.system is not _SF:
        raise ValueError(f"a {write.system} write was handed to the Salesforce connector")
    identifier(write.object)  # it goes into the request path
    if write.id is None and (write.key is None or not write.key[1]):
        raise ValueError(
            f"a {write.object} create needs key=(external id field, value): "
            "only an upsert by external id is safe to retry"
        )
    if write.id is None and write.key is not None:
        identifier(write.key[0])
