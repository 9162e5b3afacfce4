"""connectors/salesforce.yaml: the shipped file loads, and every mistake is named at file:line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leadbridge.config.problems import ConfigError
from leadbridge.connectors.salesforce.settings import load_salesforce_settings
from tests.connectors.salesforce.support import SHIPPED

ENV = {
    "SALESFORCE_URL": "https://login.salesforce.com",
    "SALESFORCE_CLIENT_ID": "3MVG9abc",
    "SALESFORCE_CLIENT_SECRET": "top-secret-value",
    "SALESFORCE_ORG_ID": "00D5g000004XyzAEAS",
}

GOOD = """\
login_url: ${SALESFORCE_URL}
auth:
  grant: client_credentials
  client_id: ${SALESFORCE_CLIENT_ID}
  client_secret: ${SALESFORCE_CLIENT_SECRET}
objects:
  Lead:
    fields: [Email, Status]
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "salesforce.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_salesforce_settings(path, ENV if env is None else env)
    return [str(problem) for problem in caught.value.problems]


def test_the_shipped_file_loads_with_its_variables_set() -> None:
    settings = load_salesforce_settings(SHIPPED, ENV)
    assert settings.login_url == "https://login.salesforce.com"
    assert settings.auth.grant == "client_credentials"
    assert settings.auth.client_secret.get_secret_value() == "top-secret-value"
    assert "top-secret-value" not in repr(settings)
    assert settings.org_id == "00D5g000004XyzAEAS"
    assert settings.ca_bundle is None  # ${SALESFORCE_CA_BUNDLE:-} left empty
    assert settings.external_id_field == "Leadbridge_Id__c"
    assert settings.lag_tolerance == timedelta(minutes=10)
    assert settings.deletions_every == timedelta(minutes=5)
    assert settings.poll_interval == timedelta(minutes=1)
    assert settings.budget.max_own_calls_per_day == 25000
    assert settings.budget.min_org_calls_left == 10000
    lead = settings.objects.get("Lead")
    # Extras only: what the mappings use is read without being listed (test_reading.py).
    assert lead is not None and "HubSpot_Contact_Id__c" in lead.fields
    account = settings.objects.get("Account")
    assert account is not None and account.deletions is False
    assert settings.objects.get("Campaign") is None


def test_a_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "salesforce.yaml"
    path.write_text(GOOD)
    settings = load_salesforce_settings(path, ENV)
    assert settings.api_version == "59.0"
    assert settings.budget.daily_limit is None and settings.budget.daily_share == 1.0
    assert settings.push.outbound_messages is False


def test_a_missing_variable_is_reported_where_it_is_used(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "SALESFORCE_CLIENT_SECRET"}
    problems = _load(tmp_path, GOOD, env)
    assert problems == [
        f"{tmp_path / 'salesforce.yaml'}:5:3: auth.client_secret: environment variable "
        "SALESFORCE_CLIENT_SECRET is not set, expected it to hold the value"
    ]


def test_a_secret_pasted_into_the_file_is_refused(tmp_path: Path) -> None:
    problems = _load(tmp_path, GOOD.replace("${SALESFORCE_CLIENT_SECRET}", "hunter2"))
    assert len(problems) == 1
    assert ":5:3: auth.client_secret: a secret written into the file" in problems[0]


@pytest.mark.parametrize(
    ("change", "where", "expected"),
    [
        (("login_url: ${SALESFORCE_URL}", "login_url: http://login.salesforce.com"),
         ":1:1: login_url:", "expected an https:// URL"),
        (("  grant: client_credentials", "  grant: jwt"), ":3:3: auth.grant:", "expected"),
        (("    fields: [Email, Status]", "    fields: [Email, \"Status FROM User\"]"),
         ":8:21: objects.Lead.fields[1]:", "expected a Salesforce API name"),
        (("    fields: [Email, Status]", "    fields: Email"), ":8:5: objects.Lead.fields:",
         "expected"),
        (("  Lead:", "  Leed:"), ":7:3: objects.Leed:", "unknown key 'Leed', expected one of"),
        (("objects:", "lag_tolerance: 30s\nobjects:"), ":6:1: lag_tolerance:",
         "expected at least 1m"),
        (("objects:", "look_back: 5m\nobjects:"), ":6:1: look_back:",
         "replaced by lag_tolerance, which each poll pays once; write lag_tolerance: 10m"),
        (("objects:", "deletions_every: often\nobjects:"), ":6:1: deletions_every:",
         "expected a duration"),
        (("objects:", "poll_interval: soon\nobjects:"), ":6:1: poll_interval:",
         "expected a duration"),
        (("objects:", "org_id: 12345\nobjects:"), ":6:1: org_id:", "expected an organization id"),
        (("objects:", "ca_bundle: /nowhere/ca.pem\nobjects:"), ":6:1: ca_bundle:",
         "a PEM file of CA certificates that exists"),
        (("objects:", "budget: {daily_share: 1.5}\nobjects:"), ":6:10: budget.daily_share:",
         "got 1.5"),
        (("objects:", "api_version: 59\nobjects:"), ":6:1: api_version:",
         "expected an API version"),
        (("objects:", "push: {outbound_messages: true, token: '${SALESFORCE_URL}'}\nobjects:"),
         ":6:1: push:", "expected org_id set"),
        (("objects:", "push: {outbound_messages: true, check_org_id: false}\nobjects:"),
         ":6:1: push:", "expected a token (SALESFORCE_OUTBOUND_TOKEN)"),
        (("  grant: client_credentials", "  grant: password"), ":2:1: auth:",
         "grant password needs username and password"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_at_its_line(
    tmp_path: Path, change: tuple[str, str], where: str, expected: str
) -> None:
    old, new = change
    assert old in GOOD
    problems = _load(tmp_path, GOOD.replace(old, new, 1))
    assert len(problems) == 1, problems
    assert where in problems[0] and expected in problems[0], problems[0]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("client_credentials", "jwt").replace("[Email, Status]", "[E-mail]")
    problems = _load(tmp_path, text, {})
    fields = [problem.split(": ")[1] for problem in problems]
    # Three unset variables, each also an empty value, and two bad values.
    assert fields == [
        "login_url", "login_url", "auth.grant", "auth.client_id", "auth.client_id",
        "auth.client_secret", "objects.Lead.fields[0]",
    ], problems  # fmt: skip


def test_the_outbound_token_must_be_a_reference_and_reaches_the_receiver(tmp_path: Path) -> None:
    from leadbridge.webhooks import hooks_from

    pasted = GOOD.replace("objects:", "push: {outbound_messages: true, token: abc}\nobjects:")
    assert any("token" in problem for problem in _load(tmp_path, pasted))
    text = "org_id: ${SALESFORCE_ORG_ID}\n" + GOOD.replace(
        "objects:",
        'push: {outbound_messages: true, token: "${SALESFORCE_OUTBOUND_TOKEN}"}\nobjects:',
    )
    path = tmp_path / "salesforce.yaml"
    path.write_text(text)
    settings = load_salesforce_settings(path, {**ENV, "SALESFORCE_OUTBOUND_TOKEN": "t0k3n-xyz"})
    hooks = hooks_from(settings)
    assert hooks is not None and hooks.token == "t0k3n-xyz"
    assert "t0k3n-xyz" not in repr(settings)
