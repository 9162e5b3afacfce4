"""The journal of transitions, the write log, and parked records."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadbridge.model import Cause, RecordWrite, System, Transition, Value, value_object
from leadbridge.store import codec
from leadbridge.store._sql import chunks, execute_many, insert, insert_new, quietly, select_in
from leadbridge.store.tables import journal, parked, write_log

_PLANNED, _SENT, _CONFIRMED, _REFUSED = "planned", "sent", "confirmed", "refused"


def _write_json(write: RecordWrite) -> dict[str, Any]:
    return {
        "system": codec.SYSTEM_TEXT[write.system],
        "object": write.object,
        "id": write.id,
        "steps": [step if type(step) is dict else dict(step) for step in write.steps],
        "key": None if write.key is None else list(write.key),
    }


_INBOX_CAUSE = re.compile(r"inbox:(\d{1,14})")  # ids that fit 12 hex digits


def write_key(lead_id: str, write: RecordWrite, cause: str) -> str:
    """The idempotency key of a write: the same write for the same cause is the same key.

    The cause (e.g. the inbox item) is part of it because the same values
    can rightly be written again later, after someone changed them back.

    A write caused by an inbox item leads with the item's id (12 hex digits, then 52 of
    the digest: the column holds 64). The log's primary key then keeps a round's writes
    side by side at its end, like the items they came from; keyed by the digest alone,
    a round's thousands of inserts, and each "sent" and "confirmed" update after them,
    landed on pages all over the index (at 100,000 people, ~1,700 pages a round).
    """
    digest = hashlib.sha256(codec.sorted_json([lead_id, cause, _write_json(write)])).hexdigest()
    item = _INBOX_CAUSE.fullmatch(cause)
    return digest if item is None else f"{int(item[1]):012x}{digest[:52]}"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    lead_id: str
    transition: Transition
    writes: list[dict[str, Any]]  # _write_json of each record written for it


@value_object
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
    """The journal table; entries appended are buffered and inserted in one statement at
    `flush` (the unit of work flushes before any other statement, `entries` included)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._rows: list[dict[str, Any]] = []

    def append(
        self, lead_id: str, transitions: Sequence[Transition], writes: Sequence[RecordWrite] = ()
    ) -> None:
        """Journal transitions once: one already journaled for its (lead, cause, rule) is
        skipped, so replaying a change adds nothing."""
        if not transitions:
            return
        written = [_write_json(write) for write in writes]
        rows = [
            {
                "lead_id": lead_id,
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "rule": t.rule,
                "reason": t.reason,
                "cause_system": codec.SYSTEM_TEXT[t.cause.system],
                "cause_object": t.cause.object,
                "cause_id": t.cause.id,
                "cause_modified_at": codec.iso(t.cause.modified_at),
                "at": codec.iso(t.at),
                "writes": written,
            }
            for t in transitions
        ]
        self._rows.extend(rows)

    def flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        statement = insert_new(self._connection.dialect.name, journal, _JOURNAL_KEY)
        with quietly(self._connection) as connection:
            execute_many(connection, statement, rows)

    def entries(self, lead_id: str) -> list[JournalEntry]:
        """The lead's story, oldest first (for `leadbridge explain`)."""
        statement = (
            sa.select(journal)
            .where(journal.c.lead_id == lead_id)
            .order_by(journal.c.at, journal.c.id)
        )
        return [journal_entry(row) for row in self._connection.execute(statement).mappings()]


_JOURNAL_KEY = ("lead_id", "cause_system", "cause_object", "cause_id", "cause_modified_at", "rule")
# The log's updates by key, built once (store._sql.execute_many keeps them compiled).
_BY_KEY = write_log.update().where(write_log.c.key == sa.bindparam("k"))
_CONFIRMED_AS = _BY_KEY.values(
    record_id=sa.bindparam("r"), status=_CONFIRMED, updated_at=sa.bindparam("at")
)
_CONFIRMED_ONLY = _BY_KEY.values(status=_CONFIRMED, updated_at=sa.bindparam("at"))


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
        self._begun: dict[str, dict[str, Any]] = {}  # to insert
        self._confirmed: dict[str, str | None] = {}  # key -> created record's id

    def begin(self, key: str, lead_id: str, write: RecordWrite) -> None:
        """Log a planned write (buffered until `flush`); a key logged before stays as it was,
        so the same write for the same cause is never planned twice."""
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
        self._begun.setdefault(key, row)

    def sent(self, keys: Iterable[str]) -> None:
        now = codec.iso(self._clock())
        for part in chunks(sorted(set(keys))):
            self._connection.execute(
                write_log.update()
                .where(write_log.c.key.in_(part), write_log.c.status != _CONFIRMED)
                .values(status=_SENT, attempts=write_log.c.attempts + 1, updated_at=now)
            )

    def confirm(self, key: str, record_id: str | None = None) -> None:
        """The write is done (buffered until `flush`); `record_id` is the id of a record the
        write created."""
        self._confirmed[key] = record_id or self._confirmed.get(key)

    def flush(self) -> None:
        """The planned writes in one insert, the confirmations in one update each kind."""
        begun, self._begun = list(self._begun.values()), {}
        confirmed, self._confirmed = self._confirmed, {}
        with quietly(self._connection) as connection:
            if begun:
                statement = insert_new(connection.dialect.name, write_log, ("key",))
                execute_many(connection, statement, begun)
            now = codec.iso(self._clock())
            with_id = [
                {"k": k, "r": r, "at": now} for k, r in sorted(confirmed.items()) if r is not None
            ]
            without = [{"k": k, "at": now} for k, r in sorted(confirmed.items()) if r is None]
            if with_id:
                execute_many(connection, _CONFIRMED_AS, with_id)
            if without:
                execute_many(connection, _CONFIRMED_ONLY, without)

    def refuse(self, key: str) -> None:
        """The service refused the write's values: sending them again cannot help."""
        self._connection.execute(
            write_log.update()
            .where(write_log.c.key == key, write_log.c.status != _CONFIRMED)
            .values(status=_REFUSED, updated_at=codec.iso(self._clock()))
        )

    def get(self, key: str) -> LoggedWrite | None:
        statement = sa.select(*_LOGGED).where(write_log.c.key == key)
        row = self._connection.execute(statement).one_or_none()
        return None if row is None else _logged(*row)

    def unfinished(self) -> list[LoggedWrite]:
        """Writes planned or sent but never confirmed, oldest first: the crash's loose ends."""
        rows = self._connection.execute(_UNFINISHED).all()  # one fetch, not per row
        return [_logged(*row) for row in rows]


_UNPARK = parked.delete().where(
    parked.c.system == sa.bindparam("s"),
    parked.c.object == sa.bindparam("o"),
    parked.c.record_id == sa.bindparam("r"),
)


class Parked:
    """The parked table. Which leads are held is remembered for the transaction; records
    unparked are buffered and deleted in one statement at `flush`."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        # lead -> its records parked for good, with their reasons (complete per cached lead)
        self._held: dict[str, dict[tuple[str, str, str], str]] = {}
        self._held_by: dict[tuple[str, str, str], str] = {}  # record -> the lead it holds
        self._unparked: set[tuple[str, str, str]] = set()

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

    def unpark(self, system: System, obj: str, record_id: str) -> None:
        """The record is parked no more (buffered until `flush`)."""
        key = (codec.SYSTEM_TEXT[system], obj, record_id)
        self._unparked.add(key)
        lead = self._held_by.pop(key, None)
        if lead is not None:
            self._held.get(lead, {}).pop(key, None)

    def holding(self, lead_id: str, reason_prefix: str) -> str | None:
        """The reason a person must act before this lead is decided or written again: one of
        its records parked for good (no retry) with a reason of this kind; None: not held."""
        if lead_id not in self._held:
            self.prefetch([lead_id])
        reasons = sorted(self._held[lead_id].values())
        return next((reason for reason in reasons if reason.startswith(reason_prefix)), None)

    def prefetch(self, lead_ids: Iterable[str]) -> None:
        """Learn which of these leads have records parked for good, one IN-list for all."""
        wanted = {lead for lead in lead_ids if lead not in self._held}
        if not wanted:
            return
        self.flush()
        columns = ("lead_id", "system", "object", "record_id", "reason", "next_retry_at")
        with quietly(self._connection) as connection:
            for lead, system, obj, record, reason, retry_at in select_in(
                connection, parked, columns, "lead_id", sorted(wanted)
            ):
                if retry_at is None:  # parked for good: it holds its lead
                    self._held.setdefault(lead, {})[(system, obj, record)] = str(reason)
                    self._held_by[(system, obj, record)] = lead
        for lead in wanted:
            self._held.setdefault(lead, {})

    def flush(self) -> None:
        if not self._unparked:
            return
        unparked, self._unparked = self._unparked, set()
        # Every write that lands unparks its record, and almost none was parked: the rows
        # there are found first (a look-up per system and object), and only those deleted.
        groups: dict[tuple[str, str], list[str]] = {}
        for system, obj, record in unparked:
            groups.setdefault((system, obj), []).append(record)
        gone: list[tuple[str, str, str]] = []
        with quietly(self._connection) as connection:
            for (system, obj), records in sorted(groups.items()):
                found = select_in(
                    connection,
                    parked,
                    ("record_id",),
                    "record_id",
                    sorted(records),
                    {"system": system, "object": obj},
                )
                gone.extend((system, obj, row[0]) for row in found)
            if not gone:
                return
            rows = [{"s": s, "o": o, "r": r} for s, o, r in sorted(gone)]  # in key order
            execute_many(connection, _UNPARK, rows)

    def forget(self) -> None:
        self._held.clear()
        self._held_by.clear()

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
        codec.system_of(row["cause_system"]),
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


# The columns a LoggedWrite is made of, in `_logged`'s order: rows are taken apart by
# place (every write of a first sync is read back once before it is sent).
_LOGGED = (
    write_log.c.key,
    write_log.c.lead_id,
    write_log.c.status,
    write_log.c.attempts,
    write_log.c.system,
    write_log.c.object,
    write_log.c.record_id,
    write_log.c.steps,
    write_log.c.upsert_key,
)
_UNFINISHED = (
    sa.select(*_LOGGED)
    .where(write_log.c.status.in_([_PLANNED, _SENT]))
    .order_by(write_log.c.created_at, write_log.c.key)
)


def _logged(
    key: str,
    lead_id: str,
    status: str,
    attempts: int,
    system: str,
    obj: str,
    record_id: str | None,
    steps: list[dict[str, Value]],
    upsert_key: list[str] | None,
) -> LoggedWrite:
    write = RecordWrite(
        system=codec.system_of(system),
        object=obj,
        id=record_id,
        steps=tuple(steps),
        key=None if upsert_key is None else (str(upsert_key[0]), str(upsert_key[1])),
    )
    return LoggedWrite(key, lead_id, status, int(attempts), write)


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
