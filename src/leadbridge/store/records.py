"""The journal of transitions, the write log, and parked records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadbridge.model import Cause, RecordWrite, System, Transition
from leadbridge.store import codec
from leadbridge.store._sql import chunks, insert
from leadbridge.store.tables import journal, parked, write_log

_PLANNED, _SENT, _CONFIRMED, _REFUSED = "planned", "sent", "confirmed", "refused"


def _write_json(write: RecordWrite) -> dict[str, Any]:
    return {
        "system": write.system.value,
        "object": write.object,
        "id": write.id,
        "steps": [codec.encode_values(step) for step in write.steps],
        "key": None if write.key is None else list(write.key),
    }


def write_key(lead_id: str, write: RecordWrite, cause: str) -> str:
    """The idempotency key of a write: the same write for the same cause is the same key.

    The cause (e.g. the inbox item) is part of it because the same values
    can rightly be written again later, after someone changed them back.
    """
    body = json.dumps([lead_id, cause, _write_json(write)], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    lead_id: str
    transition: Transition
    writes: list[dict[str, Any]]  # _write_json of each record written for it


@dataclass(frozen=True, slots=True)
class LoggedWrite:
    key: str
    lead_id: str
    status: str  # planned | sent | confirmed | refused
    attempts: int
    write: RecordWrite  # with the created record's id once confirmed


@dataclass(frozen=True, slots=True)
class ParkedRecord:
    system: System
    object: str
    record_id: str
    lead_id: str | None
    reason: str
    first_seen: datetime
    last_seen: datetime
    attempts: int
    next_retry_at: datetime | None


class Journal:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def append(
        self, lead_id: str, transitions: Sequence[Transition], writes: Sequence[RecordWrite] = ()
    ) -> int:
        """Journal transitions once: one already journaled for its (lead, cause, rule) is
        skipped, so replaying a change adds nothing. Returns how many were new."""
        if not transitions:
            return 0
        written = [_write_json(write) for write in writes]
        rows = [
            {
                "lead_id": lead_id,
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "rule": t.rule,
                "reason": t.reason,
                "cause_system": t.cause.system.value,
                "cause_object": t.cause.object,
                "cause_id": t.cause.id,
                "cause_modified_at": codec.iso(t.cause.modified_at),
                "at": codec.iso(t.at),
                "writes": written,
            }
            for t in transitions
        ]
        statement = (
            insert(self._connection, journal)
            .on_conflict_do_nothing(
                index_elements=[
                    "lead_id",
                    "cause_system",
                    "cause_object",
                    "cause_id",
                    "cause_modified_at",
                    "rule",
                ]
            )
            .returning(journal.c.id)
        )
        return len(self._connection.execute(statement, rows).all())

    def entries(self, lead_id: str) -> list[JournalEntry]:
        """The lead's story, oldest first (for `leadbridge explain`)."""
        statement = (
            sa.select(journal)
            .where(journal.c.lead_id == lead_id)
            .order_by(journal.c.at, journal.c.id)
        )
        return [journal_entry(row) for row in self._connection.execute(statement).mappings()]


class WriteLog:
    """Every record write, logged before it is sent.

    planned -> sent (committed before the call leaves) -> confirmed (with
    the results). After a crash, a write still planned or sent is in
    `unfinished()`: the sync sends it again (writes are idempotent: updates
    of fixed values, creates by upsert) or reads the record back to confirm it.
    A write the service refused for its values is `refused`: finished, never sent
    again. The next decision for its lead plans its record's values afresh (they
    never landed, so they are still a difference) as a new write.
    """

    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def begin(self, key: str, lead_id: str, write: RecordWrite) -> bool:
        """Log a planned write; False if this key was logged before (do not plan it twice)."""
        now = codec.iso(self._clock())
        data = _write_json(write)
        row = {
            "key": key,
            "lead_id": lead_id,
            "system": data["system"],
            "object": data["object"],
            "record_id": data["id"],
            "upsert_key": data["key"],
            "steps": data["steps"],
            "status": _PLANNED,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        statement = (
            insert(self._connection, write_log)
            .values(row)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(write_log.c.key)
        )
        return self._connection.execute(statement).first() is not None

    def sent(self, keys: Iterable[str]) -> None:
        now = codec.iso(self._clock())
        for part in chunks(sorted(set(keys))):
            self._connection.execute(
                write_log.update()
                .where(write_log.c.key.in_(part), write_log.c.status != _CONFIRMED)
                .values(status=_SENT, attempts=write_log.c.attempts + 1, updated_at=now)
            )

    def confirm(self, key: str, record_id: str | None = None) -> None:
        """The write is done; `record_id` is the id of a record the write created."""
        values: dict[str, Any] = {"status": _CONFIRMED, "updated_at": codec.iso(self._clock())}
        if record_id is not None:
            values["record_id"] = record_id
        self._connection.execute(write_log.update().where(write_log.c.key == key).values(values))

    def refuse(self, key: str) -> None:
        """The service refused the write's values: sending them again cannot help."""
        self._connection.execute(
            write_log.update()
            .where(write_log.c.key == key, write_log.c.status != _CONFIRMED)
            .values(status=_REFUSED, updated_at=codec.iso(self._clock()))
        )

    def get(self, key: str) -> LoggedWrite | None:
        statement = sa.select(write_log).where(write_log.c.key == key)
        row = self._connection.execute(statement).mappings().one_or_none()
        return None if row is None else _logged(row)

    def unfinished(self) -> list[LoggedWrite]:
        """Writes planned or sent but never confirmed, oldest first: the crash's loose ends."""
        statement = (
            sa.select(write_log)
            .where(write_log.c.status.in_([_PLANNED, _SENT]))
            .order_by(write_log.c.created_at, write_log.c.key)
        )
        return [_logged(row) for row in self._connection.execute(statement).mappings()]


class Parked:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def park(
        self,
        system: System,
        obj: str,
        record_id: str,
        reason: str,
        *,
        now: datetime,
        retry_at: datetime | None = None,
        lead_id: str | None = None,
    ) -> ParkedRecord:
        """Park a record, or count one more failed attempt of a parked one (latest reason).
        `retry_at` None: nothing is tried again on a timer; the record waits for a person."""
        key = {"system": system.value, "object": obj, "record_id": record_id}
        stamp = codec.iso(now)
        statement = insert(self._connection, parked).values(
            **key,
            lead_id=lead_id,
            reason=reason,
            first_seen=stamp,
            last_seen=stamp,
            attempts=1,
            next_retry_at=None if retry_at is None else codec.iso(retry_at),
        )
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={
                "lead_id": sa.func.coalesce(statement.excluded.lead_id, parked.c.lead_id),
                "reason": statement.excluded.reason,
                "last_seen": statement.excluded.last_seen,
                "attempts": parked.c.attempts + 1,
                "next_retry_at": statement.excluded.next_retry_at,
            },
        )
        row = self._connection.execute(statement.returning(parked)).mappings().one()
        return _parked(row)

    def unpark(self, system: System, obj: str, record_id: str) -> bool:
        result = self._connection.execute(
            parked.delete().where(
                parked.c.system == system.value,
                parked.c.object == obj,
                parked.c.record_id == record_id,
            )
        )
        return result.rowcount > 0

    def holding(self, lead_id: str, reason_prefix: str) -> str | None:
        """The reason a person must act before this lead is decided or written again: one of
        its records parked for good (no retry) with a reason of this kind; None: not held."""
        statement = (
            sa.select(parked.c.reason)
            .where(
                parked.c.lead_id == lead_id,
                parked.c.next_retry_at.is_(None),
                parked.c.reason.startswith(reason_prefix, autoescape=True),
            )
            .limit(1)
        )
        reason = self._connection.execute(statement).scalar_one_or_none()
        return None if reason is None else str(reason)

    def held_leads(self, reason_prefix: str) -> set[str]:
        statement = sa.select(parked.c.lead_id).where(
            parked.c.lead_id.is_not(None),
            parked.c.next_retry_at.is_(None),
            parked.c.reason.startswith(reason_prefix, autoescape=True),
        )
        return {str(lead) for lead in self._connection.execute(statement).scalars()}

    def listing(self) -> list[ParkedRecord]:
        """Everything parked, oldest first: what `leadbridge parked` shows."""
        statement = sa.select(parked).order_by(
            parked.c.first_seen, parked.c.system, parked.c.object, parked.c.record_id
        )
        return [_parked(row) for row in self._connection.execute(statement).mappings()]

    def due(self, now: datetime) -> list[ParkedRecord]:
        """Parked records whose next retry has come."""
        statement = (
            sa.select(parked)
            .where(parked.c.next_retry_at <= codec.iso(now))
            .order_by(parked.c.next_retry_at)
        )
        return [_parked(row) for row in self._connection.execute(statement).mappings()]

    def count(self) -> int:
        return int(
            self._connection.execute(sa.select(sa.func.count()).select_from(parked)).scalar_one()
        )


def journal_entry(row: sa.RowMapping) -> JournalEntry:
    cause = Cause(
        System(row["cause_system"]),
        row["cause_object"],
        row["cause_id"],
        codec.from_iso(row["cause_modified_at"]),
    )
    transition = Transition(
        row["from_stage"],
        row["to_stage"],
        row["rule"],
        row["reason"],
        cause,
        codec.from_iso(row["at"]),
    )
    return JournalEntry(int(row["id"]), row["lead_id"], transition, list(row["writes"]))


def _logged(row: sa.RowMapping) -> LoggedWrite:
    upsert_key = row["upsert_key"]
    write = RecordWrite(
        system=System(row["system"]),
        object=row["object"],
        id=row["record_id"],
        steps=tuple(codec.decode_values(step) for step in row["steps"]),
        key=None if upsert_key is None else (str(upsert_key[0]), str(upsert_key[1])),
    )
    return LoggedWrite(row["key"], row["lead_id"], row["status"], int(row["attempts"]), write)


def _parked(row: sa.RowMapping) -> ParkedRecord:
    retry = row["next_retry_at"]
    return ParkedRecord(
        system=System(row["system"]),
        object=row["object"],
        record_id=row["record_id"],
        lead_id=row["lead_id"],
        reason=row["reason"],
        first_seen=codec.from_iso(row["first_seen"]),
        last_seen=codec.from_iso(row["last_seen"]),
        attempts=int(row["attempts"]),
        next_retry_at=None if retry is None else codec.from_iso(retry),
    )
