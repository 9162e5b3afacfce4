"""What a person does about a parked record: retry it or ignore it, each logged for good.

Retry puts the record's set-aside inbox items back in line, sends again the writes the
service refused (only those newer than the record's last write that landed: an older
value must never overwrite a newer one), and takes the record off the parked list; what
still fails is parked again, with its reason. Ignore takes it off too, but settles its
set-aside items as done and gives up its unsent writes. Either way a row in
`parked_actions` says who did what, when and why; a lead that was held only by this
record goes on.

The parked key of a write (the record id, `field=value` of a create by upsert, or
"(no key, lead L)") is derived as sync.write does; the store cannot import the sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from leadbridge.model import System
from leadbridge.store import codec
from leadbridge.store._sql import chunks
from leadbridge.store.records import ParkedRecord
from leadbridge.store.tables import inbox, links, parked, parked_actions, write_log

if TYPE_CHECKING:
    from leadbridge.store.repository import UnitOfWork

RETRY, IGNORE = "retry", "ignore"
_Key = tuple[str, str, str]  # system, object, record id


@dataclass(frozen=True, slots=True)
class Acted:
    """What one retry or ignore did."""

    record: ParkedRecord
    email: str | None
    items: int  # inbox items put back in line (retry) or settled (ignore)
    writes: int  # writes to be sent again (retry) or given up (ignore)
    released: tuple[ParkedRecord, ...] = ()  # records its ignore let go as well


@dataclass(frozen=True, slots=True)
class LoggedAction:
    action: str
    system: System
    object: str
    record_id: str
    email: str | None
    reason: str
    why: str | None
    by: str
    at: datetime


def key_of(record: ParkedRecord) -> str:
    """The record's full id, `system:object:record`, as `find` accepts it."""
    return f"{record.system.value}:{record.object}:{record.record_id}"


def find(uow: UnitOfWork, wanted: str, records: Sequence[ParkedRecord]) -> list[ParkedRecord]:
    """The parked records `wanted` names: a full id, a record id, or a person's email."""
    wanted = wanted.strip()
    exact = [r for r in records if key_of(r) == wanted]
    if exact:
        return exact
    by_id = [r for r in records if r.record_id == wanted]
    if by_id or "@" not in wanted:
        return by_id
    emails = emails_of(uow, records)
    folded = wanted.casefold()
    return [r for r in records if (emails.get(_key(r)) or "").casefold() == folded]


def emails_of(uow: UnitOfWork, records: Sequence[ParkedRecord]) -> dict[_Key, str | None]:
    """The email of the person behind each parked record, in a few statements: the record's
    own link, else its lead's, else the email its latest set-aside change carried, else
    the email a create was keyed by."""
    found: dict[_Key, str | None] = {_key(r): _keyed_email(r.record_id) for r in records}
    connection = uow.connection
    by_record = _link_emails(connection, [_key(r) for r in records])
    by_lead = _lead_emails(connection, {r.lead_id for r in records if r.lead_id})
    missing = []
    for record in records:
        key = _key(record)
        email = by_record.get(key) or by_lead.get(record.lead_id or "") or found[key]
        found[key] = email
        if email is None:
            missing.append(key)
    for key, email in _inbox_emails(connection, missing).items():
        found[key] = email
    return found


def retry(
    uow: UnitOfWork, record: ParkedRecord, *, by: str, hold: str, why: str | None = None
) -> Acted:
    """Try the record again at the next sync; `hold` is the reason prefix of a held lead."""
    items = _reopen(uow, record)
    writes = _resend(uow.connection, record, uow.clock())
    return _done(uow, RETRY, record, items, writes, by=by, why=why, hold=hold)


def ignore(uow: UnitOfWork, record: ParkedRecord, *, why: str, by: str, hold: str) -> Acted:
    """Let the record go for good: its set-aside changes are settled, its unsent writes
    given up. A duplicate whose one twin is left is let go too (retried: it is the person)."""
    items = _set_aside(uow.connection, record)
    uow.inbox.settle(record.system, record.object, record.record_id)
    writes = _give_up(uow.connection, record, uow.clock())
    acted = _done(uow, IGNORE, record, items, writes, by=by, why=why, hold=hold)
    if not record.reason.startswith(hold):
        return acted
    twins = [r for r in uow.parked.listing() if r.reason == record.reason]
    if len(twins) != 1:
        return acted
    because = f"its duplicate {key_of(record)} was ignored"
    retry(uow, twins[0], by=by, hold=hold, why=because)
    return Acted(acted.record, acted.email, acted.items, acted.writes, (twins[0],))


class ActionLog:
    """The parked_actions table: what people did about parked records."""

    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def log(
        self,
        action: str,
        record: ParkedRecord,
        email: str | None,
        *,
        why: str | None,
        by: str,
        items: int,
        writes: int,
    ) -> None:
        self._connection.execute(
            parked_actions.insert().values(
                action=action,
                system=record.system.value,
                object=record.object,
                record_id=record.record_id,
                lead_id=record.lead_id,
                email=email,
                reason=record.reason,
                why=why,
                by=by,
                items=items,
                writes=writes,
                at=codec.iso(self._clock()),
            )
        )

    def listing(self, action: str | None = None, limit: int = 1000) -> list[LoggedAction]:
        """The latest actions first (`action`: only retries or only ignores)."""
        statement = sa.select(parked_actions).order_by(
            parked_actions.c.at.desc(), parked_actions.c.id.desc()
        )
        if action is not None:
            statement = statement.where(parked_actions.c.action == action)
        rows = self._connection.execute(statement.limit(limit)).mappings()
        return [_logged(row) for row in rows]

    def count(self, action: str) -> int:
        statement = sa.select(sa.func.count()).where(parked_actions.c.action == action)
        return int(self._connection.execute(statement).scalar_one())


def _done(
    uow: UnitOfWork,
    action: str,
    record: ParkedRecord,
    items: int,
    writes: int,
    *,
    by: str,
    why: str | None,
    hold: str,
) -> Acted:
    email = emails_of(uow, [record]).get(_key(record))
    _unpark(uow.connection, record)
    if record.lead_id is not None and not _held(uow.connection, record.lead_id, hold):
        items += uow.inbox.reopen_lead(record.lead_id)
    uow.actions.log(action, record, email, why=why, by=by, items=items, writes=writes)
    return Acted(record, email, items, writes)


def _reopen(uow: UnitOfWork, record: ParkedRecord) -> int:
    return uow.inbox.reopen(record.system, record.object, record.record_id)


def _unpark(connection: sa.Connection, record: ParkedRecord) -> None:
    connection.execute(
        parked.delete().where(
            parked.c.system == record.system.value,
            parked.c.object == record.object,
            parked.c.record_id == record.record_id,
        )
    )


def _held(connection: sa.Connection, lead_id: str, hold: str) -> bool:
    """Whether another record still holds the lead for a person (sync's holding rule)."""
    statement = sa.select(sa.func.count()).where(
        parked.c.lead_id == lead_id,
        parked.c.next_retry_at.is_(None),
        parked.c.reason.startswith(hold, autoescape=True),
    )
    return int(connection.execute(statement).scalar_one()) > 0


def _set_aside(connection: sa.Connection, record: ParkedRecord) -> int:
    """How many items of the record wait set aside (what `settle` is about to mark done)."""
    statement = sa.select(sa.func.count()).where(
        inbox.c.system == record.system.value,
        inbox.c.object == record.object,
        inbox.c.record_id == record.record_id,
        inbox.c.status == "parked",
    )
    return int(connection.execute(statement).scalar_one())


def _writes_of(connection: sa.Connection, record: ParkedRecord) -> list[sa.RowMapping]:
    """The write-log rows listed under this parked record, oldest first."""
    mine = write_log.c.record_id == record.record_id
    if record.lead_id is not None:
        mine = mine | (write_log.c.lead_id == record.lead_id)
    statement = (
        sa.select(write_log)
        .where(
            write_log.c.system == record.system.value,
            write_log.c.object == record.object,
            mine,
        )
        .order_by(write_log.c.created_at, write_log.c.key)
    )
    rows = connection.execute(statement).mappings().all()
    return [row for row in rows if _parked_key(row) == record.record_id]


def _resend(connection: sa.Connection, record: ParkedRecord, now: datetime) -> int:
    """Refused writes newer than the record's last confirmed one go back to planned."""
    rows = _writes_of(connection, record)
    confirmed = [row["created_at"] for row in rows if row["status"] == "confirmed"]
    since = max(confirmed, default="")
    keys = [r["key"] for r in rows if r["status"] == "refused" and r["created_at"] > since]
    return _set_status(connection, keys, "planned", now)


def _give_up(connection: sa.Connection, record: ParkedRecord, now: datetime) -> int:
    """Writes still to be sent are refused: never sent again (the log keeps them)."""
    rows = _writes_of(connection, record)
    keys = [row["key"] for row in rows if row["status"] in ("planned", "sent")]
    return _set_status(connection, keys, "refused", now)


def _set_status(connection: sa.Connection, keys: Sequence[str], status: str, now: datetime) -> int:
    for part in chunks(list(keys)):
        connection.execute(
            write_log.update()
            .where(write_log.c.key.in_(part))
            .values(status=status, updated_at=codec.iso(now))
        )
    return len(keys)


def _parked_key(row: sa.RowMapping) -> str:
    """sync.write._parked_key, from a write-log row."""
    if row["record_id"] is not None:
        return str(row["record_id"])
    key = row["upsert_key"]
    return f"{key[0]}={key[1]}" if key is not None else f"(no key, lead {row['lead_id']})"


def _key(record: ParkedRecord) -> _Key:
    return (record.system.value, record.object, record.record_id)


def _keyed_email(record_id: str) -> str | None:
    """A create parked under its upsert key, `email=kim@example.com`."""
    name, _, value = record_id.partition("=")
    return value if name.lower() == "email" and "@" in value else None


def _link_emails(connection: sa.Connection, keys: Sequence[_Key]) -> dict[_Key, str]:
    found: dict[_Key, str] = {}
    for part in chunks(sorted({key[2] for key in keys})):
        statement = sa.select(links.c.system, links.c.object, links.c.record_id, links.c.email)
        statement = statement.where(links.c.record_id.in_(part), links.c.email.is_not(None))
        for system, obj, record, email in connection.execute(statement):
            found.setdefault((system, obj, record), str(email))
    return found


def _lead_emails(connection: sa.Connection, leads: Iterable[str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in chunks(sorted({lead for lead in leads if lead})):
        statement = sa.select(links.c.lead_id, links.c.email).where(
            links.c.lead_id.in_(part), links.c.email.is_not(None)
        )
        for lead, email in connection.execute(statement.order_by(links.c.updated_at.desc())):
            found.setdefault(str(lead), str(email))
    return found


def _inbox_emails(connection: sa.Connection, keys: Sequence[_Key]) -> dict[_Key, str]:
    """The email the latest change of each record carried, for records no lead links."""
    found: dict[_Key, str] = {}
    wanted = set(keys)
    for part in chunks(sorted({key[2] for key in keys})):
        statement = (
            sa.select(inbox.c.system, inbox.c.object, inbox.c.record_id, inbox.c.fields)
            .where(inbox.c.record_id.in_(part), inbox.c.kind == "change")
            .order_by(inbox.c.modified_at.desc())
        )
        for system, obj, record, fields in connection.execute(statement):
            key = (system, obj, record)
            email = _email_in(fields)
            if key in wanted and key not in found and email is not None:
                found[key] = email
    return found


def _email_in(fields: Any) -> str | None:
    if not isinstance(fields, dict):
        return None
    for name in ("email", "Email"):
        value = fields.get(name)
        if isinstance(value, str) and "@" in value:
            return value
    return None


def _logged(row: sa.RowMapping) -> LoggedAction:
    return LoggedAction(
        action=row["action"],
        system=System(row["system"]),
        object=row["object"],
        record_id=row["record_id"],
        email=row["email"],
        reason=row["reason"],
        why=row["why"],
        by=row["by"],
        at=codec.from_iso(row["at"]),
    )
