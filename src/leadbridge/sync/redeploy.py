"""A changed funnel, applied once to the leads already in it (core.redeploy says how).

Each cycle first compares the funnel it runs with to the one recorded by the last: while
they are the same this costs one small read. When they differ, the leads in a renamed stage
or in a changed rule's target stage are read a page at a time, each page's moves saved and
planned like any decision (journaled, their writes logged under the deployment's key, so a
crash half-way re-runs only what was not saved: a lead already moved no longer qualifies),
and the new funnel is recorded last. A funnel that would strand leads in a stage it no
longer has (neither kept nor named under a stage's `was:`) is refused with their count.

`preview` runs the same moves in a unit of work that is never committed: `leadbridge check
--impact` shows what deploying the mappings would do, before they ship.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leadbridge.core import redeploy
from leadbridge.core.redeploy import Move
from leadbridge.model import Decision, Lead
from leadbridge.store import UnitOfWork, deployments

if TYPE_CHECKING:
    from leadbridge.sync.pipeline import Pipeline, Summary

PAGE = 500
# Saves one moved lead: its decision journaled and its writes logged under `origin`.
Conclude = Callable[[UnitOfWork, Lead, Decision, str], None]


class Stranded(Exception):
    """Leads sit in stages the funnel no longer has; no rule could ever move them."""

    def __init__(self, stages: Mapping[str, int]) -> None:
        self.stages = dict(stages)
        parts = [
            f"{count} lead{'s' if count != 1 else ''} in {stage}"
            for stage, count in self.stages.items()
        ]
        first = next(iter(self.stages))
        super().__init__(
            f"stages.yaml no longer has stages that leads are in ({', '.join(parts)}): "
            f"add `was: [{first}]` to the stage that replaces {first} (its leads then move "
            f"there), or keep {first} in stages.yaml"
        )


@dataclass
class Impact:
    """What deploying a funnel would do: each move with the lead it moves."""

    known: int  # live leads in the state database
    recorded: bool  # a funnel was recorded before (else nothing moves: nothing to compare)
    moves: list[tuple[Move, Lead]] = field(default_factory=list)


def run(pipeline: Pipeline, summary: Summary, conclude: Conclude) -> int:
    """Apply a changed funnel to the known leads, once; returns how many moved."""
    definitions = redeploy.definitions(pipeline.funnel)
    fingerprint = redeploy.fingerprint(definitions, pipeline.funnel)
    with pipeline.store.transaction() as uow:
        before = deployments.deployed(uow.connection)
        if before is not None and before.fingerprint == fingerprint:
            return 0
        _refuse_stranded(deployments.stage_counts(uow.connection), pipeline)
    # Before any funnel was recorded there is nothing to compare rules with; renames apply.
    changed = redeploy.changed(before.rules, definitions) if before else frozenset[str]()
    moved, after = 0, ""
    while True:
        with pipeline.store.transaction() as uow:
            page = _page(uow, pipeline, changed, after)
            if not page:
                break
            for lead, _, decision in _moves(uow, pipeline, changed, page):
                conclude(uow, lead, decision, f"funnel:{fingerprint}")
                moved += 1
            after = page[-1]
    with pipeline.store.transaction() as uow:
        deployments.record(uow.connection, fingerprint, definitions, pipeline.clock())
    return moved


def preview(pipeline: Pipeline, conclude: Conclude) -> Impact:
    """The moves `run` would make now, planned (summary.planned counts their writes) in a
    unit of work that is rolled back: nothing is written."""
    definitions = redeploy.definitions(pipeline.funnel)
    with pipeline.store.reading() as uow:
        before = deployments.deployed(uow.connection)
        counts = deployments.stage_counts(uow.connection)
        impact = Impact(known=sum(counts.values()), recorded=before is not None)
        _refuse_stranded(counts, pipeline)
        changed = redeploy.changed(before.rules, definitions) if before else frozenset[str]()
        after = ""
        while page := _page(uow, pipeline, changed, after):
            for lead, move, decision in _moves(uow, pipeline, changed, page):
                conclude(uow, lead, decision, "preview")
                impact.moves.append((move, lead))
            after = page[-1]
    return impact


def _refuse_stranded(counts: Mapping[str, int], pipeline: Pipeline) -> None:
    stuck = redeploy.stranded(counts, pipeline.funnel)
    if stuck:
        raise Stranded(stuck)


def _page(uow: UnitOfWork, pipeline: Pipeline, changed: frozenset[str], after: str) -> list[str]:
    """The next page of leads a move could concern: in a renamed stage or in the stage a
    changed rule moves leads to."""
    funnel = pipeline.funnel
    stages = set(funnel.renamed) | {rule.target for rule in funnel.rules if rule.name in changed}
    return deployments.leads_in(uow.connection, stages, after=after, limit=PAGE)


def _moves(
    uow: UnitOfWork, pipeline: Pipeline, changed: frozenset[str], page: list[str]
) -> Iterator[tuple[Lead, Move, Decision]]:
    """Each lead of the page that moves, with the decision making the move (journaled
    against one of its records: a lead with none is left as it is)."""
    entries = deployments.entries(uow.connection, page)
    uow.prefetch(lead_ids=page)
    now = pipeline.clock()
    for lead_id in page:
        lead = uow.leads.load(lead_id)
        if lead is None:
            continue
        entry = entries.get(lead_id)
        last = (entry.from_stage, entry.to_stage, entry.rule) if entry else None
        move = redeploy.move_of(lead, last, changed, pipeline.funnel, now)
        cause = redeploy.cause_of(lead, now)
        if move is not None and cause is not None:
            yield lead, move, redeploy.apply(lead, move, pipeline.funnel, now, cause)
