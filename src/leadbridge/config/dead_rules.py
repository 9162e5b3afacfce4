"""Rules that can never fire: shown as warnings, since the funnel still works without them.

Two ways a rule is dead although every name in it exists:
  - its condition can never hold on any one change (eq on two values under all;
    changed_to on fields that no single record carries together);
  - its `from` names a stage no lead can ever be in: leads start in the first
    stage (or arrive in a stage under one of its former names, `was:`) and move
    only by rules, so a stage no live rule leads to stays empty.
The move graph is the one the engine walks (funnel.steps): a HubSpot change that
cannot move a lead out of a sales-owned stage is no edge here either.
"""

from __future__ import annotations

from leadbridge.config import flapping
from leadbridge.config.conditions import render
from leadbridge.config.funnel import Funnel, Rule
from leadbridge.config.problems import Problem
from leadbridge.config.source import Document


def warnings(funnel: Funnel, handoff: Document) -> list[Problem]:
    """Each dead rule (or dead `from` entry), placed at its line in handoff.yaml."""
    live = {rule.name for rule in funnel.rules if flapping.can_hold(funnel, rule.condition)}
    found = [
        _warning(
            handoff,
            (*rule.loc, "when"),
            f"its condition can never hold on one change ({render(rule.condition)}), so the "
            "rule never fires; expected conditions that can be true together (any: where "
            "one is enough)",
        )
        for rule in funnel.rules
        if rule.name not in live
    ]
    reached = reachable(funnel, live)
    first = funnel.first_stage.name
    for rule in funnel.rules:
        if rule.sources is None or rule.name not in live:
            continue
        sources = [name for name in _from_list(handoff, rule) if name in funnel.stage]
        dead = [name for name in sources if name not in reached]
        if not dead:
            continue
        if len(dead) == len(sources):
            message = (
                f"can never fire: no lead is ever in {_stages(dead)} (leads start in "
                f"{first!r} and move only by rules, and no rule moves one there)"
            )
            found.append(_warning(handoff, (*rule.loc, "from"), message))
            continue
        for name in dead:
            message = (
                f"from names {name!r}, where no lead ever is (no rule moves one there), so "
                "this entry never applies; expected it removed, or a rule into that stage"
            )
            found.append(_warning(handoff, (*rule.loc, "from", sources.index(name)), message))
    return found


def reachable(funnel: Funnel, live: set[str]) -> set[str]:
    """The stages a lead can be in: the first, those with former names, and where live
    rules lead from there."""
    reached = {funnel.first_stage.name} | {stage.name for stage in funnel.stages if stage.was}
    pending = list(reached)
    while pending:
        stage = pending.pop()
        for (at, _), steps in funnel.steps.items():
            if at != stage:
                continue
            for step in steps:
                target = step.rule.target
                if not step.holds and step.rule.name in live and target not in reached:
                    reached.add(target)
                    pending.append(target)
    return reached


def _from_list(handoff: Document, rule: Rule) -> list[str]:
    """The rule's `from` in file order, so each entry is placed at its own line."""
    data = handoff.data
    try:
        listed = data["rules"][rule.index]["from"]
    except (KeyError, IndexError, TypeError):
        listed = None
    if isinstance(listed, str):
        return [listed]
    if isinstance(listed, list):
        return [str(name) for name in listed]
    return sorted(rule.sources or ())


def _stages(names: list[str]) -> str:
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _warning(handoff: Document, loc: tuple[str | int, ...], message: str) -> Problem:
    line, column, field = handoff.locate(loc)
    return Problem(handoff.path, line, column, field, message, warning=True)
