"""connectors/hubspot.yaml: the shipped file loads, and every mistake is reported at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.config.problems import ConfigError
from leadbridge.connectors.hubspot.settings import load_hubspot_settings

SHIPPED = Path(__file__).parents[3] / "connectors" / "hubspot.yaml"
ENV = {"HUBSPOT_TOKEN": "pat-na1-secret"}


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    path = tmp_path / "hubspot.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_hubspot_settings(path, ENV if env is None else env)
    return caught.value


def test_the_shipped_file_loads_with_only_the_token_set() -> None:
    settings = load_hubspot_settings(SHIPPED, ENV)
    assert settings.base_url == "https://api.hubapi.com"
    assert settings.token.get_secret_value() == "pat-na1-secret"
    assert "pat-na1-secret" not in repr(settings)  # a secret never reaches a log
    assert settings.ca_bundle is None
    assert settings.lag_tolerance == 60.0 and settings.poll_interval == 60.0
    assert settings.budget.ten_second_limit == 190
    assert settings.budget.max_own_calls_per_day == 300000
    assert settings.budget.min_portal_calls_left == 50000
    assert settings.push.enabled is False
    assert {"email", "lastmodifieddate", "hs_merged_object_ids"} <= set(settings.read_properties)


def test_variables_fill_the_url_and_the_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {**ENV, "HUBSPOT_URL": "https://127.0.0.1:8443/", "HUBSPOT_CA_BUNDLE": str(bundle)}
    settings = load_hubspot_settings(SHIPPED, env)
    assert settings.base_url == "https://127.0.0.1:8443"
    assert settings.ca_bundle == bundle


def test_a_missing_variable_is_reported_where_it_is_used() -> None:
    with pytest.raises(ConfigError) as caught:
        load_hubspot_settings(SHIPPED, {})
    shown = [str(problem) for problem in caught.value.problems]
    line = SHIPPED.read_text().splitlines().index("token: ${HUBSPOT_TOKEN}") + 1
    assert any(
        text.startswith(f"{SHIPPED}:{line}:1: token: environment variable HUBSPOT_TOKEN")
        for text in shown
    ), shown


def test_bad_values_are_reported_with_file_line_and_field(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        "token: ${HUBSPOT_TOKEN}\n"
        "lag_tolerance: soon\n"
        "budget:\n"
        "  daily_share: 1.5\n"
        "  ten_second_limit: -3\n"
        "properties: [firstname, Last Name]\n"
        "colour: blue\n",
    )
    found = {(p.line, p.field): p.message for p in error.problems}
    assert found[(2, "lag_tolerance")].startswith("got 'soon', expected a duration")
    assert (
        found[(4, "budget.daily_share")]
        == "got 1.5, expected a fraction above 0 and at most 1, such as 0.5"
    )
    assert found[(5, "budget.ten_second_limit")] == "got -3, expected a whole number above 0"
    assert found[(6, "properties[1]")].startswith("got 'Last Name', expected a HubSpot property")
    assert found[(7, "colour")].startswith("unknown key 'colour', expected one of: base_url")
    assert all(p.path.endswith("hubspot.yaml") for p in error.problems)


def test_a_file_without_the_daily_limits_takes_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "hubspot.yaml"
    path.write_text("token: ${HUBSPOT_TOKEN}\n")
    budget = load_hubspot_settings(path, ENV).budget
    assert budget.max_own_calls_per_day is None and budget.min_portal_calls_left is None
    assert budget.daily_share == 0.5  # leadbridge's own calls: half the portal's allocation


def test_the_daily_limits_are_checked(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        "token: ${HUBSPOT_TOKEN}\n"
        "budget:\n"
        "  max_own_calls_per_day: 0\n"
        "  min_portal_calls_left: -1\n",
    )
    found = {(p.line, p.field): p.message for p in error.problems}
    assert found == {
        (3, "budget.max_own_calls_per_day"): "got 0, expected a whole number above 0",
        (4, "budget.min_portal_calls_left"): "got -1, expected a whole number, 0 or above",
    }


def test_daily_share_and_max_own_calls_per_day_together_are_refused(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        "token: ${HUBSPOT_TOKEN}\nbudget:\n  daily_share: 0.5\n  max_own_calls_per_day: 1000\n",
    )
    (problem,) = error.problems
    assert problem.field == "budget"
    assert "daily_share and max_own_calls_per_day both cap" in problem.message
    assert "min_portal_calls_left" in problem.message


def test_an_older_files_look_back_is_refused_with_the_lag_tolerance_to_write(
    tmp_path: Path,
) -> None:
    # look_back was paid twice (the cursor trailed now by it, the read began that far before
    # the cursor): the same window is a lag_tolerance of twice its value.
    error = _load(tmp_path, "token: ${HUBSPOT_TOKEN}\nlook_back: 30s\n")
    (problem,) = error.problems
    assert (problem.line, problem.field) == (2, "look_back")
    assert problem.message == (
        "replaced by lag_tolerance, which each poll pays once; write lag_tolerance: 1m "
        "for the window this file had"
    )


def test_a_pasted_token_is_refused(tmp_path: Path) -> None:
    error = _load(tmp_path, "token: pat-na1-0000\n")
    (problem,) = error.problems
    assert (problem.line, problem.field) == (1, "token")
    assert "expected ${ENV_VAR}" in problem.message


def test_push_needs_its_secret_when_enabled(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        "token: ${HUBSPOT_TOKEN}\n"
        "push:\n"
        "  enabled: true\n"
        "  app_secret: ${HUBSPOT_APP_SECRET:-}\n"
        "  public_url: https://x.example/hooks\n",
    )
    (problem,) = error.problems
    assert (problem.line, problem.field) == (4, "push.app_secret")
    assert problem.message.startswith("empty while push is enabled")


def test_push_without_a_url_is_named_at_the_push_block(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        "token: ${HUBSPOT_TOKEN}\npush:\n  enabled: true\n  app_secret: ${HUBSPOT_TOKEN}\n",
    )
    (problem,) = error.problems
    assert (problem.line, problem.field) == (2, "push.public_url")
    assert problem.message.startswith("missing while push is enabled")


def test_a_ca_bundle_that_does_not_exist_is_named(tmp_path: Path) -> None:
    error = _load(tmp_path, "token: ${HUBSPOT_TOKEN}\nca_bundle: /nowhere/ca.pem\n")
    (problem,) = error.problems
    assert (problem.line, problem.field) == (2, "ca_bundle")
    assert "'/nowhere/ca.pem'" in problem.message


def test_webhooks_switch_on_by_environment_and_then_need_the_app_secret() -> None:
    assert load_hubspot_settings(SHIPPED, ENV).push.enabled is False
    with pytest.raises(ConfigError, match="app_secret"):
        load_hubspot_settings(SHIPPED, {**ENV, "HUBSPOT_WEBHOOKS": "true"})
    on = {**ENV, "HUBSPOT_WEBHOOKS": "true", "HUBSPOT_APP_SECRET": "s3cret"}
    assert load_hubspot_settings(SHIPPED, on).push.enabled is True
