"""Refuse rule sets that can move a lead back and forth on the same input.

Method. The engine tries the rules applicable at the lead's stage in order;
the first whose condition holds decides, and it keeps going from the new
stage. So a move from stage S by rule R needs R's condition to hold and
every earlier rule applicable at S not to hold (a rule that targets S
itself is read with changed_to as "is now so", as the engine reads it).
A HubSpot change cannot move a lead out of a sales-owned stage except
forward: for HubSpot changes such rules are not tried at all there.

A rule set flaps if some cycle of moves S1 -> S2 -> ... -> S1 can be taken
on one input, in either of two ways:
  - within one decision: one change from one source (HubSpot contact,
    Salesforce Lead, Contact or Opportunity) at one time. Fields the source
    cannot write keep their value (their changed_to cannot hold). After the
    first move the lead has just entered its stage, so older_than on
    stage_entered is false from the second move on;
  - over repeated deliveries of that change as time passes: nothing changes
    any more (no changed_to holds) but every older_than may come true.
For every source, every simple cycle of the move graph is tried: the
conditions of its moves are put in disjunctive normal form and searched for
one choice of a term per move whose literals can all hold together. Fields
the rules write themselves (`set`, the reason field) differ from step to
step, so tests on them are assumed to go either way (over-cautious: it may
refuse a safe rule set, never accept a flapping one). A timeout that moves a
lead back once (an MQL nobody touched for 30 days goes to nurture) is not
flapping: it needs time, and coming back needs a new change.

Whether literals on one field can hold together is decided exactly, by
trying values on every side of every boundary the tests mention: each
constant, numbers just below and above each threshold, an address in each
listed domain and a subdomain of it, a time on each side of each age,
blank, and a value no test mentions. Every operator's truth changes only at
such boundaries, so if no sample satisfies the tests, no value does.

The same machinery checks idempotence: deciding again on the result, with
nothing changed, must move nothing. A rule holding only because something
did *not* change (a negated changed_to with no changed_to beside it) would
fire on the second pass, so it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product

from leadbridge.config.conditions import (
    DEALS_PREFIX,
    STAGE_ENTERED,
    Aged,
    All,
    Atom,
    Became,
    Cond,
    Not,
    walk,
)
from leadbridge.config.funnel import Funnel, Rule
from leadbridge.config.scoring import COMPUTED
from leadbridge.model import System, Value

_Literal = tuple[Atom | Became | Aged, bool]
_Term = frozenset[_Literal]
_Factor = tuple[_Term, ...]  # alternatives: one must hold
_Source = tuple[System, str]
_NOW = datetime(2000, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)
_UNLISTED = "\u2063unlisted"


def _dnf(cond: Cond, level: bool = False, positive: bool = True) -> list[_Term]:
    if isinstance(cond, Became) and level:
        cond = Atom(cond.test)
    if isinstance(cond, Atom | Became | Aged):
        return [frozenset({(cond, positive)})]
    if isinstance(cond, Not):
        return _dnf(cond.item, level, not positive)
    parts = [_dnf(item, level, positive) for item in cond.items]
    if isinstance(cond, All) == positive:
        return [frozenset().union(*combo) for combo in product(*parts)]
    return [term for part in parts for term in part]


def _field(literal: _Literal) -> str:
    node = literal[0]
    return node.field if isinstance(node, Aged) else node.test.field


def _holds(literal: _Literal, before: Value, after: Value) -> bool:
    node, positive = literal
    if isinstance(node, Aged):
        return node.holds(after, _NOW) == positive
    if isinstance(node, Atom):
        return node.test.holds(after) == positive
    became = node.test.holds(after) and not node.test.holds(before)
    return became == positive


def _samples(literals: Iterable[_Literal]) -> list[Value]:
    found: list[Value] = [None, _UNLISTED]
    for node, _ in literals:
        if isinstance(node, Aged):
            found += [_NOW - node.age, _NOW - node.age + timedelta(seconds=1)]
        else:
            found += node.test.samples()
    return list(dict.fromkeys(found))


class _Solver:
    """Satisfiability of conjunctions of rule conditions, for changes from one source."""

    def __init__(
        self, changeable: frozenset[str], ignored: frozenset[str], ages_free: bool = False
    ) -> None:
        self.changeable = changeable
        self.ignored = ignored
        self.ages_free = ages_free
        self._fields: dict[tuple[str, frozenset[_Literal]], tuple[Value, Value] | None] = {}

    def factor(self, terms: Iterable[_Term], entered_now: bool = False) -> _Factor | None:
        """The terms as this analysis can judge them; None when always true, () when never.

        Tests on fields rules write are dropped (either way). Ages are dropped
        when time passes freely; the age of the stage entry is dropped on a
        first move and, with `entered_now`, is zero.
        """
        kept = []
        for term in terms:
            literals = []
            for literal in term:
                node, positive = literal
                if _field(literal) in self.ignored:
                    continue
                if isinstance(node, Aged) and (self.ages_free or node.field == STAGE_ENTERED):
                    if entered_now and not self.ages_free and (node.age <= _ZERO) != positive:
                        break  # this term cannot hold
                    continue
                literals.append(literal)
            else:
                if not literals:
                    return None
                kept.append(frozenset(literals))
        return tuple(dict.fromkeys(kept))

    def field(self, name: str, literals: frozenset[_Literal]) -> tuple[Value, Value] | None:
        key = (name, literals)
        if key not in self._fields:
            samples = _samples(literals)
            edges = any(isinstance(node, Became) for node, _ in literals)
            pairs = (
                product(samples, samples)
                if edges and name in self.changeable
                else ((v, v) for v in samples)
            )
            self._fields[key] = next(
                (pair for pair in pairs if all(_holds(lit, *pair) for lit in literals)), None
            )
        return self._fields[key]

    def solve(self, factors: list[_Factor]) -> dict[str, tuple[Value, Value]] | None:
        """Values (before, after) per field under which every factor holds, or None."""
        ordered = sorted(factors, key=len)
        chosen: dict[str, frozenset[_Literal]] = {}

        def search(position: int) -> bool:
            if position == len(ordered):
                return True
            for term in ordered[position]:
                by_field: dict[str, set[_Literal]] = {}
                for lit in term:
                    by_field.setdefault(_field(lit), set()).add(lit)
                saved = {name: chosen.get(name) for name in by_field}
                fits = True
                for name, lits in by_field.items():
                    merged = (chosen.get(name) or frozenset()) | lits
                    if self.field(name, merged) is None:
                        fits = False
                        break
                    chosen[name] = merged
                if fits and search(position + 1):
                    return True
                for name, old in saved.items():
                    if old is None:
                        chosen.pop(name, None)
                    else:
                        chosen[name] = old
            return False

        if not search(0):
            return None
        return {name: pair for name, lits in chosen.items() if (pair := self.field(name, lits))}


@dataclass(frozen=True)
class Cycle:
    """Moves that can follow each other on one input and bring a lead back where it started."""

    source: _Source
    steps: tuple[tuple[Rule, str], ...]  # each rule with the stage it moves the lead from
    witness: Mapping[str, tuple[Value, Value]]  # field -> (before, after) that takes them all


def can_hold(funnel: Funnel, cond: Cond) -> bool:
    """Whether one change from some source (HubSpot contact, Salesforce Lead, ...) can make
    `cond` true: false for contradictions (eq on two values under all) and for changed_to
    on fields no single record carries together."""
    for source in sorted(funnel.sources):
        solver = _Solver(_changeable(funnel, source), frozenset())
        factor = solver.factor(_dnf(cond))
        if factor is None or solver.solve([factor]) is not None:
            return True
    return not funnel.sources


def check(funnel: Funnel) -> list[tuple[Rule, str]]:
    """Every flapping cycle and every rule that could fire on a repeat, with what to say."""
    found = [(rule, _REPEAT) for rule in _repeats(funnel)]
    return found + [(cycle.steps[0][0], _describe(cycle)) for cycle in cycles(funnel)]


def cycles(funnel: Funnel) -> list[Cycle]:
    found: list[Cycle] = []
    written = _written(funnel)
    for source in sorted(funnel.sources):
        one_decision = _Solver(_changeable(funnel, source), written)
        redelivered = _Solver(frozenset(), written, ages_free=True)
        for solver in (one_decision, redelivered):
            known = {frozenset(rule.name for rule, _ in cycle.steps) for cycle in found}
            found += [
                cycle
                for cycle in _cycles(funnel, source, solver)
                if frozenset(rule.name for rule, _ in cycle.steps) not in known
            ]
    return found


def _written(funnel: Funnel) -> frozenset[str]:
    """Fields the rules write themselves: their values differ from step to step of a chain."""
    names = {name for rule in funnel.rules for name in rule.sets}
    return frozenset(names | ({funnel.reason_field} if funnel.reason_field else set()))


def _changeable(funnel: Funnel, source: _Source) -> frozenset[str]:
    names = {fmap.name for _, fmap in funnel.sources.get(source, ())}
    if funnel.scoring is not None and names:
        # Any change that reaches a lead's fields can move its score and grade.
        names |= set(COMPUTED)
    if source == (System.SALESFORCE, "Opportunity") and funnel.deal_field in names:
        names |= {DEALS_PREFIX + value for value in funnel.deal_counts}
    return frozenset(names)


def _repeats(funnel: Funnel) -> list[Rule]:
    solver = _Solver(frozenset(), _written(funnel))
    found = []
    for rule in funnel.rules:
        for term in _dnf(rule.condition):
            negated = any(isinstance(n, Became) and not pos for n, pos in term)
            if not negated or any(isinstance(n, Became) and pos for n, pos in term):
                continue
            rest = solver.factor([frozenset(lit for lit in term if not isinstance(lit[0], Became))])
            if rest is None or solver.solve([rest]) is not None:
                found.append(rule)
                break
    return found


_REPEAT = (
    "can hold just because a field did not change (a not: changed_to with no changed_to beside "
    "it), so deciding again on the same change would fire it a second time; expected each "
    "negated changed_to inside an all that also needs a changed_to"
)


@dataclass(frozen=True)
class _Move:
    rule: Rule
    first: list[_Factor]  # what it needs as the first move of a cycle
    later: list[_Factor]  # what it needs after another move, the stage just entered


def _moves(funnel: Funnel, source: _Source, solver: _Solver) -> dict[str, list[_Move]]:
    """Per stage, the rules that can move a lead from it, each with the factors it needs."""
    moves: dict[str, list[_Move]] = {}
    for stage in funnel.stages:
        earlier: dict[bool, list[_Factor]] = {False: [], True: []}
        for step in funnel.steps[(stage.name, source[0])]:
            needs = {}
            for now in (False, True):
                own = solver.factor(_dnf(step.rule.condition), entered_now=now)
                needs[now] = [*earlier[now], *([own] if own is not None else [])]
                negation = solver.factor(
                    _dnf(step.rule.condition, level=step.holds, positive=False), entered_now=now
                )
                if negation is not None:
                    earlier[now].append(negation)
            if not step.holds and solver.solve(needs[False]) is not None:
                moves.setdefault(stage.name, []).append(_Move(step.rule, needs[False], needs[True]))
    return moves


def _cycles(funnel: Funnel, source: _Source, solver: _Solver) -> list[Cycle]:
    """Depth-first over simple cycles, each from its earliest stage, pruned when unsatisfiable."""
    moves = _moves(funnel, source, solver)
    found: list[Cycle] = []
    reported: set[frozenset[str]] = set()

    def extend(
        start: int,
        stage: str,
        visited: set[str],
        trail: list[tuple[Rule, str]],
        needs: list[_Factor],
    ) -> None:
        for move in moves.get(stage, ()):
            target = funnel.stage[move.rule.target]
            closes = target.index == start
            if target.index < start or (not closes and target.name in visited):
                continue
            combined = needs + (move.later if trail and not solver.ages_free else move.first)
            witness = solver.solve(combined)
            if witness is None:
                continue
            steps = [*trail, (move.rule, stage)]
            if not closes:
                extend(start, target.name, visited | {target.name}, steps, combined)
            elif (names := frozenset(r.name for r, _ in steps)) not in reported:
                reported.add(names)
                found.append(Cycle(source, tuple(steps), witness))

    for stage in funnel.stages:
        extend(stage.index, stage.name, {stage.name}, [], [])
    return found


def _describe(cycle: Cycle) -> str:
    stages = " -> ".join([stage for _, stage in cycle.steps] + [cycle.steps[0][1]])
    rules = ", ".join(rule.name for rule, _ in cycle.steps)
    mentioned = {test.field for rule, _ in cycle.steps for test in walk(rule.condition)}
    example = ", ".join(
        f"{name}={after!r}" + (f" (was {before!r})" if before != after else "")
        for name, (before, after) in sorted(cycle.witness.items())
        if name in mentioned
    )
    system, obj = cycle.source
    return (
        f"rules {rules} can move a lead {stages} and on, on one {system.value} {obj} "
        f"change (for example {example or 'any values'}); expected conditions that exclude "
        "each other, or a rule earlier in the list that keeps the lead where it is"
    )
