"""Handoff decisions: one change in, the lead's moves and what both systems should show out. Pure.

`decide` folds the change into the lead (mapping.merge), then tries the
rules applicable at the lead's stage in order: the first whose condition
holds decides, and the lead keeps moving while rules keep matching. A rule
that targets the lead's own stage holds it there (and stops the search).
Time and state come in as arguments; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from leadbridge.config import Funnel, Rule, Step
from leadbridge.config.conditions import DEALS_PREFIX
from leadbridge.config.scoring import SCORE, Scoring
from leadbridge.core import mapping, scoring
from leadbridge.model import (
    Cause,
    Change,
    Decision,
    Identity,
    Lead,
    Stamp,
    Transition,
    Value,
)


def new_lead(funnel: Funnel, lead_id: str, now: datetime, identity: Identity | None = None) -> Lead:
    """A lead leadbridge has never seen: first stage of the funnel, nothing known yet."""
    return Lead(
        id=lead_id,
        stage=funnel.first_stage.name,
        stage_entered_at=now,
        identity=identity or Identity(),
    )


def decide(lead: Lead, change: Change, funnel: Funnel, now: datetime) -> Decision:
    merged = mapping.merge(lead, change, funnel)
    # merge hands over new dicts of its own: this change's news is added to them in place.
    fields = merged.fields
    stamps = merged.stamps
    counted = _deal_counts(lead.deals, funnel)
    before = {**lead.fields, **counted} if counted is not None else lead.fields
    # Most changes are no opportunity's: the lead's deals, and so their counts, stay.
    counts = counted if merged.deals is lead.deals else _deal_counts(merged.deals, funnel)
    after: dict[str, Value] = {**fields, **counts} if counts is not None else fields
    ruled = Stamp(now, None)  # immutable: every field a rule or the score sets shares it
    if funnel.scoring is not None and _news_for_scoring(funnel.scoring, lead, before, after):
        # Scored before any rule looks, so rules see this change's score and grade. A change
        # with no news for a criterion is not rescored: the same input twice decides the
        # same, and an owner's change or a merge writes no decayed score of its own.
        scored = scoring.rescore(before, after, funnel.scoring, now, lead.stage_entered_at)
        news = {name: value for name, value in scored.items() if fields.get(name) != value}
        _add(news, ruled, fields, stamps, after)
    stage, entered, blocked = lead.stage, lead.stage_entered_at, lead.blocked
    transitions: list[Transition] = []
    visited = {stage}
    cause = None
    notes = merged.notes
    while True:
        step = _first_match(
            funnel.steps.get((stage, change.system), ()), before, after, now, entered
        )
        if step is None:
            break
        rule = step.rule
        if step.holds:
            blocked = rule.block or blocked
            break
        if rule.target in visited:
            # load_funnel refuses rule sets that cycle, so this only guards the loop.
            notes = (*notes, f"rule {rule.name} would move the lead back to {rule.target}")
            break
        reason = _reason(rule, after)
        sets: dict[str, Value] = dict(rule.sets)
        if funnel.stage[rule.target].handback and funnel.reason_field is not None:
            sets[funnel.reason_field] = reason
        if sets:
            _add(sets, ruled, fields, stamps, after)
        cause = cause or Cause.of(change)
        transitions.append(Transition(stage, rule.target, rule.name, reason, cause, now))
        blocked = rule.block
        stage, entered = rule.target, now
        visited.add(stage)
    result = Lead(
        id=lead.id,
        stage=stage,
        stage_entered_at=entered,
        owner=lead.owner,
        identity=lead.identity,
        fields=fields,
        stamps=stamps,
        seen=merged.seen,
        deals=merged.deals,
        blocked=blocked,
    )
    desired = mapping.project(result, funnel)
    # mapping.with_stage_shown, without building the lead twice: `result` has not left
    # decide yet, and its fields and stamps are the dicts of its own built here.
    shown, shown_at = mapping.stage_shown(fields, desired, funnel, now)
    fields.update(shown)
    stamps.update(shown_at)
    return Decision(result, tuple(transitions), desired, notes)


def _add(
    news: Mapping[str, Value],
    stamp: Stamp,
    fields: dict[str, Value],
    stamps: dict[str, Stamp],
    after: dict[str, Value],
) -> None:
    """Set values the engine computed (score, a rule's sets) on the lead and its facts."""
    fields.update(news)
    if after is not fields:
        after.update(news)
    for name in news:
        stamps[name] = stamp


def _news_for_scoring(
    rules: Scoring, lead: Lead, before: Mapping[str, Value], after: Mapping[str, Value]
) -> bool:
    if SCORE not in lead.fields and before != after:
        return True  # never scored (new, or scoring.yaml just deployed): any news scores it
    # A loop, not any(): no generator per change.
    for name in rules.tested:  # noqa: SIM110
        if before.get(name) != after.get(name):
            return True
    return False


def _first_match(
    steps: tuple[Step, ...],
    before: Mapping[str, Value],
    after: Mapping[str, Value],
    now: datetime,
    entered: datetime,
) -> Step | None:
    for step in steps:
        if step.test(before, after, now, entered):
            return step
    return None


def _facts(
    fields: Mapping[str, Value], deals: Mapping[str, str], funnel: Funnel
) -> Mapping[str, Value]:
    """The fields rules see: canonical fields plus deals.<stage> counts when rules use them."""
    counts = _deal_counts(deals, funnel)
    return {**fields, **counts} if counts is not None else fields


def _deal_counts(deals: Mapping[str, str], funnel: Funnel) -> dict[str, int] | None:
    """deals.<stage> -> how many of the lead's opportunities are there; None: rules use none."""
    if not funnel.deal_counts:
        return None
    counts = dict.fromkeys(funnel.deal_facts, 0)
    for deal in deals.values():
        key = DEALS_PREFIX + deal
        if key in counts:
            counts[key] += 1
    return counts


def _reason(rule: Rule, after: Mapping[str, Value]) -> str:
    if rule.reason is not None:
        return rule.reason
    if rule.reason_field is not None:
        value = after.get(rule.reason_field)
        if value is not None and value != "":
            return str(value)
        if rule.reason_default is not None:
            return rule.reason_default
    return rule.name


def facts(lead: Lead, funnel: Funnel) -> Mapping[str, Value]:
    """The values the rules see for this lead as it stands (core.redeploy re-tests rules)."""
    return _facts(lead.fields, lead.deals, funnel)
