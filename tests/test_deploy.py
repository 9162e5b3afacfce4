"""deploy/: the manifests validate offline, the alerts pass promtool, the dashboard and the
alerts query metrics the daemon serves, and docs/operations.md names every one of them.

Nothing here needs a cluster, a Docker engine or the network: the Kubernetes schemas ship
inside kubernetes-validate, promtool is Debian's `prometheus` package (.ci/run installs
it and sets LEADBRIDGE_REQUIRE_PROMTOOL=1, so CI fails rather than skips without it).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import CollectorRegistry

from leadbridge.telemetry.metrics import Metrics
from tests.test_docs import names, table_rows

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "leadbridge.rules.yml"
RULE_TESTS = PROMETHEUS / "leadbridge.test.yml"
DASHBOARD = DEPLOY / "grafana" / "leadbridge.json"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"

# The oldest Kubernetes still in common support, and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version() + ".0")
CREDENTIALS_MOUNT = "/var/run/secrets/leadbridge"
_METRIC = re.compile(r"\bleadbridge_[a-z0-9_]+\b")


# --- what the daemon serves --------------------------------------------------------------


def served_metrics() -> dict[str, str]:
    """Every family /metrics serves -> its type, by the name a query uses (counters: _total).

    Read from a fresh Metrics, so a family added to telemetry/metrics.py shows here at once.
    """
    registry: CollectorRegistry = Metrics().registry
    return {
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for family in registry.collect()
    }


def test_operations_doc_names_every_metric_family_served() -> None:
    documented = {row[0].strip("`"): row[1] for row in table_rows(OPERATIONS, "Metrics")}
    served = served_metrics()
    assert set(documented) == set(served), (
        f"missing from docs/operations.md: {sorted(set(served) - set(documented))}; "
        f"documented but not served: {sorted(set(documented) - set(served))}"
    )
    assert documented == served, "the Type column differs from what the code registers"


# --- Kubernetes --------------------------------------------------------------------------


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifests() -> list[Path]:
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def _resource(kind: str, name: str | None = None) -> dict[str, Any]:
    for path in manifests():
        for doc in _documents(path):
            if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name):
                return doc
    raise AssertionError(f"no {kind} {name or ''} in {KUBERNETES}")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test: the validation is offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_manifests_validate_offline(path: Path, version: str, offline: None) -> None:
    documents = _documents(path)
    assert documents, f"{path.name} holds no resource"
    for doc in documents:
        # strict: a field the schema does not know (a typo) is an error, not ignored.
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_catches_a_misspelled_field_and_a_wrong_type(offline: None) -> None:
    deployment = _resource("Deployment")
    misspelled = copy.deepcopy(deployment)
    container = misspelled["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelled, KUBERNETES_VERSIONS[0], strict=True)
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secrets() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    expected = {p.name for p in manifests()} - {"secret.example.yaml"}
    assert set(kustomization["resources"]) == expected
    assert all(doc["kind"] == "Secret" for doc in _documents(KUBERNETES / "secret.example.yaml"))


def _pod() -> dict[str, Any]:
    pod: dict[str, Any] = _resource("Deployment")["spec"]["template"]
    return pod


def _container() -> dict[str, Any]:
    container: dict[str, Any] = _pod()["spec"]["containers"][0]
    return container


def test_two_replicas_roll_one_at_a_time_and_a_disruption_budget_keeps_one() -> None:
    deployment = _resource("Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = _pod()["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    budget = _resource("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_probes_and_scraping_use_the_admin_port_and_the_daemons_paths() -> None:
    container = _container()
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert str(ports["http"]) == env["LEADBRIDGE_HTTP_PORT"]
    assert str(ports["admin"]) == env["LEADBRIDGE_ADMIN_PORT"]
    probes = {name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe")}
    probes["readinessProbe"] = container["readinessProbe"]["httpGet"]
    assert {name: (p["path"], p["port"]) for name, p in probes.items()} == {
        "startupProbe": ("/healthz", "admin"),
        "livenessProbe": ("/healthz", "admin"),
        "readinessProbe": ("/readyz", "admin"),
    }
    annotations = _pod()["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["admin"])
    assert annotations["prometheus.io/path"] == "/metrics"
    # The daemon's own routes are what the probes ask.
    app = (ROOT / "src" / "leadbridge" / "webhooks" / "app.py").read_text()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert f'Route("{path}"' in app


def test_services_route_to_named_container_ports_only_webhooks_on_the_public_one() -> None:
    labels = _pod()["metadata"]["labels"]
    names_ = {port["name"] for port in _container()["ports"]}
    public, admin = _resource("Service", "leadbridge"), _resource("Service", "leadbridge-admin")
    for service in (public, admin):
        assert service["spec"]["selector"].items() <= labels.items()
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= names_
    assert [port["targetPort"] for port in public["spec"]["ports"]] == ["http"]
    assert [port["targetPort"] for port in admin["spec"]["ports"]] == ["admin"]


def test_the_pod_runs_as_the_images_non_root_user_read_only_without_privileges() -> None:
    pod, container = _pod()["spec"], _container()
    user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert user is not None
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user[1])
    assert pod["securityContext"]["runAsGroup"] == int(user[2])
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]


def _connection_references() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "connectors").glob("*.yaml"):
        found.update(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", path.read_text()))
    return found


def test_each_secret_is_a_file_named_by_a_variable_the_connection_files_reference() -> None:
    container, pod = _container(), _pod()["spec"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == "credentials")
    assert mounts["credentials"] == CREDENTIALS_MOUNT
    keys = set(_resource("Secret", volume["secret"]["secretName"])["stringData"])
    files = {
        item["name"]: item["value"] for item in container["env"] if item["name"].endswith("_FILE")
    }
    assert files, "no secret is read as a file"
    for variable, path in files.items():
        assert variable.removesuffix("_FILE") in _connection_references(), variable
        assert path.startswith(CREDENTIALS_MOUNT + "/"), path
    assert {path.rsplit("/", 1)[1] for path in files.values()} == keys
    # No secret also arrives as a plain variable (both set is refused at start-up).
    plain = {item["name"] for item in container["env"]}
    plain |= set(_resource("ConfigMap", "leadbridge-settings")["data"])
    assert not {variable.removesuffix("_FILE") for variable in files} & plain


def _known_variables() -> set[str]:
    return names(CONFIGURATION, "Environment variables")


def test_every_variable_the_manifests_set_is_one_leadbridge_reads() -> None:
    known = _known_variables()
    set_here = {item["name"] for item in _container()["env"]}
    set_here |= set(_resource("ConfigMap", "leadbridge-settings")["data"])
    unknown = {
        name for name in set_here if name not in known and name.removesuffix("_FILE") not in known
    }
    assert not unknown, f"not read by leadbridge (docs/configuration.md): {sorted(unknown)}"


def test_the_mappings_configmap_is_the_repositorys_mappings() -> None:
    data = _resource("ConfigMap", "leadbridge-mappings")["data"]
    shipped = {path.name: path.read_text() for path in (ROOT / "mappings").glob("*.yaml")}
    assert data == shipped, (
        "deploy/kubernetes/configmap-mappings.yaml differs from mappings/: make it again with "
        "`kubectl create configmap leadbridge-mappings --from-file=mappings/ --dry-run=client "
        "-o yaml` (keeping its comment header)"
    )


# --- compose -----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def test_compose_runs_replicas_on_postgresql_with_secrets_as_files() -> None:
    compose = _compose()
    services = compose["services"]
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    replicas = [s for s in services.values() if s.get("image") == "leadbridge:local"]
    assert len(replicas) == 2
    known = _known_variables()
    for service in replicas:
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["read_only"] is True and service["user"] == "10001:10001"
        env = service["environment"]
        assert env["LEADBRIDGE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["LEADBRIDGE_DATABASE_URL"]
        for name, value in env.items():
            assert name in known or name.removesuffix("_FILE") in known, name
            if name.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in service["secrets"] and secret in compose["secrets"], name
                assert name.removesuffix("_FILE") in _connection_references(), name
        for volume in service["volumes"]:
            source = (COMPOSE.parent / volume.split(":")[0]).resolve()
            assert source.is_dir(), f"{volume}: {source} does not exist"


def test_compose_mounts_the_rules_and_dashboard_that_exist() -> None:
    services = _compose()["services"]
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            assert (COMPOSE.parent / volume.split(":")[0]).resolve().is_file(), volume
    scrape = yaml.safe_load((COMPOSE.parent / "prometheus.yml").read_text())
    assert scrape["rule_files"] == [RULES.name]
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    replicas = [n for n, s in services.items() if s.get("image") == "leadbridge:local"]
    admin = _compose()["x-leadbridge"]["environment"]["LEADBRIDGE_ADMIN_PORT"]
    assert sorted(targets) == sorted(f"{name}:{admin}" for name in replicas)


@pytest.mark.skipif(
    subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
    if shutil.which("docker")
    else True,
    reason="no `docker compose` here: the structural tests above stand in",
)
def test_docker_compose_accepts_the_file() -> None:
    env = {
        **os.environ,
        "LEADBRIDGE_DB_PASSWORD": "x",
        "SALESFORCE_URL": "https://x.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "x",
    }
    subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--profile", "monitoring", "config", "-q"],
        check=True,
        env=env,
    )


# --- Prometheus and Grafana --------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("LEADBRIDGE_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
        pytest.skip("promtool is missing (apt-get install prometheus)")
    return found


def _run(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_checks_the_rules(promtool: str) -> None:
    assert "SUCCESS: 6 rules found" in _run(promtool, "check", "rules", str(RULES))


def test_promtool_unit_tests_pass(promtool: str) -> None:
    assert "SUCCESS" in _run(promtool, "test", "rules", str(RULE_TESTS))


def test_promtool_checks_the_compose_prometheus_config(promtool: str, tmp_path: Path) -> None:
    shutil.copy(COMPOSE.parent / "prometheus.yml", tmp_path)
    shutil.copy(RULES, tmp_path)
    _run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))


def test_every_alert_the_issue_asks_for_is_unit_tested() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    alerts = {rule["alert"] for rule in rules}
    assert {
        "LeadbridgeSyncLagHigh",
        "LeadbridgeParkedGrowing",
        "LeadbridgeApiBudgetLow",
        "LeadbridgeNoLeaseHolder",
        "LeadbridgeWebhookUnauthorized",
    } <= alerts
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert firing == alerts, "an alert without a unit test that makes it fire"
    documented = OPERATIONS.read_text()
    for rule in rules:
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert f"#{anchor}" in _anchors(documented), (
            f"{rule['alert']}: docs/operations.md has no section #{anchor}"
        )


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to -."""
    found = set()
    for heading in re.findall(r"^#+\s+(.*)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(f"#{slug}")
    return found


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            queries.append(variable["query"]["query"])
    return queries


def _rule_queries() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_queries_use_only_metrics_the_daemon_serves(source: str) -> None:
    queries = _dashboard_queries() if source == "dashboard" else _rule_queries()
    used = {name for query in queries for name in _METRIC.findall(query)}
    assert used, f"the {source} queries no leadbridge metric"
    unknown = used - served_metrics().keys()
    assert not unknown, f"the {source} queries metrics nobody serves: {sorted(unknown)}"


def test_the_dashboard_shows_every_metric_family() -> None:
    used = {name for query in _dashboard_queries() for name in _METRIC.findall(query)}
    assert set(served_metrics()) <= used


def test_the_dashboards_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    # promtool has no offline query parser of its own; a recording rule's expression is
    # parsed by `check rules`, so each query becomes one, Grafana's variables filled in.
    fills = {"$__rate_interval": "5m", "$job": ".*"}
    rules = []
    for index, query in enumerate(q for q in _dashboard_queries() if "label_values" not in q):
        for variable, value in fills.items():
            query = query.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": query})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    _run(promtool, "check", "rules", str(path))
