"""The daemon: scheduled poll, inbox and sweep jobs, leases shared by replicas, health,
and the HTTP server that carries webhooks, /healthz, /readyz and /metrics."""

from leadbridge.daemon.service import Daemon, DaemonSettings, Sweep

__all__ = ["Daemon", "DaemonSettings", "Sweep"]
