"""`leadbridge check --impact`: what deploying these mappings would do to the leads the state
database knows, before they ship. Nothing is written: the moves are planned in a unit of work
that is rolled back (sync.redeploy.preview), by the same code the sync runs on deploy.

Also what `check` asks of the database without --impact: whether the mappings would strand
leads in a stage they no longer have (sync.redeploy.Stranded).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from leadbridge.config import Funnel
from leadbridge.core import redeploy
from leadbridge.core.redeploy import RENAMED, Move
from leadbridge.model import Lead, System
from leadbridge.store import Store, deployments
from leadbridge.sync.pipeline import Pipeline, preview_funnel
from leadbridge.sync.redeploy import Impact, Stranded

EXAMPLES = 5  # leads shown per move
_NAMES = {System.HUBSPOT: "HubSpot", System.SALESFORCE: "Salesforce"}
# The revision that records deployments (store/migrations/versions/0005).
_RECORDS_DEPLOYMENTS = "0005"


class OldDatabase(Exception):
    """The database predates the table the impact is computed from."""


def stranded_problem(funnel: Funnel, store: Store) -> str | None:
    """Why deploying `funnel` would be refused on this database, or None."""
    with store.reading() as uow:
        stuck = redeploy.stranded(deployments.stage_counts(uow.connection), funnel)
    return str(Stranded(stuck)) if stuck else None


def write_impact(
    funnel: Funnel,
    store: Store,
    out: TextIO,
    *,
    where: str,
    external_id_field: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Print the impact; 0, or 2 when deploying would strand leads."""
    try:
        impact, planned = _preview(funnel, store, clock, external_id_field)
    except Stranded as stranded:
        out.write(f"Deploying these mappings would be refused: {stranded}\n")
        return 2
    if not impact.recorded:
        out.write(
            "No sync has recorded a funnel in this database yet: the first sync with these "
            "mappings moves only leads in renamed stages.\n"
        )
    if not impact.moves:
        out.write(f"Deploying these mappings moves none of the {impact.known} leads in {where}.\n")
        return 0
    count = len(impact.moves)
    out.write(
        f"Deploying these mappings would move {count} of the {impact.known} leads in {where}:\n"
    )
    for line in _move_lines(impact):
        out.write(line + "\n")
    out.write("Writes it would cause: " + _writes(planned) + "\n")
    out.write("Nothing was written. The first sync with these mappings makes these moves.\n")
    return 0


def _preview(
    funnel: Funnel,
    store: Store,
    clock: Callable[[], datetime],
    external_id_field: str | None = None,
) -> tuple[Impact, dict[tuple[System, str, str], int]]:
    revision = store.revision()
    if revision is None or revision < _RECORDS_DEPLOYMENTS:
        raise OldDatabase(
            f"the state database is at revision {revision or 'none'}; "
            "run `leadbridge db upgrade` first"
        )
    pipeline = Pipeline(store=store, funnel=funnel, connectors={}, clock=clock)
    if external_id_field is not None:
        pipeline.external_id_field = external_id_field
    impact, summary = preview_funnel(pipeline)
    return impact, dict(summary.planned)


def _move_lines(impact: Impact) -> list[str]:
    groups: dict[tuple[str, str, str], list[tuple[Move, Lead]]] = defaultdict(list)
    for move, lead in impact.moves:
        groups[(move.from_stage, move.to_stage, move.rule)].append((move, lead))
    lines = []
    for (came, went, rule), moved in sorted(groups.items(), key=lambda item: -len(item[1])):
        leads = f"{len(moved)} lead{'s' if len(moved) != 1 else ''}"
        why = "the stage was renamed" if rule == RENAMED else f"rule {rule} changed"
        lines.append(f"  {came} -> {went}: {leads} ({why})")
        for move, lead in moved[:EXAMPLES]:
            email = lead.fields.get("email") or lead.id
            lines.append(f"      {email}: {move.why}")
        if len(moved) > EXAMPLES:
            lines.append(f"      ... and {len(moved) - EXAMPLES} more")
    return lines


def _writes(planned: dict[tuple[System, str, str], int]) -> str:
    if not planned:
        return "none (both systems already show it)"
    parts = [
        f"{_NAMES[system]} {obj} {count} {kind}{'s' if count != 1 else ''}"
        for (system, obj, kind), count in sorted(planned.items())
    ]
    return "; ".join(parts)
