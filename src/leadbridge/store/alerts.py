"""Alerts recorded before they are sent, and the last known health of each component.

Exactly once, as far as Slack allows:

1. `record` inserts each alert as pending under a unique key, before any
   send; a key recorded before is skipped (ON CONFLICT DO NOTHING), so a
   restart or a second replica never records the same alert twice.
2. `claim` takes one due pending alert in its own short transaction: it
   counts the attempt and pushes next_try_at out by a hold, which is the
   claim. Another replica skips it until the hold expires (on PostgreSQL the
   row is picked FOR UPDATE SKIP LOCKED, on SQLite the write lock serialises
   claims), so two replicas never send it at the same time.
3. The message is sent outside any transaction, then `sent` commits at once.
   A failed send is put back with a later next_try_at (`retry`), so it is
   never lost; a process that dies holding a claim leaves the alert pending,
   and it is sent again once the hold expires.

The one window no store can close: Slack accepted the message (answered 200,
or answered and the answer was lost on the way) and the process died or lost
its connection before `sent` committed. The alert is then still pending and
goes out a second time after the hold. Incoming webhooks take no idempotency
key, so the window is kept small instead: `sent` is one short UPDATE
committed right after the answer, nothing else happens in between, and
messages are claimed one at a time, so at most one message is ever in it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadbridge.model import Lead
from leadbridge.store import codec
from leadbridge.store._sql import chunks, insert
from leadbridge.store.links import Links
from leadbridge.store.tables import alert_health, alerts, leads

PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"
LEAD_KIND, DIGEST_KIND, HEALTH_KIND = "lead", "digest", "health"
_ESCALATION = "escalation"  # alerts.Level.ESCALATION; the store imports only the model


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert as decided, before it is recorded."""

    key: str
    kind: str
    level: str
    route: str
    text: str
    blocks: Sequence[Mapping[str, Any]]
    lead_id: str | None = None
    stage: str | None = None
    entered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """An alert as the store holds it."""

    id: int
    key: str
    kind: str
    level: str
    route: str
    text: str
    blocks: list[dict[str, Any]]
    status: str
    attempts: int
    next_try_at: datetime | None
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    lead_id: str | None = None
    stage: str | None = None
    entered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    healthy: bool
    detail: str
    since: datetime
    checked_at: datetime = field(compare=False)


class Alerts:
    """Times are the caller's `now` (the sweep's), never a clock of the store's own."""

    def __init__(self, connection: sa.Connection, links: Links) -> None:
        self._connection = connection
        self._links = links

    # --- deciding ---------------------------------------------------------------

    def candidates(
        self, limits: Mapping[str, timedelta], now: datetime, *, unescalated: bool = True
    ) -> list[Lead]:
        """Live leads whose wall-clock time in a stage passed that stage's limit.

        Business hours only ever count less than wall time, so no lead left out
        here can be overdue. With `unescalated`, entries whose escalation is
        already recorded are left out too: they have nothing more to say. The
        leads come without their identity: `with_identity` adds it to the few
        that need it.
        """
        if not limits:
            return []
        due = sa.or_(
            *(
                sa.and_(leads.c.stage == stage, leads.c.stage_entered_at <= codec.iso(now - limit))
                for stage, limit in sorted(limits.items())
            )
        )
        statement = sa.select(leads).where(leads.c.merged_into.is_(None), due)
        if unescalated:
            escalated = (
                sa.select(alerts.c.id)
                .where(
                    alerts.c.lead_id == leads.c.id,
                    alerts.c.stage == leads.c.stage,
                    alerts.c.entered_at == leads.c.stage_entered_at,
                    alerts.c.level == _ESCALATION,
                )
                .exists()
            )
            statement = statement.where(~escalated)
        rows = self._connection.execute(statement.order_by(leads.c.id)).mappings().all()
        return [Lead(**codec.lead_fields(row)) for row in rows]

    def with_identity(self, found: Iterable[Lead]) -> list[Lead]:
        """The leads with their records' ids filled in (for the links in a message)."""
        return [replace(lead, identity=self._links.identity(lead.id)) for lead in found]

    def keys_of(self, lead_ids: Iterable[str]) -> set[str]:
        """Every alert key recorded for these leads (sent or not): the `already_sent` set."""
        found: set[str] = set()
        for part in chunks(sorted(set(lead_ids))):
            statement = sa.select(alerts.c.key).where(alerts.c.lead_id.in_(part))
            found.update(self._connection.execute(statement).scalars())
        return found

    def has(self, key: str) -> bool:
        statement = sa.select(alerts.c.id).where(alerts.c.key == key)
        return self._connection.execute(statement).first() is not None

    def record(self, new: Sequence[NewAlert], now: datetime) -> list[str]:
        """Record alerts as pending and due now; returns the keys that were new."""
        if not new:
            return []
        stamp = codec.iso(now)
        rows = [
            {
                "key": alert.key,
                "kind": alert.kind,
                "level": alert.level,
                "route": alert.route,
                "lead_id": alert.lead_id,
                "stage": alert.stage,
                "entered_at": None if alert.entered_at is None else codec.iso(alert.entered_at),
                "text": alert.text,
                "blocks": [dict(block) for block in alert.blocks],
                "status": PENDING,
                "attempts": 0,
                "next_try_at": stamp,
                "claimed_by": None,
                "last_error": None,
                "created_at": stamp,
                "sent_at": None,
            }
            for alert in new
        ]
        statement = (
            insert(self._connection, alerts)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(alerts.c.key)
        )
        return list(self._connection.execute(statement, rows).scalars())

    # --- delivering -------------------------------------------------------------

    def claim(
        self, now: datetime, holder: str, hold: timedelta, skip_routes: Collection[str] = ()
    ) -> Recorded | None:
        """The pending alert due longest, claimed for `hold`; None when nothing is due.

        One statement: UPDATE .. WHERE id = (the first due row, FOR UPDATE SKIP LOCKED on
        PostgreSQL) .. RETURNING. The outer WHERE repeats the test, so whatever the
        isolation level, of two claimers one gets the row and the other nothing.
        """
        due = alerts.alias("due")
        first = sa.select(due.c.id).where(
            due.c.status == PENDING, due.c.next_try_at <= codec.iso(now)
        )
        if skip_routes:
            first = first.where(due.c.route.not_in(sorted(skip_routes)))
        first = first.order_by(due.c.next_try_at, due.c.id).limit(1)
        if self._connection.dialect.name == "postgresql":
            first = first.with_for_update(skip_locked=True)
        claimed = self._connection.execute(
            alerts.update()
            .where(
                alerts.c.id == first.scalar_subquery(),
                alerts.c.status == PENDING,
                alerts.c.next_try_at <= codec.iso(now),
            )
            .values(
                attempts=alerts.c.attempts + 1,
                next_try_at=codec.iso(now + hold),
                claimed_by=holder,
            )
            .returning(*alerts.c)
        )
        row = claimed.mappings().one_or_none()
        return None if row is None else _recorded(row)

    def sent(self, alert_id: int, now: datetime) -> None:
        """Slack took it: never again. Committed right after the answer (see the module doc)."""
        self._connection.execute(
            alerts.update()
            .where(alerts.c.id == alert_id, alerts.c.status == PENDING)
            .values(status=SENT, sent_at=codec.iso(now), next_try_at=None, last_error=None)
        )

    def retry(self, alert_id: int, holder: str, at: datetime, error: str) -> None:
        """The send failed: try again at `at`, unless another replica has claimed it since."""
        self._connection.execute(
            alerts.update()
            .where(
                alerts.c.id == alert_id,
                alerts.c.status == PENDING,
                alerts.c.claimed_by == holder,
            )
            .values(next_try_at=codec.iso(at), last_error=error[:2000])
        )

    def fail(self, alert_id: int, error: str) -> None:
        """Slack refused the message itself (a 400): sending it again cannot help. Kept, with
        the reason, for a person (and a fix) to look at; never silently discarded."""
        self._finish(alert_id, FAILED, error)

    def drop(self, alert_id: int, why: str) -> None:
        """Not worth sending any more: the lead moved on, or an escalation supersedes it."""
        self._finish(alert_id, DROPPED, why)

    def _finish(self, alert_id: int, status: str, why: str) -> None:
        self._connection.execute(
            alerts.update()
            .where(alerts.c.id == alert_id, alerts.c.status == PENDING)
            .values(status=status, next_try_at=None, last_error=why[:2000])
        )

    def stale(self, alert: Recorded) -> str | None:
        """Why a pending lead alert should no longer be sent, or None while it still holds."""
        if alert.kind != LEAD_KIND or alert.lead_id is None or alert.entered_at is None:
            return None
        escalated = (
            sa.select(alerts.c.id)
            .where(
                alerts.c.lead_id == alert.lead_id,
                alerts.c.stage == alert.stage,
                alerts.c.entered_at == codec.iso(alert.entered_at),
                alerts.c.level == _ESCALATION,
            )
            .exists()
        )
        row = self._connection.execute(
            sa.select(
                leads.c.stage, leads.c.stage_entered_at, leads.c.merged_into, escalated
            ).where(leads.c.id == alert.lead_id)
        ).one_or_none()
        if row is None or row.merged_into is not None:
            return "the lead is gone (merged or removed)"
        if row.stage != alert.stage or row.stage_entered_at != codec.iso(alert.entered_at):
            return f"the lead moved on (now in {row.stage})"
        if alert.level != _ESCALATION and row[3]:
            return "superseded by the escalation of the same stage entry"
        return None

    # --- reading ----------------------------------------------------------------

    def get(self, key: str) -> Recorded | None:
        row = (
            self._connection.execute(sa.select(alerts).where(alerts.c.key == key))
            .mappings()
            .one_or_none()
        )
        return None if row is None else _recorded(row)

    def listing(self, status: str | None = None) -> list[Recorded]:
        """Recorded alerts, oldest first; only those in `status` when given."""
        statement = sa.select(alerts).order_by(alerts.c.id)
        if status is not None:
            statement = statement.where(alerts.c.status == status)
        return [_recorded(row) for row in self._connection.execute(statement).mappings()]

    def counts(self) -> dict[str, int]:
        """How many alerts are in each status (for /metrics and `leadbridge check`)."""
        statement = sa.select(alerts.c.status, sa.func.count()).group_by(alerts.c.status)
        return {str(row[0]): int(row[1]) for row in self._connection.execute(statement)}

    # --- health -----------------------------------------------------------------

    def health(self) -> dict[str, ComponentHealth]:
        return {
            row.component: ComponentHealth(
                bool(row.healthy),
                row.detail,
                codec.from_iso(row.since),
                codec.from_iso(row.checked_at),
            )
            for row in self._connection.execute(sa.select(alert_health))
        }

    def first_health(self, component: str, healthy: bool, detail: str, now: datetime) -> bool:
        """Remember a component seen for the first time; False if another replica just did."""
        statement = (
            insert(self._connection, alert_health)
            .values(
                component=component,
                healthy=healthy,
                detail=detail,
                since=codec.iso(now),
                checked_at=codec.iso(now),
            )
            .on_conflict_do_nothing(index_elements=["component"])
            .returning(alert_health.c.component)
        )
        return self._connection.execute(statement).first() is not None

    def flip_health(
        self, component: str, healthy: bool, detail: str, was_since: datetime, now: datetime
    ) -> bool:
        """Move a component to its new state, only from the state it was read in (so two
        replicas noticing the same flip record it once); True if this call moved it."""
        result = self._connection.execute(
            alert_health.update()
            .where(
                alert_health.c.component == component,
                alert_health.c.since == codec.iso(was_since),
                alert_health.c.healthy != healthy,
            )
            .values(healthy=healthy, detail=detail, since=codec.iso(now), checked_at=codec.iso(now))
        )
        return result.rowcount > 0

    def touch_health(self, component: str, detail: str, now: datetime) -> None:
        """Same state as before: keep the latest detail and when it was checked."""
        self._connection.execute(
            alert_health.update()
            .where(alert_health.c.component == component)
            .values(detail=detail, checked_at=codec.iso(now))
        )


def _recorded(row: sa.RowMapping) -> Recorded:
    def stamp(name: str) -> datetime | None:
        value = row[name]
        return None if value is None else codec.from_iso(value)

    return Recorded(
        id=int(row["id"]),
        key=row["key"],
        kind=row["kind"],
        level=row["level"],
        route=row["route"],
        text=row["text"],
        blocks=list(row["blocks"]),
        status=row["status"],
        attempts=int(row["attempts"]),
        next_try_at=stamp("next_try_at"),
        created_at=codec.from_iso(row["created_at"]),
        sent_at=stamp("sent_at"),
        last_error=row["last_error"],
        lead_id=row["lead_id"],
        stage=row["stage"],
        entered_at=stamp("entered_at"),
    )
