"""What the daemon tells its operators: JSON logs with every secret blanked, and the
Prometheus metrics."""

from leadbridge.telemetry.logs import Redactor, configure
from leadbridge.telemetry.metrics import Metrics

__all__ = ["Metrics", "Redactor", "configure"]
