"""Which database errors a unit of work may simply be run again after, and how long to wait.

PostgreSQL resolves a deadlock by failing one of the transactions in it (SQLSTATE 40P01),
and fails a transaction that could not be serialised (40001); either rolled back whole,
so the same work run again on a fresh transaction is correct, and usually succeeds at
once. Anything else (a constraint, a lost connection, a bug) is not retried here:
running it again would fail the same way or hide the cause.
"""

from __future__ import annotations

import random

import sqlalchemy as sa

# serialization_failure, deadlock_detected
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
ATTEMPTS = 4
_BASE_DELAY = 0.01  # seconds; doubles per attempt
_MAX_DELAY = 0.2
_RNG = random.Random()


def is_retryable(error: BaseException) -> bool:
    """A deadlock or serialisation failure, as SQLAlchemy wraps the driver's error."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return sqlstate in _RETRYABLE_SQLSTATES


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 1).

    Full jitter: the transactions that just deadlocked would otherwise wake together
    and collide again.
    """
    ceiling = min(_BASE_DELAY * 2 ** (attempt - 1), _MAX_DELAY)
    return (rng or _RNG).uniform(0, ceiling)
