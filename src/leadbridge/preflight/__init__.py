"""Doctor checks and setup actions against the live systems.

The checks are pure functions from what the funnel needs and what the systems answered
to a list of `Check`s; the gathering (connectors, reading only) is separate (.gather),
and `diagnose` runs both."""

from leadbridge.preflight.checks import Check
from leadbridge.preflight.doctor import blocking, diagnose
from leadbridge.preflight.usage import SlackFacts, slack_checks

__all__ = ["Check", "SlackFacts", "blocking", "diagnose", "slack_checks"]
