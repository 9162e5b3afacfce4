"""The inbox: every change read or pushed lands here once, and the sync takes it out in order.

Items are deduplicated by (system, object, record id, modification stamp,
kind), so a poll and a webhook reporting the same change, or a page read
twice after a crash, make one item. Items of one lead are handed out one at
a time, oldest first: `claim` only returns an item when no older item of the
same lead is still pending. On PostgreSQL the claim also locks with
FOR UPDATE SKIP LOCKED, so several replicas can share the inbox without
taking the same item or overtaking each other within a lead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from leadbridge.model import Change, Removal, System, Value, value_object
from leadbridge.store import codec
from leadbridge.store._sql import chunks, execute_many, insert_new, quietly, select_in
from leadbridge.store.tables import inbox, links

PENDING, _DONE, _PARKED = "pending", "done", "parked"
# uq_inbox_item: one item per change (or removal) of a record at one stamp.
_ITEM_KEY = ("system", "object", "record_id", "modified_at", "kind")
_CHANGE, _REMOVAL = "change", "removal"
_ITEMS_OF = ("record_id", "id", "status")
_UNFINISHED: tuple[str, str | None] = (PENDING, None)


@value_object
class InboxItem:
    id: int
    kind: str  # "change" or "removal"
    system: System
    object: str
    record_id: str
    modified_at: datetime  # a removal's removed_at
    fields: dict[str, Value]
    merged_into: str | None
    lead_key: str

    def change(self) -> Change:
        """The change this item holds; a removal has none (check `kind` first)."""
        if self.kind != _CHANGE:
            raise ValueError(f"inbox item {self.id} is a {self.kind}, not a change")
        return Change(self.system, self.object, self.record_id, self.fields, self.modified_at)

    def removal(self) -> Removal:
        """The removal this item holds (check `kind` first)."""
        if self.kind != _REMOVAL:
            raise ValueError(f"inbox item {self.id} is a {self.kind}, not a removal")
        return Removal(self.system, self.object, self.record_id, self.modified_at, self.merged_into)


def record_key(system: System, obj: str, record_id: str) -> str:
    return f"{codec.SYSTEM_TEXT[system]}:{obj}:{record_id}"


def _email_key(email: str) -> str:
    """The line of records no lead holds yet that share an email, in any system.

    A HubSpot contact and its Salesforce Lead then queue together, so the one
    read second is decided after the first and links to its lead by email,
    instead of the first creating a twin of the second in the other system.
    Hashed: an email may be longer than the column.
    """
    digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:40]
    return f"email:{digest}"


def _email_of(fields: Mapping[str, Any]) -> str | None:
    for name in ("email", "Email"):
        value = fields.get(name)
        if isinstance(value, str) and "@" in value:
            return value
    return None


class Inbox:
    """The inbox table. Items finished (done, parked) are buffered and updated in one
    statement at `flush`; which records wait in an email's line is remembered per email
    (the twin check asks it for every create)."""

    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock
        self._finished: dict[int, tuple[str, str | None]] = {}  # id -> (status, reason)
        self._parking = False  # a park is among them (a reopen must see it stored)
        # email line -> its pending items (id -> system); complete for each cached line
        self._lines: dict[str, dict[int, System]] = {}
        self._line_of: dict[tuple[System, str, str], set[int]] = {}  # record -> its items
        self._item_line: dict[int, str] = {}
        # Whether a record has parked items, for records asked about (`prefetch_parked`): a
        # first sync reopens each converted Lead's Contact (almost always for nothing) and
        # deal (set aside when it was decided before the Lead's conversion).
        self._has_parked: dict[tuple[System, str, str], bool] = {}
        self._claimed: dict[int, tuple[System, str, str]] = {}  # item -> its record
        # Records whose parked items a decision put back in line (`reopen_soon`), put back
        # together at the next flush: a first sync reopens a deal for each converted Lead.
        self._reopening: set[tuple[System, str, str]] = set()

    def enqueue(self, changes: Sequence[Change], removals: Sequence[Removal] = ()) -> int:
        """Store what is not stored yet; returns how many items are new."""
        records = [(c.system, c.object, c.id) for c in changes]
        records += [(r.system, r.object, r.id) for r in removals]
        keys = self._lead_keys(records)
        for change in changes:
            key = (codec.SYSTEM_TEXT[change.system], change.object, change.id)
            email = _email_of(change.fields)
            if keys[key] == record_key(change.system, change.object, change.id) and email:
                keys[key] = _email_key(email)
        now = codec.iso(self._clock())
        rows: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
        for change in changes:
            row = _row(_CHANGE, change.system, change.object, change.id, change.modified_at)
            row["fields"] = change.fields
            rows.setdefault(_identity(row), row)
        for removal in removals:
            row = _row(_REMOVAL, removal.system, removal.object, removal.id, removal.removed_at)
            row["merged_into"] = removal.merged_into
            rows.setdefault(_identity(row), row)
        if not rows:
            return 0
        for row in rows.values():
            row["lead_key"] = keys[(row["system"], row["object"], row["record_id"])]
            row["enqueued_at"] = now
        # In one order of the unique key, whoever calls: a poll and a read of hints storing
        # the same changes in different orders would otherwise deadlock on PostgreSQL.
        # Kind first keeps a batch's changes ahead of its removals in id order, which is
        # how `claim` breaks a tie between items of one lead with one stamp.
        ordered = [rows[identity] for identity in sorted(rows, key=_lock_order)]
        statement = insert_new(self._connection.dialect.name, inbox, _ITEM_KEY)
        # One executemany of plain rows, in this order (store._sql.execute_many: a first sync
        # enqueues every record, and SQLAlchemy's per-row work was most of this statement's
        # CPU). Quietly, so the unit of work is told nothing: `_lead_keys` above has just run
        # the statements that flushed every buffered write, and what the unit of work would
        # do for an insert into the inbox, forget what this part remembers, is done here.
        with quietly(self._connection) as connection:
            new = execute_many(connection, statement, ordered)
        self.forget()
        return new

    def claim(self, limit: int) -> list[InboxItem]:
        """The oldest pending item of up to `limit` leads, oldest first.

        Claimed items stay pending until `done` or `park` in the same
        transaction; on PostgreSQL they are locked until it ends.
        """
        statement = _claiming(self._connection.dialect.name == "postgresql")
        rows = self._connection.execute(statement, {"limit": limit}).all()  # one fetch
        items = [_item(*row) for row in rows]
        for item in items:
            self._claimed[item.id] = (item.system, item.object, item.record_id)
        return items

    def merges_into(self, system: System, obj: str, record_id: str) -> list[InboxItem]:
        """Pending merges that name this record as the survivor, oldest first."""
        statement = (
            sa.select(*_ITEM)
            .where(
                inbox.c.status == PENDING,
                inbox.c.kind == _REMOVAL,
                inbox.c.system == system.value,
                inbox.c.object == obj,
                inbox.c.merged_into == record_id,
            )
            .order_by(inbox.c.modified_at, inbox.c.id)
        )
        return [_item(*row) for row in self._connection.execute(statement)]

    def done(self, ids: Iterable[int]) -> None:
        self._finish(ids, _DONE, None)

    def park(self, ids: Iterable[int], reason: str) -> None:
        """Set items aside with their reason; later items of the same lead go on."""
        self._finish(ids, _PARKED, reason)

    def pending_with_email(self, system: System, email: str) -> bool:
        """Whether a record of `system` that no lead holds yet waits with this email."""
        line = _email_key(email)
        if line not in self._lines:
            self.prefetch([email])
        return system in self._lines[line].values()

    def prefetch(self, emails: Iterable[str]) -> None:
        """Learn which items wait in these emails' lines, one IN-list statement for all."""
        wanted = {line for e in emails if (line := _email_key(e)) not in self._lines}
        if not wanted:
            return
        self.flush()
        for line in wanted:
            self._lines[line] = {}
        with quietly(self._connection) as connection:
            columns = ("id", "system", "object", "record_id", "lead_key")
            for item, system, obj, record, line in select_in(
                connection, inbox, columns, "lead_key", sorted(wanted), {"status": PENDING}
            ):
                known = codec.system_of(system)
                self._lines[line][int(item)] = known
                self._line_of.setdefault((known, obj, record), set()).add(int(item))
                self._item_line[int(item)] = line

    def prefetch_parked(self, records: Iterable[tuple[System, str, str]]) -> None:
        """Learn which of these records have parked items (what `reopen` would put back)."""
        by_object: dict[tuple[System, str], set[str]] = {}
        for key in records:
            if key not in self._has_parked:
                by_object.setdefault(key[:2], set()).add(key[2])
        if not by_object:
            return
        if self._parking:
            self.flush()
        with quietly(self._connection):
            for (system, obj), ids in by_object.items():
                for record_id in ids:
                    self._has_parked[(system, obj, record_id)] = False
                for record_id, _, status in self._items_of(system, obj, ids):
                    if status == _PARKED:
                        self._has_parked[(system, obj, record_id)] = True

    def relined(self, system: System, obj: str, record_id: str) -> None:
        """The record joined a lead (store.links): its items leave their email's line."""
        for item in self._line_of.pop((system, obj, record_id), ()):
            self._leave_line(item)

    def flush(self) -> None:
        """Mark the finished items, one executemany per kind of finish, in id order (the
        order every writer locks inbox rows in: no deadlock between them on PostgreSQL);
        then put the records `reopen_soon` named back in line."""
        self._mark_finished()
        self.flush_reopened()

    def _mark_finished(self) -> None:
        if not self._finished:
            return
        finished, self._finished = self._finished, {}
        self._parking = False
        now = codec.iso(self._clock())
        rows = [
            {"item": item, "st": status, "why": reason, "at": now}
            for item, (status, reason) in sorted(finished.items())
        ]
        with quietly(self._connection) as connection:
            for part in chunks(rows, 5000):
                execute_many(connection, _FINISHED, part)

    def forget(self) -> None:
        self._lines.clear()
        self._line_of.clear()
        self._item_line.clear()
        self._has_parked.clear()

    def _leave_line(self, item: int) -> None:
        line = self._item_line.pop(item, None)
        if line is not None:
            self._lines[line].pop(item, None)

    def reopen(self, system: System, obj: str, record_id: str) -> int:
        """Put the record's parked items back in line, for a retry of a parked record.

        Needed because enqueueing the same change again is a duplicate and adds nothing.
        Its own statement, run quietly: the finished items go first (one may be among
        these), and what it reopens joins the email lines remembered.
        """
        key = (system, obj, record_id)
        if self._has_parked.get(key) is False:
            return 0
        if self._parking:
            self.flush()
        self.flush_reopened()
        self._has_parked[key] = False
        return self._put_back(system, obj, [record_id])

    def reopen_soon(self, system: System, obj: str, record_id: str) -> None:
        """`reopen`, for a decision that needs no count: a record this transaction knows has
        parked items (`prefetch_parked`) is put back in line with the others at the next
        flush, one statement for all; any other is reopened at once.

        The unit of work flushes these first, before the links: a record linked in the same
        round has its reopened items re-lined behind its lead, as `reopen` at once would."""
        key = (system, obj, record_id)
        if self._has_parked.get(key) is not True:
            self.reopen(system, obj, record_id)
            return
        if self._parking:
            self.flush()  # a park decided before this reopen is stored first, as in `reopen`
        self._has_parked[key] = False
        self._reopening.add(key)

    def flush_reopened(self) -> None:
        """Put the records `reopen_soon` named back in line: one statement per object."""
        if not self._reopening:
            return
        by_object: dict[tuple[System, str], list[str]] = {}
        for system, obj, record_id in sorted(self._reopening):
            by_object.setdefault((system, obj), []).append(record_id)
        self._reopening = set()
        for (system, obj), record_ids in by_object.items():
            for part in chunks(record_ids):
                self._put_back(system, obj, part)

    def _put_back(self, system: System, obj: str, record_ids: Sequence[str]) -> int:
        """The parked items of these records pending again, each joining its line if known."""
        statement = (
            inbox.update()
            .where(
                inbox.c.system == system.value,
                inbox.c.object == obj,
                inbox.c.record_id.in_(record_ids),
                inbox.c.status == _PARKED,
            )
            .values(status=PENDING, reason=None, done_at=None)
            .returning(inbox.c.id, inbox.c.lead_key, inbox.c.record_id)
        )
        with quietly(self._connection) as connection:
            reopened = connection.execute(statement).all()
        for item, line, record_id in reopened:
            if line in self._lines:
                self._lines[line][int(item)] = system
                self._line_of.setdefault((system, obj, record_id), set()).add(int(item))
                self._item_line[int(item)] = line
        return len(reopened)

    def reopen_lead(self, lead_id: str) -> int:
        """Put a held lead's parked items back in line, once a person resolved the hold."""
        result = self._connection.execute(
            inbox.update()
            .where(inbox.c.lead_key == lead_id, inbox.c.status == _PARKED)
            .values(status=PENDING, reason=None, done_at=None)
        )
        return result.rowcount

    def parked_with_email(self, system: System, obj: str, email: str) -> list[str]:
        """Records of no lead, set aside with this email (a duplicate never linked)."""
        statement = (
            sa.select(inbox.c.record_id)
            .where(
                inbox.c.status == _PARKED,
                inbox.c.lead_key == _email_key(email),
                inbox.c.system == system.value,
                inbox.c.object == obj,
            )
            .distinct()
        )
        return list(self._connection.execute(statement).scalars())

    def email_of_parked(self, system: System, obj: str, record_id: str) -> str | None:
        """The email a parked record's latest item carried (how its twins are found)."""
        statement = (
            sa.select(inbox.c.fields)
            .where(
                inbox.c.system == system.value,
                inbox.c.object == obj,
                inbox.c.record_id == record_id,
                inbox.c.status == _PARKED,
                inbox.c.kind == _CHANGE,
            )
            .order_by(inbox.c.modified_at.desc())
            .limit(1)
        )
        fields = self._connection.execute(statement).scalar_one_or_none()
        return None if fields is None else _email_of(fields)

    def settle(self, system: System, obj: str, record_id: str) -> None:
        """Mark a record's parked items done: the record is gone, nothing is left to decide."""
        self._connection.execute(
            inbox.update()
            .where(
                inbox.c.system == system.value,
                inbox.c.object == obj,
                inbox.c.record_id == record_id,
                inbox.c.status == _PARKED,
            )
            .values(status=_DONE, done_at=codec.iso(self._clock()))
        )

    def pending_records(self, system: System, obj: str, record_ids: Sequence[str]) -> set[str]:
        """Which of these records have items still waiting to be decided."""
        return {
            record_id
            for record_id, _, status in self._items_of(system, obj, record_ids)
            if status == PENDING
        }

    def pending_among(
        self, records: Mapping[tuple[System, str, str], str]
    ) -> dict[tuple[System, str, str], str]:
        """The entries of `records` (keyed by record) whose records have items waiting, not
        counting the items this transaction has marked done but not yet stored (`flush`).
        An item being parked counts: it joins its lead's line, where `reopen_lead` finds it."""
        by_object: dict[tuple[System, str], list[str]] = {}
        for system, obj, record_id in records:
            by_object.setdefault((system, obj), []).append(record_id)
        waiting: dict[tuple[System, str, str], str] = {}
        for (system, obj), ids in by_object.items():
            for record_id, item, status in self._items_of(system, obj, ids):
                if status == PENDING and self._finished.get(item, _UNFINISHED)[0] != _DONE:
                    key = (system, obj, record_id)
                    waiting[key] = records[key]
        return waiting

    def _items_of(
        self, system: System, obj: str, record_ids: Iterable[str]
    ) -> Iterator[tuple[str, int, str]]:
        """(record id, item id, status) of every item of these records. The status is tested
        by the caller: given `status = ?` as well, SQLite walks the status index through every
        pending item instead of looking the records up (a scan that grows with the inbox)."""
        equal = {"system": system.value, "object": obj}
        for record_id, item, status in select_in(
            self._connection, inbox, _ITEMS_OF, "record_id", sorted(set(record_ids)), equal
        ):
            yield record_id, int(item), status

    def oldest_pending(self) -> datetime | None:
        """When the item waiting longest was enqueued (None: nothing waits)."""
        statement = sa.select(sa.func.min(inbox.c.enqueued_at)).where(inbox.c.status == PENDING)
        oldest = self._connection.execute(statement).scalar_one_or_none()
        return None if oldest is None else codec.from_iso(oldest)

    def parked_count(self) -> int:
        """Items set aside: records no lead names yet, and those waiting for a person."""
        statement = sa.select(sa.func.count()).where(inbox.c.status == _PARKED)
        return int(self._connection.execute(statement).scalar_one())

    def pending_count(self) -> int:
        statement = sa.select(sa.func.count()).where(inbox.c.status == PENDING)
        return int(self._connection.execute(statement).scalar_one())

    def _finish(self, ids: Iterable[int], status: str, reason: str | None) -> None:
        ids = list(ids)
        if status == _PARKED and self._reopening:
            # A reopen decided before this park goes first, where it could put this item
            # back: its record's, or any when the item's record is not known here. (Each
            # park flushing them all was a statement per deal set aside in a first sync.)
            records = {self._claimed.get(item) for item in ids}
            if None in records or not self._reopening.isdisjoint(records):
                self.flush_reopened()
        for item in ids:
            self._finished[item] = (status, reason)
            self._leave_line(item)
            if status == _PARKED:
                self._parking = True
                record = self._claimed.get(item)
                if record is None:  # not claimed here: which record is not known
                    self._has_parked.clear()
                else:
                    self._has_parked[record] = True

    def _lead_keys(
        self, records: Sequence[tuple[System, str, str]]
    ) -> dict[tuple[str, str, str], str]:
        """The lead of each record already linked to exactly one; else the record itself."""
        text = codec.SYSTEM_TEXT
        keys = {(text[s], o, r): record_key(s, o, r) for s, o, r in records}
        by_object: dict[tuple[str, str], list[str]] = {}
        for system, obj, record in keys:
            by_object.setdefault((system, obj), []).append(record)
        for (system, obj), record_ids in by_object.items():
            found: dict[str, set[str]] = {}
            equal = {"system": system, "object": obj}
            for record, lead in select_in(
                self._connection, links, ("record_id", "lead_id"), "record_id", record_ids, equal
            ):
                found.setdefault(record, set()).add(lead)
            for record, leads in found.items():
                if len(leads) == 1:
                    keys[(system, obj, record)] = next(iter(leads))
        return keys


def _row(kind: str, system: System, obj: str, record: str, at: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "system": codec.SYSTEM_TEXT[system],
        "object": obj,
        "record_id": record,
        "modified_at": codec.iso(at),
        "fields": {},
        "merged_into": None,
        "status": PENDING,
    }


# Built once (store._sql.execute_many keeps it compiled): every flush marks items finished.
_FINISHED = (
    inbox.update()
    .where(inbox.c.id == sa.bindparam("item"))
    .values(status=sa.bindparam("st"), reason=sa.bindparam("why"), done_at=sa.bindparam("at"))
)


@cache
def _claiming(locking: bool) -> sa.Select[Any]:
    """`claim`'s statement, built once (its limit bound): a claim each round rebuilt it,
    and building and keying a statement of this size costs more than running it small."""
    older = inbox.alias("older")
    waiting = (
        sa.select(older.c.id)
        .where(
            older.c.status == PENDING,
            older.c.lead_key == inbox.c.lead_key,
            sa.or_(
                older.c.modified_at < inbox.c.modified_at,
                sa.and_(older.c.modified_at == inbox.c.modified_at, older.c.id < inbox.c.id),
            ),
        )
        .exists()
    )
    statement = (
        sa.select(*_ITEM)
        .where(inbox.c.status == PENDING, ~waiting)
        .order_by(inbox.c.modified_at, inbox.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    # PostgreSQL: claimed items stay locked until the transaction ends; others skip them.
    return statement.with_for_update(skip_locked=True, of=inbox) if locking else statement


def _identity(row: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (row["system"], row["object"], row["record_id"], row["modified_at"], row["kind"])


def _lock_order(identity: tuple[str, str, str, str, str]) -> tuple[str, ...]:
    """The unique key, kind first (see `enqueue`)."""
    system, obj, record, modified_at, kind = identity
    return (kind, system, obj, record, modified_at)


# The columns an InboxItem is made of, in `_item`'s order: rows are taken apart by place
# (a first sync claims every record; reading each cell by name was a Python call each).
_ITEM = (
    inbox.c.id,
    inbox.c.kind,
    inbox.c.system,
    inbox.c.object,
    inbox.c.record_id,
    inbox.c.modified_at,
    inbox.c.fields,
    inbox.c.merged_into,
    inbox.c.lead_key,
)


def _item(
    item: int,
    kind: str,
    system: str,
    obj: str,
    record_id: str,
    modified_at: str,
    fields: dict[str, Value],
    merged_into: str | None,
    lead_key: str,
) -> InboxItem:
    return InboxItem(
        id=int(item),
        kind=kind,
        system=codec.system_of(system),
        object=obj,
        record_id=record_id,
        modified_at=codec.from_iso(modified_at),
        fields=fields,
        merged_into=merged_into,
        lead_key=lead_key,
    )
