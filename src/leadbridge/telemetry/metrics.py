"""The daemon's Prometheus metrics: one registry per Metrics, rendered for GET /metrics.

Each Metrics owns its CollectorRegistry instead of using prometheus_client's global
one, so two daemons (replicas in one test process, or two tests) never collide on a
metric name, and a scrape shows only the numbers of the daemon it asked.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

_SYSTEMS = ("hubspot", "salesforce")


class Metrics:
    """Named metrics the daemon updates; `render` is what /metrics answers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.changes_read = Counter(
            "leadbridge_changes_read",
            "Changes read from a system (polled or fetched after a push).",
            ["system"],
            registry=registry,
        )
        self.reconciled = Counter(
            "leadbridge_reconciled_changes",
            "Changes a reconciliation found that the polls had missed (e.g. a lagging search).",
            ["system"],
            registry=registry,
        )
        self.writes = Counter(
            "leadbridge_writes",
            "Records written to a system, by outcome (ok, failed, parked, ...).",
            ["system", "outcome"],
            registry=registry,
        )
        self.parked = Gauge(
            "leadbridge_parked_records",
            "Records parked with a reason, waiting for a person.",
            registry=registry,
        )
        self.inbox_depth = Gauge(
            "leadbridge_inbox_depth",
            "Inbox items not yet processed.",
            registry=registry,
        )
        self.sync_lag_seconds = Gauge(
            "leadbridge_sync_lag_seconds",
            "Age of the oldest unprocessed inbox item, in seconds.",
            registry=registry,
        )
        self.budget_left = Gauge(
            "leadbridge_api_budget_left_ratio",
            "Fraction of leadbridge's daily share of a system's API calls still unspent.",
            ["system"],
            registry=registry,
        )
        self.alerts_sent = Counter(
            "leadbridge_alerts_sent",
            "Slack alerts sent, by kind (overdue, escalated, ...).",
            ["kind"],
            registry=registry,
        )
        self.webhooks = Counter(
            "leadbridge_webhook_requests",
            "Webhook requests answered, by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.webhook_events = Counter(
            "leadbridge_webhook_events",
            "Events in verified webhook requests: hinted (queued) or ignored (not ours).",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.paused = Gauge(
            "leadbridge_paused",
            "1 while a person paused the sync (`leadbridge pause`): webhooks are stored, "
            "nothing is read, decided or written; 0 otherwise.",
            registry=registry,
        )
        self.crm_up = Gauge(
            "leadbridge_crm_up",
            "1 while a system's last calls succeeded, 0 while it fails (an outage, refused "
            "credentials); a spent API budget is not an outage (see the budget metric).",
            ["system"],
            registry=registry,
        )
        self.lease_held = Gauge(
            "leadbridge_lease_held",
            "1 on the replica that holds a lease (sync: polling and deciding; sweep: the SLA "
            "sweep), 0 on the others; read when scraped, so it is never stale.",
            ["lease"],
            registry=registry,
        )
        # Counters by system start at zero, so a dashboard's rate() has a series from the
        # first scrape instead of appearing only after the first change.
        for system in _SYSTEMS:
            self.changes_read.labels(system=system)
            self.reconciled.labels(system=system)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
