"""What the mappings and the connection files need of each system, field by field (pure).

From the funnel (fields.yaml, stages.yaml, handoff.yaml) and the two connection files:
every HubSpot property and Salesforce field leadbridge reads or writes, the type a write
needs, and every value it writes (or reads as a stage) into a picklist or enumeration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from leadbridge.config import FieldMap, Funnel
from leadbridge.config.funnel import HUBSPOT_OBJECT
from leadbridge.config.scoring import GRADE, SCORE
from leadbridge.connectors.hubspot.settings import HubSpotSettings
from leadbridge.connectors.salesforce.reads import fields_for
from leadbridge.connectors.salesforce.settings import Objects, SalesforceSettings
from leadbridge.model import System

# What a written value has to fit: free text, a number, a date, one of a field's values
# (fields.yaml `values`), a stage value, leadbridge's own text properties, the external id.
TEXT, NUMBER, DATE, CHOICE, STAGE, OWN, EXTERNAL_ID = (
    "text",
    "number",
    "date",
    "choice",
    "stage",
    "own",
    "external id",
)
LIFECYCLE, LEAD_STATUS = "lifecyclestage", "hs_lead_status"
SALESFORCE_STATUS = ("Lead", "Status")
DEAL_STAGE = ("Opportunity", "StageName")
# Leads are created in Salesforce (upsert by external id); any other object is only updated.
CREATED = "Lead"


@dataclass(frozen=True)
class Need:
    """One remote field leadbridge uses, and how."""

    system: System
    object: str
    name: str
    reads: bool = False
    writes: bool = False
    creates: bool = False  # written when a record is created, not only updated
    kind: str = TEXT  # what a write has to fit (ignored for a field only read)
    values: tuple[str, ...] = ()  # written into it
    counted: tuple[str, ...] = ()  # read as a stage: the docs ask that they exist too
    uses: tuple[str, ...] = ()  # where the need comes from, for the fixes

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")


@dataclass(frozen=True)
class Needs:
    hubspot: Mapping[str, Need] = field(default_factory=dict)  # property -> need
    salesforce: Mapping[tuple[str, str], Need] = field(default_factory=dict)  # (object, field)
    objects: tuple[str, ...] = ()  # the Salesforce objects read
    own: tuple[str, ...] = ()  # leadbridge's own HubSpot properties
    external_id: tuple[str, str] = ("Lead", "Leadbridge_Id__c")


class _Collect:
    def __init__(self, system: System) -> None:
        self.system = system
        self.found: dict[tuple[str, str], Need] = {}

    def add(self, obj: str, name: str, use: str, **how: object) -> None:
        key = (obj, name)
        need = self.found.get(key) or Need(self.system, obj, name)
        merged = replace(
            need,
            reads=need.reads or bool(how.get("reads")),
            writes=need.writes or bool(how.get("writes")),
            creates=need.creates or bool(how.get("creates")),
            values=_union(need.values, _strings(how.get("values"))),
            counted=_union(need.counted, _strings(how.get("counted"))),
            uses=_union(need.uses, (use,)),
        )
        kind = how.get("kind")
        if isinstance(kind, str) and (need.kind == TEXT or kind in (STAGE, OWN, EXTERNAL_ID)):
            merged = replace(merged, kind=kind)
        self.found[key] = merged


def needs(funnel: Funnel, hubspot: HubSpotSettings, salesforce: SalesforceSettings) -> Needs:
    own = tuple(funnel.own_hubspot_properties)
    hs = _Collect(System.HUBSPOT)
    for name in hubspot.read_properties:
        hs.add(HUBSPOT_OBJECT, name, "connectors/hubspot.yaml", reads=True)
    sf = _Collect(System.SALESFORCE)
    objects = []
    for obj in Objects.model_fields:
        configured = salesforce.objects.get(obj)
        if configured is None:
            continue
        objects.append(obj)
        for name in fields_for(obj, configured.fields):
            sf.add(obj, name, "connectors/salesforce.yaml", reads=True)
    for fmap in funnel.fields.values():
        _field(hs, sf, fmap, _rule_values(funnel, fmap.name))
    _stages(hs, sf, funnel)
    for name in own:
        hs.add(HUBSPOT_OBJECT, name, "leadbridge's own property", writes=True, kind=OWN)
    _scoring(sf, funnel)
    lead, key = CREATED, salesforce.external_id_field
    how = {"reads": True, "writes": True, "creates": True, "kind": EXTERNAL_ID}
    sf.add(lead, key, "external_id_field", **how)  # read too: it names the lead (sync.resolve)
    for obj, _ in sf.found:
        if obj not in objects:
            objects.append(obj)
    return Needs(
        hubspot={name: need for (_, name), need in hs.found.items()},
        salesforce=dict(sf.found),
        objects=tuple(objects),
        own=own,
        external_id=(lead, key),
    )


def _field(hs: _Collect, sf: _Collect, fmap: FieldMap, literal: tuple[str, ...]) -> None:
    use = f"mappings/fields.yaml {fmap.name}"
    reads, writes = fmap.reads_from(), fmap.writes_to()
    kind = _kind(fmap)
    for system, obj, remote in fmap.remote():
        written = system in writes
        values = (*_written_values(fmap, system), *literal) if written else ()
        collect = hs if system is System.HUBSPOT else sf
        collect.add(
            obj,
            remote,
            use,
            reads=system in reads,
            writes=written,
            creates=written and system is System.SALESFORCE and obj == CREATED,
            kind=kind,
            values=values,
        )


def _scoring(sf: _Collect, funnel: Funnel) -> None:
    """The Salesforce fields scoring.yaml writes: the score a number, the grade one of the
    grades, the reasons text (its HubSpot properties are leadbridge's own, above)."""
    scoring = funnel.scoring
    if scoring is None:
        return
    use = "mappings/scoring.yaml"
    for obj, name, what in scoring.salesforce_fields():
        how: dict[str, object] = {"writes": True, "creates": obj == CREATED}
        if what == SCORE:
            how["kind"] = NUMBER
        elif what == GRADE:
            how.update(kind=CHOICE, values=scoring.grade_names)
        sf.add(obj, name, use, **how)


def _stages(hs: _Collect, sf: _Collect, funnel: Funnel) -> None:
    use = "mappings/stages.yaml"
    for stage in funnel.stages:
        if stage.hubspot_lifecycle:
            written = (stage.hubspot_lifecycle,)
            hs.add(HUBSPOT_OBJECT, LIFECYCLE, use, writes=True, kind=STAGE, values=written)
        if stage.hubspot_lifecycles:
            hs.add(HUBSPOT_OBJECT, LIFECYCLE, use, kind=STAGE, counted=stage.hubspot_lifecycles)
        if stage.hubspot_lead_status:
            status = stage.hubspot_lead_status
            hs.add(
                HUBSPOT_OBJECT,
                LEAD_STATUS,
                use,
                writes=True,
                kind=STAGE,
                values=status[:1],
                counted=status,
            )
        if stage.salesforce_status:
            status = stage.salesforce_status
            obj, name = SALESFORCE_STATUS
            how = {"writes": True, "creates": True, "kind": STAGE}
            sf.add(obj, name, use, values=status[:1], counted=status, **how)
        if stage.opportunity_stages:
            obj, name = DEAL_STAGE
            sf.add(obj, name, use, reads=True, counted=stage.opportunity_stages)
    if funnel.hubspot_stage_property:
        name = funnel.hubspot_stage_property
        hs.add(HUBSPOT_OBJECT, name, use, reads=True, writes=True, kind=OWN)


def _kind(fmap: FieldMap) -> str:
    if fmap.values:
        return CHOICE
    names = {spec.name for spec in fmap.transforms}
    if "number" in names:
        return NUMBER
    if names & {"date", "datetime"}:
        return DATE
    return TEXT


def _written_values(fmap: FieldMap, system: System) -> tuple[str, ...]:
    """The first spelling of each canonical value: the one a write uses."""
    if not fmap.values:
        return ()
    return tuple(spelled[0] for spelled in (v.get(system) for v in fmap.values.values()) if spelled)


def _rule_values(funnel: Funnel, name: str) -> tuple[str, ...]:
    """Values rules set (`set:` in handoff.yaml) on a field without `values`: written as is."""
    fmap = funnel.fields[name]
    if fmap.values:
        return ()
    return tuple(
        str(rule.sets[name])
        for rule in funnel.rules
        if name in rule.sets and isinstance(rule.sets[name], str)
    )


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, Iterable) and not isinstance(value, str):
        return tuple(str(item) for item in value)
    return ()


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))
