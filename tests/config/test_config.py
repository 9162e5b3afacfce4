"""Config you can trust: every kind of broken mapping is named with file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from leadbridge.config import ConfigError, Funnel, Problem, funnel_from_texts, load_funnel
from leadbridge.model import Side, System
from tests.conftest import Edit, shipped


class Broken(NamedTuple):
    file: str
    old: str
    new: str
    field: str  # the field path the problem must name
    says: str  # a fragment of what it must say
    mark: str = ""  # a text on the line it must point at (default: the new text's first line)
    occurrence: int = 1  # which line holding `mark`


BROKEN = {
    "yaml syntax": Broken(
        "fields",
        "    hubspot: email\n",
        "    hubspot: [email\n",
        "(yaml)",
        "is not closed, expected ',' between its items and ']'",
    ),
    "duplicate key": Broken(
        "stages",
        "  - name: subscriber\n    owner: marketing\n",
        "  - name: subscriber\n    owner: marketing\n    owner: sales\n",
        'stage "subscriber" owner',
        "duplicate key 'owner' (first at line",
        "owner: sales",
    ),
    "unknown key": Broken(
        "stages",
        "  - name: mql\n    owner: marketing\n",
        "  - name: mql\n    owner: marketing\n    colour: red\n",
        'stage "mql" colour',
        "unknown key 'colour', expected one of: name, owner, sla, handback, description",
        "colour: red",
    ),
    "missing key": Broken(
        "stages",
        "  - name: lead\n    owner: marketing\n",
        "  - name: lead\n",
        'stage "lead" owner',
        "missing, expected this key to be set",
        "name: lead",
    ),
    "bad duration": Broken(
        "stages",
        "    sla: 2d # sales accepts or rejects it within two days",
        "    sla: two days",
        'stage "mql" sla',
        "got 'two days', expected a duration with a unit, such as 90m, 12h, 2d or 1w",
    ),
    "value outside a fixed set": Broken(
        "stages",
        "  - name: lead\n    owner: marketing\n",
        "  - name: lead\n    owner: finance\n",
        'stage "lead" owner',
        "got 'finance', expected 'marketing' or 'sales'",
        "owner: finance",
    ),
    "bad name": Broken(
        "stages",
        "  - name: sql\n",
        "  - name: Sales Qualified\n",
        'stage "Sales Qualified" name',
        "expected a name of lowercase letters, digits and _",
    ),
    "unknown direction": Broken(
        "fields",
        "    hubspot: industry\n    direction: always_hubspot\n",
        "    hubspot: industry\n    direction: hubspot_wins\n",
        "fields.industry.direction",
        "got 'hubspot_wins', expected 'two_way', 'prefer_salesforce_unless_blank'",
        "direction: hubspot_wins",
    ),
    "unknown condition operator": Broken(
        "handoff",
        "    when: {domain_in: {email: competitors}}",
        "    when: {domain_ends: {email: competitors}}",
        'rule "competitor" when.domain_ends',
        "`domain_ends` is not an operator; did you mean `domain_in`?",
        "domain_ends",
    ),
    "wrong type in a condition": Broken(
        "handoff",
        "        - gte: {score: 60}",
        "        - gte: {score: sixty}",
        'rule "score_and_fit" when.all[0].gte.score',
        "got 'sixty', expected a number",
    ),
    "rule moves to an undefined stage": Broken(
        "handoff",
        "move_to: repeat_customer, reason: second_closed_won",
        "move_to: loyal_customer, reason: second_closed_won",
        'rule "second_win" then.move_to',
        "unknown stage 'loyal_customer'; did you mean 'customer'? Expected one of: subscriber,",
    ),
    "rule from an undefined stage": Broken(
        "handoff",
        "    from: [customer]\n",
        "    from: [customers]\n",
        'rule "second_win" from[0]',
        "unknown stage 'customers'",
    ),
    "rule names an undefined field": Broken(
        "handoff",
        "    when: {gte: {deals.won: 2}}",
        "    when: {gte: {wins: 2}}",
        'rule "second_win" when.gte.wins',
        "unknown field 'wins', expected one of: email, first_name",
    ),
    "rule counts an undefined deal stage": Broken(
        "handoff",
        "    when: {gte: {deals.won: 2}}",
        "    when: {gte: {deals.closed: 2}}",
        'rule "second_win" when.gte.deals.closed',
        "unknown deal stage 'closed', expected deals.<one of: open, on_hold, won, lost>",
    ),
    "rule names an undefined list": Broken(
        "handoff",
        "    when: {in: {last_form: hand_raise_forms}}",
        "    when: {in: {last_form: hand_raisers}}",
        'rule "hand_raise" when.in.last_form',
        "unknown list 'hand_raisers', expected a name under lists:",
    ),
    "value map onto an undefined picklist value": Broken(
        "fields",
        "      paid_social: {label: Paid social, hubspot: PAID_SOCIAL, salesforce: Web}",
        "      paid_social: {label: Paid social, hubspot: PAID_SOCIAL, salesforce: Social Ads}",
        "fields.source.values.paid_social.salesforce",
        "'Social Ads' is not a value of salesforce Lead.LeadSource, expected one of: Web,",
    ),
    "stage shown as an undefined picklist value": Broken(
        "stages",
        "    hubspot: {lifecyclestage: marketingqualifiedlead, lead_status: [NEW, OPEN]}",
        "    hubspot: {lifecyclestage: mql, lead_status: [NEW, OPEN]}",
        'stage "mql" hubspot.lifecyclestage',
        "'mql' is not a value of hubspot contact.lifecyclestage",
    ),
    "transform not in the fixed set": Broken(
        "fields",
        "    transforms: [strip, lower] # emails match case-insensitively everywhere",
        "    transforms: [strip, lowercase]",
        "fields.email.transforms[1]",
        "unknown transform 'lowercase', expected one of: lower, upper, strip",
    ),
    "transform without its argument": Broken(
        "fields",
        "    transforms: [strip, {truncate: 255}]",
        "    transforms: [strip, truncate]",
        "fields.company.transforms[1]",
        "transform 'truncate' needs an argument, expected {truncate: a whole number",
    ),
    "remote field mapped twice": Broken(
        "fields",
        "  lifecycle: {hubspot: lifecyclestage, direction: always_hubspot}",
        "  lifecycle: {hubspot: hs_lead_status, direction: always_hubspot}",
        "fields.hs_lead_status.hubspot",
        "hubspot contact.hs_lead_status is already mapped by field 'lifecycle'",
        "  hs_lead_status: {hubspot: hs_lead_status",
    ),
    "mapping overwrites a stage field": Broken(
        "fields",
        "  hs_lead_status: {hubspot: hs_lead_status, direction: always_hubspot}",
        "  hs_lead_status: {hubspot: hs_lead_status, direction: two_way}",
        "fields.hs_lead_status.direction",
        "two_way would write hubspot contact.hs_lead_status, which stages.yaml writes",
    ),
    "hand-back without a reason": Broken(
        "handoff",
        "    then: {move_to: nurture, reason: on_hold}",
        "    then: {move_to: nurture}",
        'rule "deal_on_hold" then',
        "moves to hand-back stage 'nurture' without a reason",
    ),
    "duplicate rule name": Broken(
        "handoff",
        "  - name: deal_on_hold\n",
        "  - name: deal_lost\n",
        'rule "deal_lost" name',
        "rule 'deal_lost' is defined twice",
        occurrence=2,
    ),
    "rules that flap": Broken(
        "handoff",
        "        - not: {changed_to: {hs_lead_status: UNQUALIFIED}}\n",
        "",
        'rule "marketing_disqualified"',
        "rules marketing_disqualified, re_engaged can move a lead mql -> disqualified -> mql",
        "  - name: marketing_disqualified",
    ),
    "rule that fires again on a repeat": Broken(
        "handoff",
        "    when: {any: [{present: last_form}, {present: sf_status}]}",
        "    when: {not: {changed_to: {score: {gte: 60}}}}",
        'rule "responded"',
        "deciding again on the same change would fire it a second time",
        "  - name: responded",
    ),
    "list name used as a value": Broken(
        "handoff",
        "    when: {changed_to: {sf_status: {in: recycled}}}",
        "    when: {changed_to: {sf_status: recycled}}",
        'rule "sales_recycled" when.changed_to.sf_status',
        "'recycled' is the name of a list, expected {in: recycled} to use the list",
    ),
    "business hours that do not parse": Broken(
        "stages",
        "    sla: 5d # to an opportunity\n",
        "    sla: 40h\n    business_hours: Mon-Fry 09:00-17:00\n    time_zone: UTC\n",
        'stage "sql" business_hours',
        "got 'Mon-Fry 09:00-17:00', expected business hours such as Mon-Fri 09:00-17:00",
        "business_hours: Mon-Fry",
    ),
    "business hours closing before they open": Broken(
        "stages",
        "    sla: 5d # to an opportunity\n",
        "    sla: 40h\n    business_hours: Mon-Fri 17:00-09:00\n    time_zone: UTC\n",
        'stage "sql" business_hours',
        "each window opening before it closes",
        "business_hours: Mon-Fri 17:00",
    ),
    "unknown time zone": Broken(
        "stages",
        "    sla: 5d # to an opportunity\n",
        "    sla: 5d # to an opportunity\n    time_zone: Europe/Berlln\n",
        'stage "sql" time_zone',
        "got 'Europe/Berlln', expected an IANA time zone such as Europe/Berlin",
        "time_zone: Europe/Berlln",
    ),
    "business hours without a time zone": Broken(
        "stages",
        "    sla: 5d # to an opportunity\n",
        "    sla: 40h\n    business_hours: Mon-Fri 09:00-17:00\n",
        'stage "sql" business_hours',
        "business hours without a time zone, expected time_zone: an IANA name",
        "business_hours: Mon-Fri 09:00-17:00",
    ),
    "an sla in days counted in business hours": Broken(
        "stages",
        "    sla: 2d # sales accepts or rejects it within two days",
        "    sla: 2d # sales accepts or rejects it within two days\n"
        "    business_hours: Mon-Fri 09:00-17:00\n    time_zone: Europe/Berlin",
        'stage "mql" sla',
        "got '2d' counted in business hours (Mon-Fri 09:00-17:00), expected hours or minutes",
    ),
    "business hours on a stage without an sla": Broken(
        "stages",
        "  - name: lead\n    owner: marketing\n",
        "  - name: lead\n    owner: marketing\n    business_hours: Mon-Fri 09:00-17:00\n",
        'stage "lead" business_hours',
        "set on a stage without an sla, expected an sla here",
        "business_hours: Mon-Fri 09:00-17:00",
    ),
}


def _line_of(path: Path, mark: str, occurrence: int = 1) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, 1) if mark in line][occurrence - 1]


def _problems(directory: Path) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        load_funnel(directory)
    return caught.value.problems


def test_the_shipped_mappings_load(funnel: Funnel) -> None:
    assert [stage.name for stage in funnel.stages] == [
        "subscriber",
        "lead",
        "mql",
        "sql",
        "opportunity",
        "customer",
        "repeat_customer",
        "nurture",
        "disqualified",
    ]
    assert {s.name for s in funnel.stages if s.owner is Side.SALES} == {
        "sql",
        "opportunity",
        "customer",
        "repeat_customer",
    }
    assert funnel.stage["mql"].sla is not None and funnel.stage["mql"].sla.days == 2
    assert {s.name for s in funnel.stages if s.handback} == {"nurture", "disqualified"}
    assert funnel.lifecycle_order[:3] == ("subscriber", "lead", "marketingqualifiedlead")
    assert funnel.deal_field == "deal_stage" and funnel.converted_field == "converted"


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_kind_of_broken_config_is_named_with_file_and_line(kind: str, edited: Edit) -> None:
    case = BROKEN[kind]
    directory = edited((case.file, case.old, case.new))
    problems = _problems(directory)
    path = directory / f"{case.file}.yaml"
    matching = [p for p in problems if p.field == case.field and case.says in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    problem = matching[0]
    assert problem.path == str(path)
    expected_line = _line_of(path, case.mark or case.new.strip().splitlines()[0], case.occurrence)
    if kind == "yaml syntax":  # the parser notices an unclosed bracket where it ends
        assert problem.line >= expected_line
    else:
        assert problem.line == expected_line, str(problem)
    assert problem.column >= 1
    assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: {case.field}: ")


def test_at_least_ten_kinds_are_covered() -> None:
    assert len(BROKEN) >= 10


def test_a_missing_file_is_named(edited: Edit) -> None:
    directory = edited()
    (directory / "handoff.yaml").unlink()
    (problem,) = _problems(directory)
    assert (
        str(problem)
        == f"{directory}/handoff.yaml:1:1: (file): file not found, expected it to exist"
    )


def test_every_problem_is_reported_at_once(edited: Edit) -> None:
    schema_errors = edited(
        ("stages", "    sla: 2d # sales accepts or rejects it within two days", "    sla: soon"),
        (
            "fields",
            "    transforms: [number]\n  last_form:",
            "    transforms: [digits]\n  last_form:",
        ),
        ("handoff", "        - gte: {score: 60}", "        - gte: {score: high}"),
    )
    assert {p.path.rsplit("/", 1)[1] for p in _problems(schema_errors)} == {
        "stages.yaml",
        "fields.yaml",
        "handoff.yaml",
    }


def test_every_cross_file_problem_is_reported_at_once(edited: Edit) -> None:
    directory = edited(
        ("handoff", "    from: [customer]\n", "    from: [customers]\n"),
        (
            "handoff",
            "    then: {move_to: nurture, reason: on_hold}",
            "    then: {move_to: nurture}",
        ),
        ("fields", "salesforce: Partner Referral}", "salesforce: Referral}"),
        ("stages", "lifecyclestage: other, lead_status: UNQUALIFIED", "lifecyclestage: dead"),
    )
    fields = {p.field for p in _problems(directory)}
    assert {
        'rule "second_win" from[0]',
        'rule "deal_on_hold" then',
        "fields.source.values.referrals.salesforce",
        'stage "disqualified" hubspot.lifecyclestage',
    } <= fields


def test_unknown_keys_are_errors_at_every_level(edited: Edit) -> None:
    directory = edited(
        ("stages", "hubspot_stage_property:", "hubspot_stage_propery: x\nhubspot_stage_property:"),
        (
            "fields",
            "    direction: two_way\n    transforms: [strip]\n  last_name:",
            "    direction: two_way\n    transforms: [strip]\n    sync: true\n  last_name:",
        ),
        (
            "handoff",
            "then: {move_to: disqualified, reason: bad_data}",
            "then: {move_to: disqualified, reason: bad_data, notify: true}",
        ),
    )
    found = {(p.path.rsplit("/", 1)[1], p.field) for p in _problems(directory)}
    assert {
        ("stages.yaml", "hubspot_stage_propery"),
        ("fields.yaml", "fields.first_name.sync"),
        ("handoff.yaml", 'rule "bad_data" then.notify'),
    } <= found


def test_yes_and_no_stay_text() -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    texts["handoff"] = texts["handoff"].replace(
        "not_a_buyer: [Student, Intern]", "not_a_buyer: [No, Off]"
    )
    funnel = funnel_from_texts(texts)
    assert funnel.lists["not_a_buyer"] == ("No", "Off")


def test_stage_projection_and_mirrors_are_indexed(funnel: Funnel) -> None:
    assert funnel.mirrors[(System.SALESFORCE, "Status")] == "sf_status"
    assert funnel.mirrors[(System.HUBSPOT, "hs_lead_status")] == "hs_lead_status"
    # A competitor rule may hold a lead in disqualified; sales_disqualified may not (it would
    # keep every rep-disqualified lead dead forever).
    at_disqualified = [s.rule.name for s in funnel.steps[("disqualified", System.SALESFORCE)]]
    assert at_disqualified[0] == "competitor" and "sales_disqualified" not in at_disqualified
    # HubSpot changes are never even tried against moves out of sales-owned stages.
    from_sql_on_hubspot = {s.rule.target for s in funnel.steps[("sql", System.HUBSPOT)]}
    assert from_sql_on_hubspot <= {"opportunity", "customer", "repeat_customer", "sql"}


def _texts() -> dict[str, str]:
    return {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}


def test_stages_can_be_renamed_added_and_removed() -> None:
    renamed = _texts()
    for name in ("stages", "handoff"):
        renamed[name] = renamed[name].replace("nurture", "recycle")
    assert "recycle" in funnel_from_texts(renamed).stage

    repeat_stage = shipped("stages").index("  # HubSpot has no")
    after = shipped("stages").index("  - name: nurture")
    removed = _texts()
    removed["stages"] = removed["stages"][:repeat_stage] + removed["stages"][after:]
    with pytest.raises(ConfigError) as caught:
        funnel_from_texts(removed)
    (problem,) = caught.value.problems
    assert (
        problem.field == 'rule "second_win" then.move_to' and "'repeat_customer'" in problem.message
    )
    removed["handoff"] = removed["handoff"].replace(
        "    from: [customer]\n    when: {gte: {deals.won: 2}}\n"
        "    then: {move_to: repeat_customer, reason: second_closed_won}\n",
        "    from: [customer]\n    when: {gte: {deals.won: 2}}\n"
        "    then: {move_to: customer, reason: second_closed_won}\n",
    )
    assert "repeat_customer" not in funnel_from_texts(removed).stage

    added = _texts()
    added["stages"] = added["stages"].replace(
        "  - name: lead\n",
        "  - name: event_lead\n    owner: marketing\n    sla: 1w\n"
        "    hubspot: {lifecyclestage: lead}\n\n  - name: lead\n",
    )
    added["handoff"] = added["handoff"].replace(
        "\nrules:\n",
        "\nrules:\n  - {name: met_at_event, from: [subscriber],"
        " when: {eq: {source: offline}}, then: {move_to: event_lead}}\n",
    )
    funnel = funnel_from_texts(added)
    assert [s.name for s in funnel.stages][:3] == ["subscriber", "event_lead", "lead"]
    assert funnel.rules[0].name == "met_at_event"


def _office_hours(stages: str, header: str) -> str:
    """stages.yaml with funnel-wide `header` lines, mql's SLA in open hours, and the long
    SLAs (sql 5d, nurture 90d) left on wall time with business_hours: 24/7."""
    return header + stages.replace(
        "    sla: 2d # sales accepts or rejects it within two days",
        "    sla: 16h # two working days",
    ).replace("    sla: 5d # to an opportunity", "    sla: 5d\n    business_hours: 24/7").replace(
        "    sla: 90d # marketing re-scores it", "    sla: 90d\n    business_hours: 24/7"
    )


def test_business_hours_and_time_zone_funnel_wide_and_per_stage() -> None:
    texts = _texts()
    texts["stages"] = _office_hours(
        texts["stages"], "business_hours: Mon-Fri 09:00-17:00\ntime_zone: America/New_York\n"
    ).replace("    sla: 5d\n", "    sla: 5d\n    time_zone: Europe/Berlin\n")
    funnel = funnel_from_texts(texts)
    mql = funnel.slas["mql"]
    assert mql.limit.total_seconds() == 16 * 3600
    assert mql.hours is not None
    assert (mql.hours.text, mql.hours.zone) == ("Mon-Fri 09:00-17:00", "America/New_York")
    assert [(w.weekday, w.start, w.end) for w in mql.hours.windows][:2] == [
        (0, 540, 1020),
        (1, 540, 1020),
    ]
    assert funnel.slas["sql"].hours is None and funnel.slas["nurture"].hours is None
    assert "lead" not in funnel.slas  # no SLA, nothing to count


def test_the_shipped_funnel_counts_wall_time() -> None:
    funnel = funnel_from_texts(_texts())
    assert {name: sla.hours for name, sla in funnel.slas.items()} == {
        "mql": None,
        "sql": None,
        "nurture": None,
    }


def test_funnel_wide_business_hours_need_a_time_zone() -> None:
    texts = _texts()
    texts["stages"] = _office_hours(texts["stages"], "business_hours: Mon-Fri 09:00-17:00\n")
    with pytest.raises(ConfigError) as caught:
        funnel_from_texts(texts)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (1, "business_hours")
    assert "business hours without a time zone" in problem.message
