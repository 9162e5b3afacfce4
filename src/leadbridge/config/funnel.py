"""The loaded funnel: stages, field mappings and rules, checked and ready to run.

Everything the engine, the mapping and the planner need per change is precomputed
here once (rules per stage in order with their closures, field mappings per remote
object with their readers and how their direction takes each system's values, the
fields each owner writes per record), so deciding a change does no lookups it could
have avoided: a first sync decides every person once, and this is its hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from leadbridge.config import wording
from leadbridge.config.conditions import DEALS_PREFIX, Cond, Loc, Predicate, walk
from leadbridge.config.problems import Problem
from leadbridge.config.schema import Direction
from leadbridge.config.scoring import Scoring
from leadbridge.config.sla import Sla
from leadbridge.config.transforms import Transform, TransformSpec, compile_reader
from leadbridge.model import Side, Stage, System, Value, readable

HUBSPOT_OBJECT = "contact"

# Which systems a direction reads from and writes to.
_READS: Mapping[str, frozenset[System]] = {
    "two_way": frozenset(System),
    "prefer_salesforce_unless_blank": frozenset(System),
    "prefer_hubspot_unless_blank": frozenset(System),
    "always_salesforce": frozenset({System.SALESFORCE}),
    "always_hubspot": frozenset({System.HUBSPOT}),
    "none": frozenset(),
}
_WRITES: Mapping[str, frozenset[System]] = {
    "two_way": frozenset(System),
    "prefer_salesforce_unless_blank": frozenset(System),
    "prefer_hubspot_unless_blank": frozenset(System),
    "always_salesforce": frozenset({System.HUBSPOT}),
    "always_hubspot": frozenset({System.SALESFORCE}),
    "none": frozenset(),
}

# How a field's direction takes a value read from one system (mapping.merge), resolved per
# system once: always, never, the latest change wins (two_way), the preferred system's
# value unless blank, the other system's unless the preferred one set the field.
ACCEPT, REFUSE, LATEST, UNLESS_BLANK, UNLESS_PREFERRED = range(5)


@dataclass(frozen=True)
class FieldMap:
    """One canonical field: where it lives in each system and who wins."""

    name: str
    direction: Direction
    sales_owned: Direction | None
    hubspot: str | None
    salesforce: Mapping[str, str]  # Salesforce object -> field
    transforms: tuple[TransformSpec, ...] = ()
    transform: Transform | None = None
    values: Mapping[str, Mapping[System, tuple[str, ...]]] | None = None
    read_maps: Mapping[System, Mapping[str, str]] = field(default_factory=dict)
    write_maps: Mapping[System, Mapping[str, str]] = field(default_factory=dict)
    description: str = ""
    placeholder: str | None = None  # written to a new Salesforce record for a blank; read as blank
    labels: Mapping[str, str] = field(default_factory=dict)  # code -> what people read

    @cached_property
    def readers(self) -> Mapping[System, Transform]:
        """Per system: a remote value in canonical form (see transforms.compile_reader)."""
        return {
            system: compile_reader(
                self.placeholder,
                self.read_maps.get(system, {}) if self.values is not None else None,
                self.transform,
                self.transforms,
            )
            for system in System
        }

    def direction_for(self, owner: Side) -> Direction:
        if owner is Side.SALES and self.sales_owned is not None:
            return self.sales_owned
        return self.direction

    def reads_from(self) -> frozenset[System]:
        """Every system this field may be read from, under either owner."""
        found = _READS[self.direction]
        return found | _READS[self.sales_owned] if self.sales_owned else found

    def writes_to(self) -> frozenset[System]:
        found = _WRITES[self.direction]
        return found | _WRITES[self.sales_owned] if self.sales_owned else found

    def remote(self) -> list[tuple[System, str, str]]:
        """(system, object, remote field) for every place this field lives."""
        found = [(System.HUBSPOT, HUBSPOT_OBJECT, self.hubspot)] if self.hubspot else []
        return found + [(System.SALESFORCE, obj, name) for obj, name in self.salesforce.items()]


@dataclass(frozen=True)
class Rule:
    index: int
    name: str
    description: str
    sources: frozenset[str] | None  # the stages it applies to; None: any
    target: str
    condition: Cond
    test: Predicate
    hold: Predicate  # the condition with changed_to read as "is now so"
    reason: str | None
    reason_field: str | None
    reason_default: str | None
    sets: Mapping[str, Value]
    block: frozenset[System]
    loc: Loc

    def applies_at(self, stage: str) -> bool:
        return self.sources is None or stage in self.sources

    def holds_at(self, stage: str) -> bool:
        """True when the rule keeps a lead in its own target instead of moving it."""
        return self.target == stage


@dataclass(frozen=True)
class Step:
    """A rule as tried at one stage: the closure to call, and whether a match keeps the lead."""

    rule: Rule
    test: Predicate
    holds: bool


class Writer(NamedTuple):
    fmap: FieldMap
    hubspot: str | None
    salesforce: Mapping[str, str]


class Source(NamedTuple):
    """A remote field of one (system, object) that a canonical field reads, as merge reads it."""

    remote: str
    name: str
    read: Transform  # the field's reader for this system; raises Unreadable
    accepts: int  # ACCEPT, REFUSE, ... under a marketing-owned stage
    sales_accepts: int  # the same under a sales-owned stage (its sales_owned direction)


class Output(NamedTuple):
    """A canonical field as one owner writes it to one remote record (mapping.project)."""

    remote: str
    name: str
    fmap: FieldMap
    spellings: Mapping[str, str] | None  # its value map for the system; None: written as is
    placeholder: str | None  # Salesforce only: written to a new record for a blank


@dataclass(frozen=True)
class Funnel:
    stages: tuple[Stage, ...]
    fields: Mapping[str, FieldMap]
    rules: tuple[Rule, ...]
    picklists: Mapping[tuple[System, str, str], tuple[str, ...]]
    lists: Mapping[str, tuple[Value, ...]]
    hubspot_stage_property: str | None
    reason_field: str | None
    # Derived once, for the per-change path.
    stage: Mapping[str, Stage] = field(default_factory=dict)
    # Per (stage, system the change came from): the rules to try, in order.
    steps: Mapping[tuple[str, System], tuple[Step, ...]] = field(default_factory=dict)
    sources: Mapping[tuple[System, str], tuple[tuple[str, FieldMap], ...]] = field(
        default_factory=dict
    )
    deal_field: str | None = None  # read from Opportunity.StageName
    converted_field: str | None = None  # read from Lead.IsConverted
    mirrors: Mapping[tuple[System, str], str] = field(default_factory=dict)
    deal_counts: tuple[str, ...] = ()  # deal stages whose counts rules use
    deal_facts: tuple[str, ...] = ()  # the same as the fields rules see: deals.<stage>
    # Per owner of the lead's stage: each field that is written, with its HubSpot property
    # (None: not written there) and its Salesforce field per object (empty: not written there).
    writers: Mapping[Side, tuple[Writer, ...]] = field(default_factory=dict)
    # Per stage with an SLA: its limit and how time in the stage is counted (business hours).
    slas: Mapping[str, Sla] = field(default_factory=dict)
    # What `leadbridge check` shows but lets through: rules that can never fire.
    warnings: tuple[Problem, ...] = ()
    # scoring.yaml: the criteria behind the `score` and `grade` rules may test (None: no file).
    scoring: Scoring | None = None
    # Per (system, object): the remote fields read there, resolved for merge (Source).
    reading: Mapping[tuple[System, str], tuple[Source, ...]] = field(default_factory=dict)
    # Per (owner, creating, system, object): the fields project writes there, in the order
    # _mapped tries them (the owner's, then for a record being created the other side's).
    outputs: Mapping[tuple[Side, bool, System, str], tuple[Output, ...]] = field(
        default_factory=dict
    )
    # Per system: (remote field, canonical field, reader) of the stage fields mirrored back.
    mirrored: Mapping[System, tuple[tuple[str, str, Transform], ...]] = field(default_factory=dict)
    # Per (system, object): every remote field mapped there (the planner's echo check).
    mapped: Mapping[tuple[System, str], frozenset[str]] = field(default_factory=dict)
    # Salesforce Lead field -> the Contact's, for the fields mapped on both.
    contact_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def own_hubspot_properties(self) -> dict[str, str]:
        """leadbridge's own HubSpot properties, name -> label, under the names the mappings
        give them (hubspot_stage_property; the hand-back reason field's property): made by
        `leadbridge setup`, checked by `leadbridge doctor` and the daemon's schema gate."""
        reason = self.fields.get(self.reason_field) if self.reason_field else None
        named = {
            self.hubspot_stage_property: "leadbridge stage",
            reason.hubspot if reason is not None else None: "leadbridge hand-back reason",
        }
        if self.scoring is not None:
            named.update(self.scoring.hubspot_properties)
        return {name: label for name, label in named.items() if name}

    def label(self, field_name: str | None, code: Value) -> str:
        """What people read for a field's value: its label in fields.yaml (under `values`,
        or the field's `labels`), else the code made readable (direct_traffic -> Direct
        traffic). A blank reads as "(none)"."""
        if code is None or code == "":
            return "(none)"
        fmap = self.fields.get(field_name) if field_name else None
        text = str(code)
        found = fmap.labels.get(text) if fmap is not None else None
        return found or readable(text)

    def reason_label(self, code: str | None) -> str:
        """A transition's reason as people read it: labelled on handoff.yaml's reason_field,
        else on a field a rule takes its reason from (a Recycle Reason's values)."""
        named = [self.reason_field, *(rule.reason_field for rule in self.rules)]
        for name in dict.fromkeys(named):
            fmap = self.fields.get(name) if name else None
            if fmap is not None and str(code) in fmap.labels:
                return fmap.labels[str(code)]
        return self.label(None, code)

    def stage_label(self, name: str) -> str:
        """A stage's label; a former name (`was:`) reads as the stage it became, and a stage
        the funnel no longer has reads as its name made readable."""
        stage = self.stage.get(name) or self.stage.get(self.renamed.get(name, ""))
        return stage.label if stage is not None else readable(name)

    def next_step(self, name: str) -> str | None:
        """What the stage's owner does next, with its SLA: "accept or reject in Salesforce
        within 2 days" (stages.yaml `next_step`); None when the stage has none."""
        stage = self.stage.get(name) or self.stage.get(self.renamed.get(name, ""))
        return wording.next_step(stage, self.slas.get(stage.name)) if stage else None

    @property
    def renamed(self) -> dict[str, str]:
        """Each stage's former names (stages.yaml `was:`) -> its name now."""
        return {old: stage.name for stage in self.stages for old in stage.was}

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    @cached_property  # the planner asks for it for every lead it plans
    def lifecycle_order(self) -> tuple[str, ...]:
        return self.picklists.get((System.HUBSPOT, HUBSPOT_OBJECT, "lifecyclestage"), ())


def index(funnel: Funnel) -> Funnel:
    """Fill in the derived tables; called once by the loader."""
    stage = {s.name: s for s in funnel.stages}
    steps = {
        (s.name, system): tuple(
            Step(rule, rule.hold if rule.holds_at(s.name) else rule.test, rule.holds_at(s.name))
            for rule in funnel.rules
            if rule.applies_at(s.name)
            and rule.target in stage
            and not (not rule.holds_at(s.name) and _vetoed(system, s, stage[rule.target]))
        )
        for s in funnel.stages
        for system in System
    }
    sources: dict[tuple[System, str], list[tuple[str, FieldMap]]] = {}
    by_remote: dict[tuple[System, str, str], str] = {}
    for fmap in funnel.fields.values():
        for system, obj, remote in fmap.remote():
            by_remote[(system, obj, remote)] = fmap.name
            if system in fmap.reads_from():
                sources.setdefault((system, obj), []).append((remote, fmap))
    mirrors = {
        (system, remote): by_remote[(system, obj, remote)]
        for system, obj, remote in (
            (System.HUBSPOT, HUBSPOT_OBJECT, "lifecyclestage"),
            (System.HUBSPOT, HUBSPOT_OBJECT, "hs_lead_status"),
            (System.SALESFORCE, "Lead", "Status"),
        )
        if (system, obj, remote) in by_remote
    }
    writers = {owner: _writers(funnel, owner) for owner in Side}
    deal_counts = _deal_counts(funnel)
    return Funnel(
        stages=funnel.stages,
        fields=funnel.fields,
        rules=funnel.rules,
        picklists=funnel.picklists,
        lists=funnel.lists,
        hubspot_stage_property=funnel.hubspot_stage_property,
        reason_field=funnel.reason_field,
        stage=stage,
        steps=steps,
        sources={key: tuple(found) for key, found in sources.items()},
        deal_field=by_remote.get((System.SALESFORCE, "Opportunity", "StageName")),
        converted_field=by_remote.get((System.SALESFORCE, "Lead", "IsConverted")),
        mirrors=mirrors,
        deal_counts=deal_counts,
        deal_facts=tuple(DEALS_PREFIX + stage for stage in deal_counts),
        writers=writers,
        slas=funnel.slas,
        scoring=funnel.scoring,
        reading=_reading(sources),
        outputs=_outputs(funnel, writers),
        mirrored=_mirrored(funnel, mirrors),
        mapped=_mapped(funnel),
        contact_names=_contact_names(funnel),
    )


def _contact_names(funnel: Funnel) -> dict[str, str]:
    return {
        fmap.salesforce["Lead"]: fmap.salesforce["Contact"]
        for fmap in funnel.fields.values()
        if "Lead" in fmap.salesforce and "Contact" in fmap.salesforce
    }


def _acceptance(direction: Direction, system: System) -> int:
    """How `direction` takes a value read from `system` (core.mapping.merge applies it)."""
    if direction == "two_way":
        return LATEST
    if direction in ("always_salesforce", "always_hubspot"):
        return ACCEPT if system in _READS[direction] else REFUSE
    if direction == "none":
        return REFUSE
    salesforce = direction == "prefer_salesforce_unless_blank"
    preferred = System.SALESFORCE if salesforce else System.HUBSPOT
    return UNLESS_BLANK if system is preferred else UNLESS_PREFERRED


def _reading(
    sources: Mapping[tuple[System, str], list[tuple[str, FieldMap]]],
) -> dict[tuple[System, str], tuple[Source, ...]]:
    return {
        (system, obj): tuple(
            Source(
                remote,
                fmap.name,
                fmap.readers[system],
                _acceptance(fmap.direction, system),
                _acceptance(fmap.sales_owned or fmap.direction, system),
            )
            for remote, fmap in found
        )
        for (system, obj), found in sources.items()
    }


def _outputs(
    funnel: Funnel, writers: Mapping[Side, tuple[Writer, ...]]
) -> dict[tuple[Side, bool, System, str], tuple[Output, ...]]:
    """What each owner writes to each record, for a record that exists and one being created.

    A field both sides write to the same remote field is tried once: tried again it would
    give the same value, which setdefault would not take anyway.
    """
    records = [(System.HUBSPOT, HUBSPOT_OBJECT)] + [
        (System.SALESFORCE, obj)
        for obj in dict.fromkeys(o for fmap in funnel.fields.values() for o in fmap.salesforce)
    ]
    found: dict[tuple[Side, bool, System, str], tuple[Output, ...]] = {}
    for owner in Side:
        other = Side.SALES if owner is Side.MARKETING else Side.MARKETING
        for creating in (False, True):
            sides = (owner, other) if creating else (owner,)
            for system, obj in records:
                outputs: dict[tuple[str, str], Output] = {}
                for side in sides:
                    for fmap, hubspot, salesforce in writers[side]:
                        remote = hubspot if system is System.HUBSPOT else salesforce.get(obj)
                        if remote is None or (fmap.name, remote) in outputs:
                            continue
                        outputs[(fmap.name, remote)] = Output(
                            remote,
                            fmap.name,
                            fmap,
                            fmap.write_maps.get(system, {}) if fmap.values is not None else None,
                            fmap.placeholder if system is System.SALESFORCE else None,
                        )
                found[(owner, creating, system, obj)] = tuple(outputs.values())
    return found


def _mirrored(
    funnel: Funnel, mirrors: Mapping[tuple[System, str], str]
) -> dict[System, tuple[tuple[str, str, Transform], ...]]:
    found: dict[System, list[tuple[str, str, Transform]]] = {}
    for (system, remote), name in mirrors.items():
        found.setdefault(system, []).append((remote, name, funnel.fields[name].readers[system]))
    return {system: tuple(entries) for system, entries in found.items()}


def _mapped(funnel: Funnel) -> dict[tuple[System, str], frozenset[str]]:
    found: dict[tuple[System, str], set[str]] = {}
    for fmap in funnel.fields.values():
        for system, obj, remote in fmap.remote():
            found.setdefault((system, obj), set()).add(remote)
    return {key: frozenset(remotes) for key, remotes in found.items()}


def _deal_counts(funnel: Funnel) -> tuple[str, ...]:
    """The deal stages whose counts rules or scoring criteria test (deals.<stage>)."""
    tested = [test_field for rule in funnel.rules for test_field in _fields_of(rule)]
    if funnel.scoring is not None:
        tested += [name for criterion in funnel.scoring.criteria for name in criterion.fields]
    return tuple(
        sorted({name.removeprefix("deals.") for name in tested if name.startswith("deals.")})
    )


def _writers(funnel: Funnel, owner: Side) -> tuple[Writer, ...]:
    found = []
    for fmap in funnel.fields.values():
        targets = _WRITES[fmap.direction_for(owner)]
        hubspot = fmap.hubspot if System.HUBSPOT in targets else None
        salesforce = fmap.salesforce if System.SALESFORCE in targets else {}
        if hubspot is not None or salesforce:
            found.append(Writer(fmap, hubspot, salesforce))
    return tuple(found)


def _vetoed(system: System, stage: Stage, target: Stage) -> bool:
    """A HubSpot change never moves a lead out of a sales-owned stage, except forward."""
    return (
        system is System.HUBSPOT
        and stage.owner is Side.SALES
        and not (target.owner is Side.SALES and target.index > stage.index)
    )


def _fields_of(rule: Rule) -> list[str]:
    return [found.field for found in walk(rule.condition)]
