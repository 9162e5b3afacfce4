"""The doctor's checks are pure: (what the funnel needs, what the systems answered) -> lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.config import Funnel
from leadbridge.connectors.base import FieldSchema, ObjectSchema
from leadbridge.connectors.budget import BudgetState
from leadbridge.connectors.errors import Failure
from leadbridge.connectors.hubspot.scopes import REQUIRED_SCOPES, SCHEMAS_WRITE, TokenInfo
from leadbridge.connectors.hubspot.settings import load_hubspot_settings
from leadbridge.connectors.salesforce.settings import load_salesforce_settings
from leadbridge.model import System
from leadbridge.preflight.checks import Check
from leadbridge.preflight.hubspot import HubSpotFacts, check_hubspot, property_checks
from leadbridge.preflight.needs import (
    CHOICE,
    EXTERNAL_ID,
    NUMBER,
    OWN,
    STAGE,
    TEXT,
    Need,
    Needs,
    needs,
)
from leadbridge.preflight.salesforce import (
    SalesforceFacts,
    SField,
    SObject,
    check_salesforce,
    external_id_check,
    field_checks,
    object_check,
    parse_describe,
)
from leadbridge.preflight.usage import SlackFacts, budget_check, slack_checks

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "HUBSPOT_TOKEN": "pat-na1-x",
    "SALESFORCE_URL": "https://acme.my.salesforce.com",
    "SALESFORCE_CLIENT_ID": "id",
    "SALESFORCE_CLIENT_SECRET": "secret",
    "SALESFORCE_ORG_ID": "00D5g000004XyzAEAS",
}
HS, SF = System.HUBSPOT, System.SALESFORCE


def _hs(name: str, **how: object) -> Need:
    return Need(HS, "contact", name, **how)  # type: ignore[arg-type]


def _sf(obj: str, name: str, **how: object) -> Need:
    return Need(SF, obj, name, **how)  # type: ignore[arg-type]


def _summary(checks: list[Check]) -> list[tuple[str, bool]]:
    return [(check.name, check.ok) for check in checks]


@pytest.fixture(scope="module")
def shipped(funnel: Funnel) -> Needs:
    return needs(
        funnel,
        load_hubspot_settings(ROOT / "connectors" / "hubspot.yaml", ENV),
        load_salesforce_settings(ROOT / "connectors" / "salesforce.yaml", ENV),
    )


def test_what_the_shipped_mappings_need(shipped: Needs) -> None:
    assert shipped.own == (
        "leadbridge_stage",
        "leadbridge_handback_reason",
        "leadbridge_score",
        "leadbridge_grade",
        "leadbridge_score_reasons",
    )
    score = shipped.salesforce[("Lead", "Leadbridge_Score__c")]
    assert score.kind == NUMBER and score.writes and score.creates
    grade = shipped.salesforce[("Lead", "Leadbridge_Grade__c")]
    assert grade.kind == CHOICE and grade.values == ("A", "B", "C", "D")
    assert shipped.hubspot["leadbridge_stage"].kind == OWN
    lifecycle = shipped.hubspot["lifecyclestage"]
    assert lifecycle.kind == STAGE and lifecycle.writes
    assert set(lifecycle.values) == {
        "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
        "customer", "other",
    }  # fmt: skip
    assert "evangelist" in lifecycle.counted and "evangelist" not in lifecycle.values
    status = shipped.salesforce[("Lead", "Status")]
    assert status.values == ("Open", "Working", "Nurture", "Disqualified")
    assert set(status.counted) == {
        "Open",
        "Working",
        "Qualified",
        "Nurture",
        "Recycled",
        "Disqualified",
    }
    key = shipped.salesforce[("Lead", "Leadbridge_Id__c")]
    assert key.kind == EXTERNAL_ID and key.creates and shipped.external_id == ("Lead", key.name)
    assert shipped.salesforce[("Contact", "Email")].writes
    assert not shipped.salesforce[("Contact", "Email")].creates  # Contacts are only updated
    assert not shipped.salesforce[("Opportunity", "Loss_Reason__c")].writes
    assert shipped.hubspot["hubspotscore"].reads and not shipped.hubspot["hubspotscore"].writes
    assert shipped.objects[:2] == ("Lead", "Contact")


_TEXT = FieldSchema("firstname", "string", "First Name")
_COMPUTED = FieldSchema("hubspotscore", "number", "Score", writable=False)
_STAGES = FieldSchema(
    "hs_lead_status", "enumeration", "Lead Status", options=("NEW", "OPEN"), restricted=True
)


@pytest.mark.parametrize(
    ("need", "found", "expected", "fix_says"),
    [
        (_hs("firstname", reads=True, writes=True), _TEXT, [("property firstname", True)], ""),
        (_hs("bant_need", reads=True), None, [("property bant_need", True)], ""),
        (
            _hs("leadbridge_stage", writes=True, kind=OWN),
            None,
            [("property leadbridge_stage", False)],
            "leadbridge setup --apply",
        ),
        (
            _hs("custom_text", writes=True),
            None,
            [("property custom_text", False)],
            "create the contact property custom_text",
        ),
        (
            _hs("hubspotscore", writes=True, kind=TEXT),
            _COMPUTED,
            [("property hubspotscore", False)],
            "writable",
        ),
        (
            _hs("leadbridge_stage", writes=True, kind=OWN),
            FieldSchema("leadbridge_stage", "enumeration", writable=True),
            [("property leadbridge_stage", False)],
            "single-line text",
        ),
        (
            _hs("hs_lead_status", writes=True, kind=STAGE, values=("NEW",), counted=("BAD",)),
            _STAGES,
            [
                ("property hs_lead_status", True),
                ("hs_lead_status value NEW", True),
                ("hs_lead_status value BAD", False),
            ],
            "add BAD to the options of hs_lead_status",
        ),
        (
            _hs("firstname", writes=True, kind=CHOICE, values=("Ada", "Bo")),
            FieldSchema("firstname", "enumeration", options=("Ada",), restricted=True),
            [("property firstname", True), ("property firstname values", False)],
            "add Bo to the options",
        ),
    ],
)
def test_hubspot_property(
    need: Need, found: FieldSchema | None, expected: list[tuple[str, bool]], fix_says: str
) -> None:
    checks = property_checks(need, found)
    assert _summary(checks) == expected
    fixes = " ".join(check.fix for check in checks if not check.ok)
    assert fix_says in fixes


def _token(*scopes: str) -> TokenInfo:
    return TokenInfo(frozenset(scopes), hub_id=1, app_id=2)


_OWN_NEEDS = Needs(hubspot={"leadbridge_stage": _hs("leadbridge_stage", writes=True, kind=OWN)},
                   own=("leadbridge_stage",))  # fmt: skip
_WITH_OWN = ObjectSchema(
    HS, "contact", {"leadbridge_stage": FieldSchema("leadbridge_stage", "string")}
)
_FORBIDDEN = Failure(HS, 403, "MISSING_SCOPES", "not granted")


@pytest.mark.parametrize(
    ("facts", "failing"),
    [
        (HubSpotFacts(_token(*REQUIRED_SCOPES), schema=_WITH_OWN), []),
        # Without the schemas write scope: fine while the own properties exist.
        (HubSpotFacts(_token(*REQUIRED_SCOPES[:3]), schema=_WITH_OWN), []),
        (
            HubSpotFacts(_token(*REQUIRED_SCOPES[:3]), schema=ObjectSchema(HS, "contact", {})),
            [f"scope {SCHEMAS_WRITE}", "property leadbridge_stage"],
        ),
        (
            HubSpotFacts(_token(*REQUIRED_SCOPES[:2]), schema_failure=_FORBIDDEN),
            [
                "scope crm.schemas.contacts.read",
                f"scope {SCHEMAS_WRITE}",
                "contact properties",
                "property leadbridge_stage",
            ],
        ),
        (
            HubSpotFacts(
                token_failure=Failure(HS, 401, "INVALID_AUTHENTICATION", "bad token"),
                schema_failure=Failure(HS, 401, "INVALID_AUTHENTICATION", "bad token"),
            ),
            ["token", "contact properties", "property leadbridge_stage"],
        ),
    ],
)
def test_hubspot_token_scopes_and_listing(facts: HubSpotFacts, failing: list[str]) -> None:
    checks = check_hubspot(_OWN_NEEDS, facts)
    assert [check.name for check in checks if not check.ok] == failing
    assert all(check.fix for check in checks if not check.ok)


@pytest.mark.parametrize(
    ("failure", "fix_says"),
    [
        (Failure(HS, 401, "INVALID_AUTHENTICATION", "x"), "HUBSPOT_TOKEN"),
        (Failure(HS, None, "ConnectionRefusedError", "refused"), "check HUBSPOT_URL"),
        (Failure(HS, None, "SSLError", "bad cert"), "HUBSPOT_CA_BUNDLE"),
        (Failure(HS, 503, "HTTP_503", "down"), "again later"),
    ],
)
def test_a_refused_token_names_its_fix(failure: Failure, fix_says: str) -> None:
    token = check_hubspot(None, HubSpotFacts(token_failure=failure))[0]
    assert (token.name, token.ok) == ("token", False) and fix_says in token.fix


_PICKLIST = SField("Status", "picklist", options=("Open", "Working"), restricted=True)


@pytest.mark.parametrize(
    ("need", "found", "expected", "fix_says"),
    [
        (_sf("Lead", "Email", reads=True, writes=True, creates=True), SField("Email", "email"),
         [("Lead.Email", True)], ""),
        (_sf("Lead", "Recycle_Reason__c", reads=True), None, [("Lead.Recycle_Reason__c", False)],
         "create Lead.Recycle_Reason__c"),
        (_sf("Lead", "Rating", reads=True), None, [("Lead.Rating", False)],
         "Give the leadbridge integration permission set Read"),
        (_sf("Lead", "Phone", writes=True, creates=True),
         SField("Phone", "phone", createable=False, updateable=False),
         [("Lead.Phone", False)], "Edit on Lead.Phone"),
        (_sf("Contact", "Phone", writes=True), SField("Phone", "phone", createable=False),
         [("Contact.Phone", True)], ""),
        (_sf("Lead", "Email", writes=True), SField("Email", "double"), [("Lead.Email", False)],
         "to a text field"),
        (_sf("Lead", "Status", writes=True, kind=STAGE, values=("Open", "Nurture")), _PICKLIST,
         [("Lead.Status", True), ("Lead.Status value Open", True),
          ("Lead.Status value Nurture", False)],
         "add Nurture to Lead Status"),
        (_sf("Lead", "LeadSource", writes=True, kind=CHOICE, values=("Web", "Event")),
         SField("LeadSource", "picklist", options=("Web",), restricted=False),
         [("Lead.LeadSource", True), ("Lead.LeadSource values", True)], ""),
        (_sf("Lead", "LeadSource", writes=True, kind=CHOICE, values=("Web", "Event")),
         SField("LeadSource", "picklist", options=("Web",), restricted=True),
         [("Lead.LeadSource", True), ("Lead.LeadSource values", False)], "add Event"),
    ],
)  # fmt: skip
def test_salesforce_field(
    need: Need, found: SField | None, expected: list[tuple[str, bool]], fix_says: str
) -> None:
    checks = field_checks(need, found)
    assert _summary(checks) == expected
    assert fix_says in " ".join(check.fix for check in checks if not check.ok)


@pytest.mark.parametrize(
    ("found", "ok", "says"),
    [
        (SField("Leadbridge_Id__c", "string", external_id=True, unique=True), True, ""),
        (SField("Leadbridge_Id__c", "string", external_id=True), False, "tick Unique"),
        (SField("Leadbridge_Id__c", "string"), False, "tick External ID and Unique"),
    ],
)
def test_the_external_id_is_external_and_unique(found: SField, ok: bool, says: str) -> None:
    check = external_id_check("Lead", found)
    assert check.ok is ok and says in check.fix


@pytest.mark.parametrize(
    ("described", "wanted", "ok", "says"),
    [
        (SObject("Lead"), [_sf("Lead", "Email", writes=True, creates=True)], True, ""),
        (SObject("Lead", createable=False), [_sf("Lead", "Email", creates=True, writes=True)],
         False, "set Create on Lead"),
        (SObject("Account", updateable=False), [_sf("Account", "Name", reads=True)], True, ""),
        (Failure(SF, 404, "NOT_FOUND", "no such object"), [], False, "Read and View All"),
    ],
)  # fmt: skip
def test_salesforce_object(
    described: SObject | Failure, wanted: list[Need], ok: bool, says: str
) -> None:
    check = object_check(described.name if isinstance(described, SObject) else "Lead",
                         described, wanted)  # fmt: skip
    assert check.ok is ok and says in check.fix


@pytest.mark.parametrize(
    ("facts", "names"),
    [
        (SalesforceFacts(login_failure=Failure(SF, 400, "invalid_client_id", "invalid id")),
         [("login", False)]),
        (SalesforceFacts(org_id="00D000000000001AAA", expected_org="00D000000000002AAA"),
         [("login", True), ("org id", False)]),
        (SalesforceFacts(org_id="00D000000000001AAA"), [("login", True), ("org id", True)]),
        (SalesforceFacts(org_id="00D000000000001AAA", expected_org="00D000000000001"),
         [("login", True), ("org id", True)]),
    ],
)  # fmt: skip
def test_login_and_org(facts: SalesforceFacts, names: list[tuple[str, bool]]) -> None:
    checks = check_salesforce(None, facts)
    assert _summary(checks) == names
    assert all(check.fix for check in checks if not check.ok)


def test_a_describe_as_the_checks_read_it() -> None:
    raw = {
        "name": "Lead",
        "queryable": True,
        "createable": False,
        "updateable": True,
        "fields": [
            {"name": "Status", "type": "picklist", "createable": True, "updateable": True,
             "restrictedPicklist": True,
             "picklistValues": [{"value": "Open", "active": True},
                                {"value": "Old", "active": False}]},
            {"name": "Leadbridge_Id__c", "type": "string", "externalId": True, "unique": True},
        ],
    }  # fmt: skip
    found = parse_describe(raw)
    assert (found.name, found.createable, found.updateable) == ("Lead", False, True)
    assert found.fields["Status"].options == ("Open",) and found.fields["Status"].restricted
    key = found.fields["Leadbridge_Id__c"]
    assert key.external_id and key.unique and not key.createable


@pytest.mark.parametrize(
    ("state", "ok"),
    [
        (None, True),
        (BudgetState(1, 180, 10, 1000, False), True),
        (BudgetState(1, None, 10, None, False), True),
        (BudgetState(1, 180, 900, 1000, False), False),
        (BudgetState(1, 180, 1000, 1000, True), False),
    ],
)
def test_api_headroom(state: BudgetState | None, ok: bool) -> None:
    check = budget_check("HubSpot", "connectors/hubspot.yaml", state)
    assert check.ok is ok
    assert ok or "budget.max_own_calls_per_day" in check.fix


_HOOK = "https://hooks.slack.com/services/T0ABC/B0DEF/xyzSECRET123"


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # Alerts are optional: no file, or no URL, means they are off, which passes.
        (SlackFacts(None), [("slack.yaml", True)]),
        (SlackFacts("s.yaml", ("s.yaml:3:1: webhook_url: not a URL",)), [("slack.yaml", False)]),
        (SlackFacts("s.yaml"), [("slack.yaml", True), ("webhook", True)]),
        (SlackFacts("s.yaml", (), [("alerts", _HOOK)]),
         [("slack.yaml", True), ("alerts webhook", True)]),
        (SlackFacts("s.yaml", (), [("alerts", "http://127.0.0.1:9/services/T0/B1/abc")]),
         [("slack.yaml", True), ("alerts webhook", True)]),
        (SlackFacts("s.yaml", (), [("alerts", _HOOK), ("health", "https://example.com/hook")]),
         [("slack.yaml", True), ("alerts webhook", True), ("health webhook", False)]),
    ],
)  # fmt: skip
def test_slack(facts: SlackFacts, expected: list[tuple[str, bool]]) -> None:
    checks = slack_checks(facts)
    assert _summary(checks) == expected
    assert all("xyzSECRET123" not in check.detail for check in checks)
