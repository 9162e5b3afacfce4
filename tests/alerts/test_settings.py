"""connectors/slack.yaml: webhooks only as ${VARS}, every mistake at file:line, secrets hidden."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from leadbridge.alerts.settings import load_slack_settings
from leadbridge.alerts.slack import ALERTS, ESCALATION, HEALTH, Slack, load_slack
from leadbridge.config.problems import ConfigError

SHIPPED = Path(__file__).parents[2] / "connectors" / "slack.yaml"
HOOK = "https://hooks.slack.com/services/T0001/B0001/abcdefSECRET"
ENV = {"SLACK_WEBHOOK_URL": HOOK}


def _problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "slack.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_slack_settings(path, ENV if env is None else env)
    shown = [str(problem) for problem in caught.value.problems]
    assert all("abcdefSECRET" not in line for line in shown)  # never echo a webhook
    return shown


def test_the_shipped_file_loads_with_only_the_webhook_set() -> None:
    settings = load_slack_settings(SHIPPED, ENV)
    assert settings.webhook_url is not None
    assert settings.webhook_url.get_secret_value() == HOOK
    assert "abcdefSECRET" not in repr(settings)
    assert settings.escalation.webhook_url is None and settings.escalation.mention is None
    assert settings.digest.enabled is False and settings.digest.at == time(9, 0)
    assert settings.health.parked_threshold == 25
    assert settings.links.hubspot_portal_id is None
    slack = load_slack(SHIPPED, ENV)
    assert slack is not None and slack.settings == settings
    assert {slack.url(route) for route in (ALERTS, ESCALATION, HEALTH)} == {HOOK}
    assert slack.sharing(ESCALATION) == {ALERTS, ESCALATION, HEALTH}


def test_variables_route_escalations_elsewhere_with_a_mention() -> None:
    other = "https://hooks.slack.com/services/T0001/B0002/other"
    env = {
        **ENV,
        "SLACK_ESCALATION_WEBHOOK_URL": other,
        "SLACK_ESCALATION_MENTION": "@here <!subteam^S0123ABC|@sales-leads>",
        "HUBSPOT_PORTAL_ID": "2424242",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com/",
    }
    settings = load_slack_settings(SHIPPED, env)
    assert settings.escalation.mention == "<!here> <!subteam^S0123ABC|@sales-leads>"
    slack = Slack(settings)
    assert slack.url(ESCALATION) == other and slack.url(HEALTH) == HOOK
    assert slack.sharing(ALERTS) == {ALERTS, HEALTH}
    assert slack.links.hubspot_portal == "2424242"
    assert slack.links.salesforce_url == "https://acme.my.salesforce.com"


def test_a_missing_webhook_variable_is_reported_where_it_is_used(tmp_path: Path) -> None:
    # A file that insists on Slack (no ":-" default) names the variable at its line.
    strict = tmp_path / "slack.yaml"
    strict.write_text(SHIPPED.read_text().replace("${SLACK_WEBHOOK_URL:-}", "${SLACK_WEBHOOK_URL}"))
    with pytest.raises(ConfigError) as caught:
        load_slack_settings(strict, {})
    line = strict.read_text().splitlines().index("webhook_url: ${SLACK_WEBHOOK_URL}") + 1
    assert [str(p) for p in caught.value.problems] == [
        f"{strict}:{line}:1: webhook_url: environment variable SLACK_WEBHOOK_URL is not set, "
        "expected it to hold the value"
    ]


def test_a_pasted_webhook_is_refused_at_its_line(tmp_path: Path) -> None:
    shown = _problems(
        tmp_path,
        "webhook_url: ${SLACK_WEBHOOK_URL}\nescalation:\n  webhook_url: " + HOOK + "\n",
    )
    assert shown == [
        f"{tmp_path}/slack.yaml:3:3: escalation.webhook_url: a secret written into the file, "
        "expected ${ENV_VAR}"
    ]


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("escalation:\n  mention: sales team\n", "2:3: escalation.mention", "expected a mention"),
        ("digest:\n  at: 9:30\n", "2:3: digest.at", "got 570, expected a time in quotes"),
        ("digest:\n  at: '25:00'\n", "2:3: digest.at", "expected a time of day such as '09:00'"),
        ("digest:\n  time_zone: Mars/Olympus\n", "2:3: digest.time_zone", "expected an IANA"),
        ("links:\n  hubspot_portal_id: acme\n", "2:3: links.hubspot_portal_id", "digits only"),
        ("health:\n  parked_threshold: 0\n", "2:3: health.parked_threshold", "above 0"),
        ("delivery:\n  backoff: soon\n", "2:3: delivery.backoff", "expected a duration"),
        ("delivery:\n  hold: 20s\n", "2:3: delivery.hold", "expected more than the longest send"),
        ("colour: red\n", "1:1: colour", "unknown key 'colour', expected one of: webhook_url"),
    ],
)
def test_bad_values_are_named_with_file_line_and_field(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    shown = _problems(tmp_path, "webhook_url: ${SLACK_WEBHOOK_URL}\n" + text)
    prefix = f"{tmp_path}/slack.yaml:"
    line, rest = where.split(":", 1)
    expected_start = f"{prefix}{int(line) + 1}:{rest}"
    assert any(p.startswith(expected_start) and says in p for p in shown), shown


def test_a_webhook_variable_holding_no_url_is_named_without_its_value(tmp_path: Path) -> None:
    shown = _problems(
        tmp_path, "webhook_url: ${SLACK_WEBHOOK_URL}\n", {"SLACK_WEBHOOK_URL": "abcdefSECRET"}
    )
    assert shown == [
        f"{tmp_path}/slack.yaml:1:1: webhook_url: not a URL (value hidden), expected an incoming "
        "webhook's URL such as https://hooks.slack.com/services/T…/B…/…"
    ]


def test_without_a_webhook_url_there_are_no_alerts_and_no_error() -> None:
    """The shipped file in a deployment that wants no Slack: it loads, and sends nothing."""
    assert load_slack(SHIPPED, {}) is None
