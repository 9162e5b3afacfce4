"""Cross-file checks: join the three validated files into one Funnel, or say what does not fit.

Each file is already well-formed (schema.py). What is checked here needs
more than one file: a rule naming a stage or field that is not defined, a
value map or a stage spelled with a picklist value the system does not
have, two mappings fighting over one remote field, a field mapping that
would overwrite what stages.yaml writes, a hand-back without a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from leadbridge.config import conditions, renames, rule_values, schema, sla
from leadbridge.config.conditions import DEALS_PREFIX, STAGE_ENTERED, Aged, Loc
from leadbridge.config.funnel import HUBSPOT_OBJECT, FieldMap, Funnel, Rule, index
from leadbridge.config.problems import Problem
from leadbridge.config.scoring import COMPUTED, build_scoring
from leadbridge.config.scoring_schema import ScoringFile
from leadbridge.config.source import Document
from leadbridge.config.suggest import did_you_mean
from leadbridge.config.transforms import compile_transforms
from leadbridge.model import Side, Stage, System

_Picklists = dict[tuple[System, str, str], tuple[str, ...]]


class _Problems:
    def __init__(self, documents: dict[str, Document]) -> None:
        self.documents = documents
        self.found: list[Problem] = []

    def __call__(self, file: str, loc: Loc, message: str) -> None:
        self.found.append(self.documents[file].problem(loc, message))


def build(
    documents: dict[str, Document],
    stages_file: schema.StagesFile,
    fields_file: schema.FieldsFile,
    handoff_file: schema.HandoffFile,
    scoring_file: ScoringFile | None = None,
) -> tuple[Funnel, list[Problem]]:
    report = _Problems(documents)
    picklists: _Picklists = {}
    declared: list[tuple[System, str, dict[str, tuple[str, ...]]]] = [
        *((System.HUBSPOT, obj, lists) for obj, lists in fields_file.picklists.hubspot.items()),
        *(
            (System.SALESFORCE, obj, lists)
            for obj, lists in fields_file.picklists.salesforce.items()
        ),
    ]
    for system, obj, lists in declared:
        picklists.update({(system, obj, name): values for name, values in lists.items()})
    fields = _fields(fields_file, stages_file.hubspot_stage_property, picklists, report)
    stages = _stages(stages_file, picklists, report)
    slas = sla.slas(
        stages_file.stages,
        stages_file.business_hours,
        stages_file.time_zone,
        documents["stages"].data,
        lambda loc, message: report("stages", loc, message),
    )
    computed = frozenset(COMPUTED) if scoring_file is not None else frozenset()
    rules = _rules(handoff_file, stages, fields, report, computed)
    scoring = (
        build_scoring(
            scoring_file,
            fields,
            {name: tuple(values) for name, values in handoff_file.lists.items()},
            lambda loc, message: report("scoring", loc, message),
        )
        if scoring_file is not None
        else None
    )
    vocabularies = {
        name: found
        for name, fmap in fields.items()
        if (
            found := rule_values.vocabulary(
                fmap, picklists, stages_file.hubspot_stage_property, [s.name for s in stages]
            )
        )
        is not None
    }
    rule_values.check_rules(
        rules,
        vocabularies,
        documents["handoff"].data,
        lambda loc, message: report("handoff", loc, message),
    )
    if handoff_file.reason_field is not None and handoff_file.reason_field not in fields:
        report("handoff", ("reason_field",), _unknown("field", handoff_file.reason_field, fields))
    funnel = Funnel(
        stages=tuple(stages),
        fields=fields,
        rules=tuple(rules),
        picklists=picklists,
        lists={name: tuple(values) for name, values in handoff_file.lists.items()},
        hubspot_stage_property=stages_file.hubspot_stage_property,
        reason_field=handoff_file.reason_field,
        slas=slas,
        scoring=scoring,
    )
    return index(funnel), report.found


def _unknown(
    kind: str, name: str, known: Iterable[str], renamed: Mapping[str, str] | None = None
) -> str:
    if renamed and name in renamed:
        return (
            f"stage {name!r} was renamed to {renamed[name]!r} (its `was:` in stages.yaml), "
            f"expected {renamed[name]}"
        )
    known = list(known)
    hint = did_you_mean(name, known)
    return (
        f"unknown {kind} {name!r}{hint}{' Expected' if hint else ', expected'} one of: "
        f"{', '.join(known) or '(none defined)'}"
    )


def _check_values(
    picklists: _Picklists,
    key: tuple[System, str, str],
    values: Iterable[str],
    where: Loc,
    file: str,
    report: _Problems,
) -> None:
    allowed = picklists.get(key)
    if allowed is None:
        return
    for value in values:
        if value not in allowed:
            system, obj, name = key
            report(
                file,
                where,
                f"{value!r} is not a value of {system.value} {obj}.{name}, "
                f"expected one of: {', '.join(allowed)}{did_you_mean(value, allowed)}",
            )


def _fields(
    spec: schema.FieldsFile, stage_property: str | None, picklists: _Picklists, report: _Problems
) -> dict[str, FieldMap]:
    projected = {(System.HUBSPOT, HUBSPOT_OBJECT, "lifecyclestage"): "lifecyclestage"}
    projected[(System.HUBSPOT, HUBSPOT_OBJECT, "hs_lead_status")] = "lead_status"
    projected[(System.SALESFORCE, "Lead", "Status")] = "lead_status"
    if stage_property:
        projected[(System.HUBSPOT, HUBSPOT_OBJECT, stage_property)] = "hubspot_stage_property"
    owners: dict[tuple[System, str, str], str] = {}
    fields: dict[str, FieldMap] = {}
    for name, field in spec.fields.items():
        fmap = FieldMap(
            name=name,
            direction=field.direction,
            sales_owned=field.sales_owned,
            hubspot=field.hubspot,
            salesforce={obj: remote for obj, remote in field.salesforce.items()},
            description=field.description,
            placeholder=field.placeholder,
        )
        for system, obj, remote in fmap.remote():
            where: Loc = ("fields", name, system.value) + (
                () if system is System.HUBSPOT else (obj,)
            )
            key = (system, obj, remote)
            if key in owners:
                report(
                    "fields",
                    where,
                    f"{system.value} {obj}.{remote} is already mapped by "
                    f"field {owners[key]!r}, expected each remote field in one mapping",
                )
            owners.setdefault(key, name)
            if key in projected and system in fmap.writes_to():
                report(
                    "fields",
                    ("fields", name, "direction"),
                    f"{field.direction} would write {system.value} {obj}.{remote}, which "
                    f"stages.yaml writes ({projected[key]}), expected a direction that only "
                    f"reads {system.value} here",
                )
        read_maps, write_maps = _value_maps(name, field, fmap, picklists, report)
        fields[name] = replace(
            fmap,
            transforms=tuple(field.transforms),
            transform=compile_transforms(field.transforms),
            values=_spellings(field),
            read_maps=read_maps,
            write_maps=write_maps,
            labels=_labels(name, field, report),
        )
    return fields


def _labels(name: str, field: schema.FieldSpec, report: _Problems) -> dict[str, str]:
    """code -> label, from `label` under each value or, for a field without values, `labels`."""
    if field.values is not None and field.labels is not None:
        report(
            "fields",
            ("fields", name, "labels"),
            "labels beside values, expected each value's label under values "
            "(values: {code: {..., label: Words}})",
        )
    found = dict(field.labels or {})
    found.update(
        {code: spelled.label for code, spelled in (field.values or {}).items() if spelled.label}
    )
    return found


def _spellings(field: schema.FieldSpec) -> dict[str, dict[System, tuple[str, ...]]] | None:
    if field.values is None:
        return None
    return {
        canonical: {System.HUBSPOT: spelled.hubspot, System.SALESFORCE: spelled.salesforce}
        for canonical, spelled in field.values.items()
    }


def _value_maps(
    name: str, field: schema.FieldSpec, fmap: FieldMap, picklists: _Picklists, report: _Problems
) -> tuple[dict[System, dict[str, str]], dict[System, dict[str, str]]]:
    read_maps: dict[System, dict[str, str]] = {System.HUBSPOT: {}, System.SALESFORCE: {}}
    write_maps: dict[System, dict[str, str]] = {System.HUBSPOT: {}, System.SALESFORCE: {}}
    for canonical, spelled in (field.values or {}).items():
        for system, spellings in (
            (System.HUBSPOT, spelled.hubspot),
            (System.SALESFORCE, spelled.salesforce),
        ):
            where: Loc = ("fields", name, "values", canonical, system.value)
            for sys, obj, remote in fmap.remote():
                if sys is system:
                    _check_values(picklists, (sys, obj, remote), spellings, where, "fields", report)
            for spelling in spellings:
                earlier = read_maps[system].setdefault(spelling, canonical)
                if earlier != canonical and system in fmap.reads_from():
                    report(
                        "fields",
                        where,
                        f"{spelling!r} already stands for {earlier!r}, "
                        "expected each value read to mean one thing",
                    )
            if spellings:
                write_maps[system][canonical] = spellings[0]
    return read_maps, write_maps


def _stages(spec: schema.StagesFile, picklists: _Picklists, report: _Problems) -> list[Stage]:
    stages: list[Stage] = []
    seen: set[str] = set()
    for i, stage in enumerate(spec.stages):
        where: Loc = ("stages", i)
        if stage.name in seen:
            report(
                "stages",
                (*where, "name"),
                f"stage {stage.name!r} is defined twice, expected each stage once",
            )
        seen.add(stage.name)
        for key, values, path in _stage_spellings(stage, picklists, report):
            _check_values(picklists, key, values, (*where, *path), "stages", report)
        sf = stage.salesforce
        if sf is not None and sf.converted and (sf.lead_status or sf.create):
            report(
                "stages",
                (*where, "salesforce"),
                "a converted Lead can no longer be "
                "written, expected no lead_status or create with converted: true",
            )
        stages.append(_stage(stage, i))
    renames.check_was(stages, lambda loc, message: report("stages", loc, message))
    return stages


_LIFECYCLE = (System.HUBSPOT, HUBSPOT_OBJECT, "lifecyclestage")


def _stage_spellings(
    stage: schema.StageSpec, picklists: _Picklists, report: _Problems
) -> list[tuple[tuple[System, str, str], Iterable[str], Loc]]:
    """Each picklist a stage spells values of, with the values and where they sit.

    Also reports a missing lifecyclestage picklist, which these values need to be checked.
    """
    hub, sf = stage.hubspot, stage.salesforce
    spelled: list[tuple[tuple[System, str, str], Iterable[str], Loc]] = []
    if hub is not None:
        if hub.lifecyclestage and _LIFECYCLE not in picklists:
            report(
                "fields",
                ("picklists", "hubspot"),
                "lifecyclestage is not listed, "
                "expected contact.lifecyclestage with HubSpot's stages in order",
            )
        statuses = (System.HUBSPOT, HUBSPOT_OBJECT, "hs_lead_status")
        spelled += [
            (_LIFECYCLE, hub.lifecyclestage, ("hubspot", "lifecyclestage")),
            (statuses, hub.lead_status, ("hubspot", "lead_status")),
        ]
    if sf is not None:
        deals = (System.SALESFORCE, "Opportunity", "StageName")
        spelled += [
            (
                (System.SALESFORCE, "Lead", "Status"),
                sf.lead_status,
                ("salesforce", "lead_status"),
            ),
            (deals, sf.opportunity_stage, ("salesforce", "opportunity_stage")),
        ]
    return spelled


def _stage(stage: schema.StageSpec, i: int) -> Stage:
    # A system the stage does not mention leaves nothing to write or match there.
    hub, sf = stage.hubspot, stage.salesforce
    return Stage(
        name=stage.name,
        was=stage.was,
        index=i,
        owner=Side(stage.owner),
        sla=stage.sla,
        handback=stage.handback,
        description=stage.description,
        label=stage.label or "",
        next_step=stage.next_step,
        hubspot_lifecycle=hub.lifecyclestage[0] if hub and hub.lifecyclestage else None,
        hubspot_lifecycles=hub.lifecyclestage if hub else (),
        hubspot_lead_status=hub.lead_status if hub else (),
        hubspot_create=hub.create if hub else False,
        salesforce_status=sf.lead_status if sf else (),
        salesforce_create=sf.create if sf else False,
        salesforce_converted=sf.converted if sf else None,
        opportunity_stages=sf.opportunity_stage if sf else (),
    )


def _rules(
    spec: schema.HandoffFile,
    stages: list[Stage],
    fields: dict[str, FieldMap],
    report: _Problems,
    computed: frozenset[str] = frozenset(),
) -> list[Rule]:
    stage_names = {s.name: s for s in stages}
    renamed = renames.renamed(stages)
    lists = {name: tuple(values) for name, values in spec.lists.items()}
    deal_values = _deal_values(fields)
    reason_values = _canonical_values(fields.get(spec.reason_field or ""))
    rules: list[Rule] = []
    names: set[str] = set()

    def problem(loc: Loc, message: str) -> None:
        report("handoff", loc, message)

    for i, rule in enumerate(spec.rules):
        where: Loc = ("rules", i)
        if rule.name in names:
            report(
                "handoff",
                (*where, "name"),
                f"rule {rule.name!r} is defined twice, expected each rule name once",
            )
        names.add(rule.name)
        target = _rule_stages(rule, stage_names, renamed, where, problem)
        condition = conditions.build(rule.when, (*where, "when"), lists, problem)
        _check_tests(condition, fields, deal_values, problem, computed)
        reason = _reason(rule.then, target, reason_values, fields, (*where, "then"), problem)
        _check_sets(rule.then, fields, (*where, "then", "set"), problem)
        rules.append(_rule(i, rule, condition, reason, where))
    return rules


def _deal_values(fields: dict[str, FieldMap]) -> list[str]:
    """The canonical deal stages, from the field mapped to Opportunity.StageName."""
    deal_field = next(
        (f for f in fields.values() if f.salesforce.get("Opportunity") == "StageName"), None
    )
    return list(deal_field.values or {}) if deal_field else []


def _rule_stages(
    rule: schema.RuleSpec,
    stage_names: dict[str, Stage],
    renamed: Mapping[str, str],
    where: Loc,
    problem: conditions.Report,
) -> Stage | None:
    """Check the stages a rule moves from and to; the target, if it is defined."""
    for j, source in enumerate(rule.from_ or ()):
        if source not in stage_names:
            problem((*where, "from", j), _unknown("stage", source, stage_names, renamed))
    target = stage_names.get(rule.then.move_to)
    if target is None:
        problem(
            (*where, "then", "move_to"),
            _unknown("stage", rule.then.move_to, stage_names, renamed),
        )
    return target


def _check_tests(
    condition: conditions.Cond,
    fields: dict[str, FieldMap],
    deal_values: list[str],
    problem: conditions.Report,
    computed: frozenset[str] = frozenset(),
) -> None:
    """Every field a condition tests must be mapped, be a deal stage that is, or be computed
    by scoring.yaml (score, grade)."""
    for test in conditions.walk(condition):
        name = test.field
        if name in computed:
            continue
        # stage_entered is a pseudo-field (when the lead entered its stage), not a mapping.
        if isinstance(test, Aged) and name == STAGE_ENTERED:
            continue
        if name.startswith(DEALS_PREFIX):
            wanted = name.removeprefix(DEALS_PREFIX)
            if wanted not in deal_values:
                problem(
                    test.loc,
                    f"unknown deal stage {wanted!r}, expected deals.<one of: "
                    f"{', '.join(deal_values) or 'no deal_stage values mapped'}>"
                    + did_you_mean(wanted, deal_values),
                )
        elif name not in fields:
            problem(test.loc, _unknown("field", name, [*fields, *computed]))


def _check_sets(
    action: schema.Action, fields: dict[str, FieldMap], where: Loc, problem: conditions.Report
) -> None:
    """Every field a rule sets must be mapped, and set to one of its values if it has any."""
    for name, value in action.set.items():
        if name not in fields:
            problem((*where, name), _unknown("field", name, fields))
        elif (allowed := _canonical_values(fields[name])) and str(value) not in allowed:
            problem(
                (*where, name),
                f"got {value!r}, expected one of: {', '.join(allowed)}"
                + did_you_mean(str(value), allowed),
            )


def _rule(
    i: int,
    rule: schema.RuleSpec,
    condition: conditions.Cond,
    reason: tuple[str | None, str | None, str | None],
    where: Loc,
) -> Rule:
    # reason is what _reason returns: a literal code, or a field with its default.
    action = rule.then
    return Rule(
        index=i,
        name=rule.name,
        description=rule.description,
        sources=frozenset(rule.from_) if rule.from_ is not None else None,
        target=action.move_to,
        condition=condition,
        test=conditions.compile_condition(condition),
        hold=conditions.compile_condition(condition, level=True),
        reason=reason[0],
        reason_field=reason[1],
        reason_default=reason[2],
        sets=dict(action.set),
        block=frozenset(System(name) for name in action.block),
        loc=where,
    )


def _canonical_values(fmap: FieldMap | None) -> list[str]:
    return list(fmap.values) if fmap is not None and fmap.values else []


def _reason(
    action: schema.Action,
    target: Stage | None,
    reason_values: list[str],
    fields: dict[str, FieldMap],
    where: Loc,
    problem: conditions.Report,
) -> tuple[str | None, str | None, str | None]:
    spec = action.reason
    if spec is None:
        if target is not None and target.handback:
            problem(
                where,
                f"moves to hand-back stage {target.name!r} without a reason, "
                "expected reason: <code> or reason: {field: <field>, default: <code>}",
            )
        return None, None, None
    literal = spec if isinstance(spec, str) else spec.default
    if reason_values and literal not in reason_values:
        problem(
            (*where, "reason"),
            f"reason {literal!r} is not a value of the reason field, "
            f"expected one of: {', '.join(reason_values)}{did_you_mean(literal, reason_values)}",
        )
    if isinstance(spec, str):
        return spec, None, None
    if spec.field not in fields:
        problem((*where, "reason", "field"), _unknown("field", spec.field, fields))
    return None, spec.field, spec.default
