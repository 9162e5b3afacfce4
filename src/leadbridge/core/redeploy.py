"""What a changed funnel does to the leads already in it. Pure.

Deploying new mappings moves a lead leadbridge knows in two cases only, and `leadbridge
check --impact` shows both before they ship:
- its stage was renamed (`was:` in stages.yaml): it moves to the new name;
- the rule that moved it into its stage changed and no longer holds for it: it goes back
  to the stage it came from. Raising the MQL threshold sends back the MQLs below it; a
  lead that qualified some other way (a hand-raise) is not touched.
Everything else waits for the lead's next change, as it always did: a rule that now would
move a lead forward moves it when something about the lead changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from leadbridge.config import Funnel, Rule
from leadbridge.config.conditions import Aged, render, walk
from leadbridge.core import engine, mapping
from leadbridge.model import Cause, Decision, Lead, Stamp, System, Transition, Value

RENAMED = "renamed"  # the journal's rule for a move to a stage's new name


@dataclass(frozen=True)
class Move:
    """One lead's move on deploying a funnel, with the rule behind it and why, in words."""

    lead_id: str
    from_stage: str
    to_stage: str
    rule: str
    why: str


def definitions(funnel: Funnel) -> dict[str, str]:
    """Each rule's definition as text, by name: where it applies, where it goes, and its
    condition with the values of the lists it names (editing a list changes the rule)."""
    return {rule.name: _definition(rule) for rule in funnel.rules}


def fingerprint(definitions: Mapping[str, str], funnel: Funnel) -> str:
    """Changes when a rule or a stage name changes: what a deployment is recorded by."""
    stages = [(stage.name, list(stage.was)) for stage in funnel.stages]
    text = json.dumps([sorted(definitions.items()), stages], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def changed(before: Mapping[str, str], now: Mapping[str, str]) -> frozenset[str]:
    """The rules in both whose definition differs (a new rule moves nobody on deploy)."""
    return frozenset(name for name, text in now.items() if before.get(name, text) != text)


def stranded(counts: Mapping[str, int], funnel: Funnel) -> dict[str, int]:
    """Stages leads are in that the funnel neither has nor renamed: leads no rule can reach."""
    known = set(funnel.stage) | set(funnel.renamed)
    return {stage: count for stage, count in sorted(counts.items()) if stage not in known}


def move_of(
    lead: Lead,
    entry: tuple[str, str, str] | None,
    changed_rules: frozenset[str],
    funnel: Funnel,
    now: datetime,
) -> Move | None:
    """Where deploying `funnel` sends `lead`, or None. `entry` is the lead's last journal
    entry (from stage, to stage, rule): how it came into the stage it is in."""
    names = funnel.renamed
    if lead.stage in names:
        new = names[lead.stage]
        why = f"stage {lead.stage} is now called {new}"
        return Move(lead.id, lead.stage, new, RENAMED, why)
    if entry is None or lead.stage not in funnel.stage:
        return None
    came_from, into, rule_name = entry
    if into != lead.stage or rule_name not in changed_rules:
        return None
    rule = next(rule for rule in funnel.rules if rule.name == rule_name)
    back = names.get(came_from, came_from)
    if rule.target != lead.stage or back not in funnel.stage or back == lead.stage:
        return None
    seen = engine.facts(lead, funnel)
    if rule.hold(seen, seen, now, lead.stage_entered_at):
        return None
    return Move(lead.id, lead.stage, back, rule.name, _why_not(rule, seen))


def apply(lead: Lead, move: Move, funnel: Funnel, now: datetime, cause: Cause) -> Decision:
    """The decision that makes the move, as the engine's decisions look: the lead in its new
    stage, what both systems should show, the transition to journal."""
    target = funnel.stage[move.to_stage]
    reason = "funnel_changed" if move.rule != RENAMED else RENAMED
    fields, stamps = dict(lead.fields), dict(lead.stamps)
    if target.handback and funnel.reason_field is not None:
        fields[funnel.reason_field] = reason
        stamps[funnel.reason_field] = Stamp(now, None)
    # A rename keeps the time the lead entered the stage: only its name changed.
    entered = lead.stage_entered_at if move.rule == RENAMED else now
    moved = replace(
        lead, stage=move.to_stage, stage_entered_at=entered, fields=fields, stamps=stamps
    )
    desired = mapping.project(moved, funnel)
    shown = mapping.with_stage_shown(moved, desired, funnel, now)
    transition = Transition(move.from_stage, move.to_stage, move.rule, reason, cause, now)
    return Decision(shown, (transition,), desired)


def cause_of(lead: Lead, now: datetime) -> Cause | None:
    """The record a deploy's move is journaled against: the lead's HubSpot contact, else
    its Salesforce record (the journal names a record for every move)."""
    identity = lead.identity
    if identity.hubspot is not None:
        return Cause(System.HUBSPOT, "contact", identity.hubspot, now)
    if identity.salesforce_lead is not None:
        return Cause(System.SALESFORCE, "Lead", identity.salesforce_lead, now)
    if identity.salesforce_contact is not None:
        return Cause(System.SALESFORCE, "Contact", identity.salesforce_contact, now)
    return None


def _definition(rule: Rule) -> str:
    sources = "any" if rule.sources is None else ",".join(sorted(rule.sources))
    values = [
        f"{test.field}>{test.age}"
        if isinstance(test, Aged)
        else f"{test.field} {test.op} {test.arg!r}"
        for test in walk(rule.condition)
    ]
    return f"{sources} -> {rule.target} when {render(rule.condition)} [{'; '.join(values)}]"


def _why_not(rule: Rule, seen: Mapping[str, Value]) -> str:
    shown = ", ".join(
        f"{name} {_shown(seen.get(name))}"
        for name in dict.fromkeys(test.field for test in walk(rule.condition))
    )
    return f"rule {rule.name} no longer holds ({render(rule.condition)}; the lead has {shown})"


def _shown(value: Value) -> str:
    if value is None or value == "":
        return "blank"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a score of 65, not 65.0
    return str(value)
