"""The org's records: one table per sObject behind one lock, with the org's own bookkeeping.

Every write goes through `_put`, inside `atomic()`: that gives allOrNone its
rollback, keeps the unique index true, and tells listeners (Outbound Messages)
about a change only once it is committed. A stored record is never mutated, a
write stores a new dict, so a reader may keep the rows it got without a copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from leadbridge.sandbox.clock import SimClock, sf_datetime
from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.errors import (
    MoreThanOneRecord,
    SfError,
    converted_lead,
    entity_deleted,
    not_found,
)
from leadbridge.sandbox.salesforce.orgschema import OrgSchema
from leadbridge.sandbox.salesforce.schema import SOBJECTS, STAGES, SObject
from leadbridge.sandbox.salesforce.validate import missing_required, prepare_write

log = logging.getLogger(__name__)

Record = dict[str, Any]


@dataclass(frozen=True)
class Change:
    sobject: str
    record_id: str
    kind: str  # "created", "updated" or "deleted"


Listener = Callable[[Change], None]


@dataclass
class _Journal:
    undo: list[tuple[str, str, Record | None]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    rolled_back: bool = False

    def rollback(self) -> None:
        """Undo everything this transaction wrote, once it ends (allOrNone)."""
        self.rolled_back = True


class RecordStore:
    def __init__(
        self,
        clock: SimClock,
        id_factory: ids.IdFactory,
        *,
        users: Mapping[str, str],
        actor: str,
        schema: OrgSchema,
    ) -> None:
        self.clock = clock
        self.schema = schema
        self.ids = id_factory
        self.users = dict(users)  # the org's users: id -> name
        self.default_actor = actor
        self.lock = threading.RLock()
        self._tables: dict[str, dict[str, Record]] = {name: {} for name in SOBJECTS}
        self._unique: dict[tuple[str, str], dict[str, str]] = {
            key: {} for key in schema.unique_fields()
        }
        self._listeners: list[Listener] = []
        self._journal: _Journal | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def now(self) -> str:
        return sf_datetime(self.clock.now())

    # -- reading

    def get(self, sobject_name: str, record_id: str) -> Record | None:
        """The record (deleted ones too, with IsDeleted true), or None."""
        obj = self.object(sobject_name)
        rid = ids.normalize(record_id)
        with self.lock:
            row = self._tables[obj.name].get(rid) if rid else None
        return dict(row) if row is not None else None

    def records(self, sobject_name: str, *, include_deleted: bool = False) -> list[Record]:
        obj = self.object(sobject_name)
        with self.lock:
            rows = list(self._tables[obj.name].values())
        return rows if include_deleted else [r for r in rows if not r["IsDeleted"]]

    def find(self, sobject_name: str, **equals: Any) -> list[Record]:
        """Live records whose fields equal the given values (field names case-insensitive)."""
        obj = self.object(sobject_name)
        wanted = {self._field_name(obj, name): value for name, value in equals.items()}
        return [
            dict(r) for r in self.records(obj.name) if all(r.get(k) == v for k, v in wanted.items())
        ]

    def by_external_id(self, sobject_name: str, field_name: str, value: str) -> Record | None:
        """The live record whose external id is `value` (case-insensitive); MoreThanOneRecord
        when the field is not unique and several hold it."""
        obj = self.object(sobject_name)
        wanted = value.lower()
        with self.lock:
            index = self._unique.get((obj.name, field_name))
            if index is not None:
                rid = index.get(wanted)
                return self._tables[obj.name].get(rid) if rid else None
            found = [
                row
                for row in self._tables[obj.name].values()
                if not row["IsDeleted"] and str(row.get(field_name) or "").lower() == wanted
            ]
        if len(found) > 1:
            raise MoreThanOneRecord(obj.name, field_name, [row["Id"] for row in found])
        return found[0] if found else None

    def exists(self, sobject_name: str, record_id: str) -> bool:
        if sobject_name == "User":
            return record_id in self.users
        with self.lock:
            row = self._tables[sobject_name].get(record_id)
        return row is not None and not row["IsDeleted"]

    def object(self, sobject_name: str) -> SObject:
        obj = self.schema.sobject(sobject_name)
        if obj is None:
            raise SfError("INVALID_TYPE", f"sObject type '{sobject_name}' is not supported.")
        return obj

    def seen_by(self, obj: SObject, actor: str | None) -> SObject:
        """`obj` as the writing user sees it: the run-as user through field-level security."""
        return self.schema.view(obj.name, actor or self.default_actor) or obj

    def locate(self, obj: SObject, raw_id: str, *, writing: bool) -> Record:
        """The live record behind a client's id, or the error the real org answers."""
        rid = ids.normalize(raw_id)
        if rid is None:
            raise SfError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw_id}",
                status=404,
            )
        if rid[:3] != obj.key_prefix:
            raise SfError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}")
        with self.lock:
            row = self._tables[obj.name].get(rid)
        if row is None or (row["IsDeleted"] and not writing):
            raise not_found()
        if row["IsDeleted"]:
            raise entity_deleted()
        if writing and obj.name == "Lead" and row["IsConverted"]:
            raise converted_lead()
        return row

    # -- writing, validated as the API validates

    def create(
        self, sobject_name: str, fields: Mapping[str, Any], *, actor: str | None = None
    ) -> str:
        obj = self.object(sobject_name)
        if not obj.createable:
            raise SfError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {obj.label}"
            )
        values = prepare_write(self.seen_by(obj, actor), fields, creating=True, exists=self.exists)
        with self.atomic():
            return self.insert(obj, values, actor=actor)

    def update(
        self,
        sobject_name: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        actor: str | None = None,
    ) -> None:
        obj = self.object(sobject_name)
        if not obj.updateable:
            raise SfError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {obj.label}"
            )
        with self.atomic():
            row = self.locate(obj, record_id, writing=True)
            seen = self.seen_by(obj, actor)
            values = prepare_write(seen, fields, creating=False, exists=self.exists)
            missing_required(obj, values, list(values))
            self.patch(obj, row["Id"], values, actor=actor)

    def upsert(
        self,
        sobject_name: str,
        field_name: str,
        value: str,
        fields: Mapping[str, Any],
        *,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        """(id, created) for an upsert by an external-id field, as PATCH .../Field/VALUE does."""
        obj = self.seen_by(self.object(sobject_name), actor)
        key = obj.field(field_name)
        if key is None or not key.external_id:
            raise SfError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
                status=404,
            )
        body = {k: v for k, v in fields.items() if obj.field(k) is not key}
        given = [v for k, v in fields.items() if obj.field(k) is key]
        if given and str(given[0]).lower() != value.lower():
            raise SfError(
                "INVALID_FIELD",
                f"{key.name} is specified both in the URL ({value}) and in the body ({given[0]})",
            )
        with self.atomic():
            row = self.by_external_id(obj.name, key.name, value)
            if row is None:
                return self.create(obj.name, {**body, key.name: value}, actor=actor), True
            self.update(obj.name, row["Id"], body, actor=actor)
            return row["Id"], False

    def delete(self, sobject_name: str, record_id: str, *, actor: str | None = None) -> None:
        obj = self.object(sobject_name)
        if not obj.deletable:
            raise SfError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {obj.label}"
            )
        with self.atomic():
            self._soft_delete(obj, self.locate(obj, record_id, writing=True))

    # -- writing without the API's checks: the org's own changes (conversion, derived fields)

    def insert(self, obj: SObject, values: Mapping[str, Any], *, actor: str | None = None) -> str:
        who = actor or self.default_actor
        stamp = self.now()
        rid = self.ids.new(obj.key_prefix)
        record: Record = {f.name: f.default for f in obj.fields}
        if "OwnerId" in record:
            record["OwnerId"] = who
        record.update(values)
        record.update(
            Id=rid,
            IsDeleted=False,
            CreatedDate=stamp,
            CreatedById=who,
            LastModifiedDate=stamp,
            LastModifiedById=who,
            SystemModstamp=stamp,
        )
        _derive(obj, record, set(values), creating=True)
        missing_required(obj, record, [f.name for f in obj.fields if f.required])
        self._check_unique(obj, record)
        self._put(obj.name, rid, record)
        self._note(Change(obj.name, rid, "created"))
        return rid

    def patch(
        self, obj: SObject, record_id: str, values: Mapping[str, Any], *, actor: str | None = None
    ) -> None:
        with self.lock:
            old = self._tables[obj.name][record_id]
        stamp = self.now()
        record = {**old, **values}
        record.update(
            LastModifiedDate=stamp,
            LastModifiedById=actor or self.default_actor,
            SystemModstamp=stamp,
        )
        _derive(obj, record, set(values), creating=False)
        self._check_unique(obj, record)
        self._put(obj.name, record_id, record)
        self._note(Change(obj.name, record_id, "updated"))

    def _soft_delete(self, obj: SObject, row: Record) -> None:
        # The row stays, flagged: queryAll and the `deleted` resource still see it.
        record = {**row, "IsDeleted": True, "SystemModstamp": self.now()}
        self._put(obj.name, row["Id"], record)
        self._note(Change(obj.name, row["Id"], "deleted"))
        for child, parent_field in _CASCADES.get(obj.name, ()):
            for kid in self.find(child, **{parent_field: row["Id"]}):
                self._soft_delete(self.object(child), kid)

    @contextmanager
    def atomic(self) -> Iterator[_Journal]:
        """One transaction. Nested calls are savepoints: an exception undoes only their writes."""
        with self.lock:
            outer = self._journal
            journal = outer or _Journal()
            self._journal = journal
            undo_mark, change_mark = len(journal.undo), len(journal.changes)
            try:
                yield journal
            except BaseException:
                self._undo(journal, undo_mark)
                del journal.changes[change_mark:]
                if outer is None:
                    self._journal = None
                raise
            if outer is not None:
                return
            self._journal = None
            if journal.rolled_back:
                self._undo(journal, 0)
                return
            for change in journal.changes:
                for listener in self._listeners:
                    try:
                        listener(change)
                    except Exception:
                        log.exception("a change listener failed on %s", change)

    def _undo(self, journal: _Journal, mark: int) -> None:
        while len(journal.undo) > mark:
            name, rid, old = journal.undo.pop()
            self._store(name, rid, old)

    def _put(self, name: str, rid: str, record: Record) -> None:
        if self._journal is None:
            raise RuntimeError("a write outside atomic() would skip rollback and listeners")
        self._journal.undo.append((name, rid, self._tables[name].get(rid)))
        self._store(name, rid, record)

    def _store(self, name: str, rid: str, record: Record | None) -> None:
        table = self._tables[name]
        old = table.get(rid)
        for (obj_name, field_name), index in self._unique.items():
            if obj_name != name:
                continue
            if old is not None and old.get(field_name) and not old["IsDeleted"]:
                index.pop(str(old[field_name]).lower(), None)
            if record is not None and record.get(field_name) and not record["IsDeleted"]:
                index[str(record[field_name]).lower()] = rid
        if record is None:
            table.pop(rid, None)
        else:
            table[rid] = record

    def _note(self, change: Change) -> None:
        if self._journal is not None:
            self._journal.changes.append(change)

    def _check_unique(self, obj: SObject, record: Record) -> None:
        for (obj_name, name), index in self._unique.items():
            if obj_name != obj.name or not record.get(name):
                continue
            holder = index.get(str(record[name]).lower())
            if holder is not None and holder != record["Id"]:
                raise SfError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: {holder}",
                    fields=[],
                )

    def unique_index(self, obj_name: str, field_name: str) -> dict[str, str]:
        """The index that keeps `field_name` unique; ValueError if live records share a value."""
        with self.lock:
            index: dict[str, str] = {}
            for row in self._tables[obj_name].values():
                value = row.get(field_name)
                if row["IsDeleted"] or not value:
                    continue
                holder = index.setdefault(str(value).lower(), row["Id"])
                if holder != row["Id"]:
                    raise ValueError(
                        f"duplicate value found: {field_name} duplicates value on record with "
                        f"id: {holder}"
                    )
            return index

    def keep_unique(self, obj_name: str, field_name: str, index: dict[str, str]) -> None:
        with self.lock:
            self._unique[(obj_name, field_name)] = index

    @staticmethod
    def _field_name(obj: SObject, name: str) -> str:
        found = obj.field(name)
        if found is None:
            raise SfError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        return found.name


# Deleting a parent deletes these children, as master-detail and lookup cascades do.
_CASCADES: dict[str, tuple[tuple[str, str], ...]] = {
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
    "Opportunity": (("OpportunityContactRole", "OpportunityId"),),
    "Contact": (("OpportunityContactRole", "ContactId"),),
}


def _derive(obj: SObject, record: Record, given: set[str], *, creating: bool) -> None:
    """Fields the org computes: full names, and an opportunity's state from its stage."""
    if obj.name in ("Lead", "Contact"):
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
    if obj.name == "Opportunity" and ("StageName" in given or creating):
        closed, won, probability = STAGES.get(record.get("StageName") or "", (False, False, 0))
        record["IsClosed"], record["IsWon"] = closed, won
        # A new stage brings its default probability unless the same write set one.
        if "Probability" not in given:
            record["Probability"] = float(probability)
