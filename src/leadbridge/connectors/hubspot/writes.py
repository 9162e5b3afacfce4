"""Writing contacts: batch update by id, batch upsert by email, steps in order, one result each.

Calls are spent at the API's maximum: every record's first step goes out in
batches of 100, then every second step, and so on, so a hundred backward
lifecycle moves (clear, then set) cost two update calls and one read-back,
not two hundred. A batch HubSpot refuses whole for one bad value is split
so the good records land and only the bad one is parked with HubSpot's own
message. Every call is idempotent (updates set values, creates are upserts
by email), which is what lets the transport retry a lost answer safely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import orjson

from leadbridge.connectors.base import ApplyPaused, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Action, Failure, RemoteError
from leadbridge.connectors.hubspot.reads import BATCH, OBJECT, read_values
from leadbridge.connectors.hubspot.transport import Answer, Transport
from leadbridge.model import RecordWrite, System, Value

_HS = System.HUBSPOT
_CATEGORY_STATUS = {"OBJECT_NOT_FOUND": 404, "CONFLICT": 409}
_FEW = 4  # suspects tried one by one; more are bisected


@dataclass(eq=False)
class _Task:
    write: RecordWrite
    id: str | None
    created: bool = False
    failure: Failure | None = None
    action: Action | None = None
    answered: int = -1  # the last step HubSpot confirmed

    def key(self) -> str:
        if self.id is not None:
            return self.id
        assert self.write.key is not None  # checked before any task is built
        return _normal(self.write.key[0], self.write.key[1])

    def fail(self, failure: Failure, action: Action) -> None:
        if self.failure is None:
            self.failure, self.action = failure, action

    @property
    def alive(self) -> bool:
        return self.failure is None


@dataclass
class _Round:
    """One step of every record that still has one, sent as updates or as upserts."""

    step: int
    upsert: bool
    tasks: list[_Task] = field(default_factory=list)

    def values(self, task: _Task) -> dict[str, str]:
        return {name: remote_value(v) for name, v in task.write.steps[self.step].items()}


def remote_value(value: Value) -> str:
    """HubSpot's wire form: every property value is a string; "" clears one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        utc = moment.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def apply(transport: Transport, writes: Sequence[RecordWrite]) -> list[WriteResult]:
    """One result per write, in order. Fatal RemoteErrors propagate. A daily budget spent
    part-way raises ApplyPaused with the writes settled before it: the rest are idempotent,
    so sending them again after the pause is safe."""
    tasks = [_Task(write, write.id) for write in writes]
    for task in tasks:
        _refuse_unwritable(task)
    rounds = max((len(t.write.steps) for t in tasks if t.alive), default=0)
    try:
        for step in range(rounds):
            _run_step(transport, tasks, step)
        _verify(transport, [t for t in tasks if t.alive and len(t.write.steps) > 1])
    except BudgetPaused as paused:
        # A multi-step write is settled only once read back, and the read-back comes last.
        settled = [t for t in tasks if not t.alive or (len(t.write.steps) <= 1 and t.answered == 0)]
        raise ApplyPaused(paused, [_result(t) for t in settled]) from None
    return [_result(t) for t in tasks]


def _result(task: _Task) -> WriteResult:
    action = task.action if task.failure else None
    return WriteResult(task.write, task.id, task.created, task.failure, action)


def _run_step(transport: Transport, tasks: list[_Task], step: int) -> None:
    """Sends this step of every live record that has one: upserts first, then updates."""
    active = [t for t in tasks if t.alive and step < len(t.write.steps)]
    for task in active:
        if not task.write.steps[step]:
            task.answered = step  # nothing to write in this step
    pending = [t for t in active if t.answered < step]
    for upsert in (True, False):
        # An upsert answered in this pass has an id now, and is not sent again as an update.
        chosen = [t for t in pending if t.answered < step and (t.id is None) is upsert]
        _send_layered(transport, _Round(step, upsert, chosen))


def _send_layered(transport: Transport, batch: _Round) -> None:
    """Sends a round's tasks layer by layer, each layer in batches of the API's maximum."""
    for layer in _layers(batch.tasks):
        for start in range(0, len(layer), BATCH):
            _send(transport, _Round(batch.step, batch.upsert, layer[start : start + BATCH]))


def _refuse_unwritable(task: _Task) -> None:
    write = task.write
    why = None
    if write.system is not _HS or write.object != OBJECT:
        why = f"the HubSpot connector writes contacts, not {write.system} {write.object}"
    elif write.id is None and (write.key is None or not write.key[1]):
        why = "a create needs a key (email, value) to upsert by, so a retry cannot duplicate it"
    if why is not None:
        task.fail(Failure(_HS, None, "UNSUPPORTED_WRITE", why), Action.PARK)


def _layers(tasks: list[_Task]) -> Iterator[list[_Task]]:
    """HubSpot refuses a batch naming one record twice: the n-th write to a record goes in
    the n-th layer, and layers are sent in order, so later writes land later."""
    layers: list[list[_Task]] = []
    count: dict[str, int] = {}
    for task in tasks:
        key = task.key()
        index = count.get(key, 0)
        count[key] = index + 1
        if index == len(layers):
            layers.append([])
        layers[index].append(task)
    yield from layers


def _send(transport: Transport, batch: _Round) -> None:
    inputs: list[dict[str, Any]] = []
    for task in batch.tasks:
        item: dict[str, Any] = {"id": task.id, "properties": batch.values(task)}
        if batch.upsert:
            assert task.write.key is not None
            item.update(idProperty=task.write.key[0], id=task.write.key[1])
        inputs.append(item)
    api = transport.batch.upsert if batch.upsert else transport.batch.update
    kind = "upsert" if batch.upsert else "update"
    try:
        answer = transport.call(kind, partial(api, {"inputs": inputs}))
    except RemoteError as exc:
        if exc.action is Action.FAIL:
            raise
        if exc.action is not Action.PARK:  # retries ran out: the sync tries again later
            for task in batch.tasks:
                task.fail(exc.failure, exc.action)
        elif len(batch.tasks) == 1:
            batch.tasks[0].fail(exc.failure, Action.PARK)
        else:
            for part in _split(batch, exc.failure):
                _send(transport, _Round(batch.step, batch.upsert, part))
        return
    _settle(batch, answer)


def _split(batch: _Round, failure: Failure) -> list[list[_Task]]:
    """Parts of a batch HubSpot refused whole. Its message names the bad properties (and
    quotes the bad values): records without them go out together at once; the suspects go
    one by one, or halved when many, so only the bad record is parked."""
    details = _details(failure.message)

    def quoting(test: Callable[[str, str], bool]) -> list[_Task]:
        return [
            task
            for task in batch.tasks
            if any(
                (v := batch.values(task).get(name)) is not None and test(v, message)
                for name, message in details
            )
        ]

    # HubSpot's detail begins with the bad value ("X was not one of the allowed options:
    # [...]"); the options it lists would make every record look guilty by `in`.
    suspects = (
        quoting(lambda value, message: bool(value) and message.startswith(value + " "))
        or quoting(lambda value, message: bool(value) and value in message)
        or quoting(lambda value, message: True)
    )
    if not suspects or len(suspects) == len(batch.tasks):
        half = len(batch.tasks) // 2
        return [batch.tasks[:half], batch.tasks[half:]]
    good = [t for t in batch.tasks if t not in suspects]
    if len(suspects) <= _FEW:
        return [good, *([t] for t in suspects)]
    half = len(suspects) // 2
    return [good, suspects[:half], suspects[half:]]


def _details(message: str) -> list[tuple[str, str]]:
    """(property, message) pairs from "Property values were not valid: [{...}]"."""
    start = message.find("[")
    if start < 0:
        return []
    try:
        parsed = orjson.loads(message[start:])
    except orjson.JSONDecodeError:
        return []
    if not isinstance(parsed, list):
        return []
    return [
        (str(item["name"]), str(item.get("message", "")))
        for item in parsed
        if isinstance(item, dict) and item.get("name")
    ]


def _settle(batch: _Round, answer: Answer) -> None:
    """Per-record outcomes of a 200 or a 207: results by id (or by email for upserts)."""
    body = answer.body or {}
    by_key = {task.key(): task for task in batch.tasks}
    unmatched = _confirm_results(batch, by_key, body.get("results") or ())
    _park_errors(batch, by_key, body.get("errors") or ())
    _settle_silent(batch, answer, unmatched)


def _confirm_results(
    batch: _Round, by_key: dict[str, _Task], results: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Confirms each result's task, found by key or by merge trail; returns the results
    that match no task."""
    unmatched: list[dict[str, Any]] = []
    for raw in results:
        task = by_key.get(_result_key(batch, raw))
        if task is None:
            task = _merged_task(by_key, raw)
        if task is None:
            unmatched.append(raw)
            continue
        _confirm(batch, task, raw)
    return unmatched


def _park_errors(batch: _Round, by_key: dict[str, _Task], errors: Iterable[dict[str, Any]]) -> None:
    """Parks the records a 207's errors name, with HubSpot's category and message, unless
    a result already confirmed them."""
    for error in errors:
        category = str(error.get("category") or "ERROR")
        failure = Failure(
            _HS, _CATEGORY_STATUS.get(category, 400), category, str(error.get("message") or "")
        )
        for key in (error.get("context") or {}).get("ids") or ():
            task = by_key.get(_normal(_key_name(batch), str(key)))
            if task is not None and task.answered < batch.step:
                task.fail(failure, Action.PARK)


def _settle_silent(batch: _Round, answer: Answer, unmatched: list[dict[str, Any]]) -> None:
    """Live records that neither a result nor an error named: matched to the unmatched
    results by position when the counts agree, else left to retry."""
    silent = [t for t in batch.tasks if t.alive and t.answered < batch.step]
    if len(silent) == len(unmatched):
        # Answers come back in input order; a record that moved (merged) keeps its slot.
        for task, raw in zip(silent, unmatched, strict=True):
            _confirm(batch, task, raw)
        return
    for task in silent:
        failure = Failure(_HS, answer.status, "NO_RESULT", "HubSpot answered nothing for it")
        task.fail(failure, Action.RETRY)


def _key_name(batch: _Round) -> str:
    if batch.upsert and batch.tasks and batch.tasks[0].write.key is not None:
        return batch.tasks[0].write.key[0]
    return "hs_object_id"


def _result_key(batch: _Round, raw: dict[str, Any]) -> str:
    if not batch.upsert:
        return str(raw.get("id"))
    name = _key_name(batch)
    value = (raw.get("properties") or {}).get(name)
    return _normal(name, str(value)) if value is not None else ""


def _merged_task(by_key: dict[str, _Task], raw: dict[str, Any]) -> _Task | None:
    trail = (raw.get("properties") or {}).get("hs_merged_object_ids") or ""
    return next((by_key[old] for old in trail.split(";") if old in by_key), None)


def _confirm(batch: _Round, task: _Task, raw: dict[str, Any]) -> None:
    task.id = str(raw["id"])
    task.answered = batch.step
    if batch.upsert:
        task.created = bool(raw.get("new"))


def _normal(name: str, value: str) -> str:
    return value.strip().lower() if name == "email" else value


def _verify(transport: Transport, tasks: list[_Task]) -> None:
    """Reads back what multi-step writes meant to leave, because HubSpot ignores a backward
    lifecycle move it does not like without a word."""
    if not tasks:
        return
    wanted = {id(t): _final(t.write) for t in tasks}
    names = sorted({name for values in wanted.values() for name in values})
    try:
        current = read_values(transport, names, [t.id for t in tasks if t.id is not None])
    except RemoteError as exc:
        if exc.action is Action.FAIL:
            raise
        for task in tasks:  # written, but unproven: the sync writes it again later
            task.fail(exc.failure, exc.action)
        return
    for task in tasks:
        shown = current.get(task.id or "")
        if shown is None:
            why = "the record is gone when read back after the write"
            task.fail(Failure(_HS, 404, "NOT_VERIFIED", why), Action.PARK)
            continue
        for name, value in wanted[id(task)].items():
            if not _same(value, shown.get(name)):
                why = (
                    f"{name} reads {shown.get(name)!r} after the steps were written, not "
                    f"{value!r}: HubSpot did not take the value"
                )
                task.fail(Failure(_HS, 200, "NOT_VERIFIED", why), Action.PARK)
                break


def _final(write: RecordWrite) -> dict[str, str]:
    merged: dict[str, str] = {}
    for step in write.steps:
        merged.update({name: remote_value(value) for name, value in step.items()})
    return merged


def _same(written: str, shown: Any) -> bool:
    """HubSpot stores some values in its own form (emails lower-cased, numbers, times)."""
    text = "" if shown is None else str(shown)
    if written == text or written.lower() == text.lower():
        return True
    try:
        return float(written) == float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(written) == datetime.fromisoformat(text)
    except ValueError:
        return False
