"""The schema gate: the daemon decides and writes only while HubSpot and Salesforce hold
what the mappings need.

The daemon never creates schema itself (`leadbridge setup` does, with consent). At
start-up it runs the doctor's checks (preflight.diagnose); while one fails, the leased
jobs do nothing but webhooks are still stored, and the gate says what is missing in
the log (one event per change, structured), in /readyz's body and, through the health
sweep, in one Slack message. It checks again every `recheck` seconds, sooner when the
systems only did not answer (a transient failure backs off from 5 s), so a fix made in
the org or the portal needs no restart. Once everything passes it checks no more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

from leadbridge.preflight import Check, blocking

RECHECK = 300.0  # seconds between two checks while something is missing
_FIRST_RETRY = 5.0  # after a transient failure; doubles up to RECHECK
_SHOWN = 3  # missing pieces named in the one-line status; the log names them all

_log = structlog.get_logger(__name__)


class SchemaGate:
    """Thread-safe: the preflight job checks, the other jobs and /readyz read."""

    def __init__(
        self,
        diagnose: Callable[[], Sequence[Check]],
        *,
        recheck: float = RECHECK,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._diagnose = diagnose
        self._recheck = recheck
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._missing: tuple[Check, ...] | None = None  # None: not checked yet
        self._next = 0.0  # monotonic time of the next check
        self._retry = _FIRST_RETRY

    @classmethod
    def passed(cls) -> SchemaGate:
        """A gate that lets everything through: for a pipeline whose systems the caller has
        already checked (tests, embedded uses)."""
        gate = cls(lambda: ())
        gate._missing = ()
        return gate

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._missing == ()

    def status(self) -> str:
        """ "ok", or one line saying what the sync waits for."""
        with self._lock:
            missing = self._missing
        if missing is None:
            return "checking HubSpot and Salesforce for what the mappings need"
        if not missing:
            return "ok"
        named = "; ".join(
            f"{c.group} {c.name}: {c.detail} (fix: {c.fix})" for c in missing[:_SHOWN]
        )
        more = f"; and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        return (
            f"nothing is decided or written until this is fixed ({len(missing)} missing, "
            f"`leadbridge doctor` lists them): {named}{more}"
        )

    def tick(self) -> bool:
        """Check now if a check is due (never once ready); True when this tick made it
        ready."""
        with self._lock:
            if self._missing == () or self._monotonic() < self._next:
                return False
            before = self._missing
        try:
            missing = tuple(blocking(list(self._diagnose())))
        except Exception as exc:  # e.g. a file changed under us: say so, ask again soon
            _log.exception("schema check failed")
            missing = (_unchecked(exc),)
        return self._record(before, missing)

    def _record(self, before: tuple[Check, ...] | None, missing: tuple[Check, ...]) -> bool:
        transient = any(check.transient for check in missing)
        with self._lock:
            self._missing = missing
            if transient:
                wait, self._retry = self._retry, min(self._retry * 2, self._recheck)
            else:
                wait, self._retry = self._recheck, _FIRST_RETRY
            self._next = self._monotonic() + wait
        if not missing:
            _log.info("schema ready", detail="HubSpot and Salesforce hold what the mappings need")
            return True
        if _names(missing) != _names(before or ()):
            _log.warning(
                "schema missing",
                effect="nothing is decided or written until it is fixed; webhooks are stored",
                missing=[
                    {"system": c.group, "what": c.name, "found": c.detail, "fix": c.fix}
                    for c in missing
                ],
                next_check_in=round(wait),
            )
        return False


def _unchecked(exc: Exception) -> Check:
    detail = f"the check itself failed: {type(exc).__name__}: {exc}"
    fix = "see the daemon's log; `leadbridge doctor` runs the same checks"
    return Check("schema check", False, detail, fix, "leadbridge", transient=True)


def _names(checks: Sequence[Check]) -> list[tuple[str, str, str]]:
    return [(check.group, check.name, check.detail) for check in checks]
