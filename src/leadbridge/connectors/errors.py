"""One failure policy for both systems: what went wrong decides what happens next.

A connector turns whatever its client raised or answered into a `Failure`
(status, error code, message, Retry-After). `_POLICY`, a table read top to
bottom, maps it to an `Action`; `retrying()` is the tenacity policy that acts
on it. The split follows singer-sdk and the Airbyte CDK: retriable faults
are retried with back-off, rate limits wait as long as the service asks,
an expired session is refreshed, a record the service refuses is parked
with the service's own message, and anything else fails the run loudly.
A refusal of the record's own values (`Rule.data`: a required field blank, a
picklist value unknown, a validation rule) names what a person must fix: no
timer can make it pass, only a change to the values.

Only idempotent calls are ever retried: the connectors create through
upserts (Salesforce by external id, HubSpot by email), so a retry after a
lost answer can never make a second record.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import tenacity

from leadbridge.model import System


class Action(StrEnum):
    RETRY = "retry"  # transient: try again after a back-off
    RATE_LIMITED = "rate_limited"  # wait as long as the service says, then try again
    REFRESH_AUTH = "refresh_auth"  # get a new token, then try again at once
    PARK = "park"  # this record cannot be written as it is: keep it with the reason
    FAIL = "fail"  # the run cannot go on (bad credentials, missing scope, our bug)


@dataclass(frozen=True)
class Failure:
    """What a remote call answered, in the same words for both systems."""

    system: System
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    code: str  # the service's error code, or the transport exception's name
    message: str
    retry_after: float | None = None  # seconds, from Retry-After or the rate-limit headers

    def __str__(self) -> str:
        status = self.status if self.status is not None else "no answer"
        return f"{self.system} {status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Rule:
    action: Action
    why: str
    system: System | None = None
    statuses: tuple[int | None, ...] = ()  # None: no HTTP answer
    codes: tuple[str, ...] = ()
    # PARK only: the record's values were refused, and `why` says what to fix. Sending the
    # same values again cannot help; the write waits until the lead changes.
    data: bool = False

    def matches(self, failure: Failure) -> bool:
        return (
            (self.system is None or self.system == failure.system)
            and (not self.statuses or failure.status in self.statuses)
            and (not self.codes or failure.code in self.codes)
        )


_5XX = tuple(range(500, 600))
_SF, _HS = System.SALESFORCE, System.HUBSPOT


def _data(
    system: System, *fixes: tuple[str, tuple[str, ...]], statuses: tuple[int | None, ...] = ()
) -> tuple[Rule, ...]:
    """PARK rules for refused values: (what a person must fix, the codes that say so)."""
    return tuple(Rule(Action.PARK, fix, system, statuses, codes, data=True) for fix, codes in fixes)


_POLICY: tuple[Rule, ...] = (
    Rule(
        Action.FAIL,
        "the server's certificate was refused: the CA bundle is wrong, retrying cannot help",
        statuses=(None,),
        codes=("SSLError", "SSLCertVerificationError"),
    ),
    Rule(Action.RETRY, "no answer: connection refused, reset or timed out", statuses=(None,)),
    Rule(Action.REFRESH_AUTH, "the session expired", _SF, (401,), ("INVALID_SESSION_ID",)),
    Rule(Action.FAIL, "credentials refused: a person must fix them", statuses=(401,)),
    Rule(Action.RATE_LIMITED, "over a request limit", statuses=(429,)),
    Rule(
        Action.RATE_LIMITED,
        "the org's API allocation is spent",
        _SF,
        (403,),
        ("REQUEST_LIMIT_EXCEEDED",),
    ),
    Rule(Action.FAIL, "forbidden: a missing scope or permission", statuses=(403,)),
    Rule(Action.RETRY, "the service failed; it says nothing about our data", statuses=_5XX),
    Rule(
        Action.RETRY,
        "Salesforce row lock, cleared by trying again",
        _SF,
        (),
        ("UNABLE_TO_LOCK_ROW",),
    ),
    *_data(
        _SF,
        (
            "give the fields named a value (in HubSpot, or in Salesforce for a record that exists)",
            ("REQUIRED_FIELD_MISSING",),
        ),
        (
            "add the value to the Salesforce picklist, or map it to one in mappings/fields.yaml",
            ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",),
        ),
        (
            "shorten the value, or add {truncate: N} to its field in mappings/fields.yaml",
            ("STRING_TOO_LONG", "NUMBER_OUTSIDE_VALID_RANGE"),
        ),
        ("correct the email address", ("INVALID_EMAIL_ADDRESS",)),
        (
            "change the values so the org's validation rules pass (or change the rule)",
            (
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "FIELD_INTEGRITY_EXCEPTION",
                "FIELD_FILTER_VALIDATION_EXCEPTION",
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ),
        ),
        (
            "another record has these values: merge the duplicates or correct one",
            ("DUPLICATE_VALUE", "DUPLICATES_DETECTED"),
        ),
    ),
    Rule(
        Action.PARK,
        "Salesforce refused the record: gone, converted or not writable",
        _SF,
        (),
        (
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "ENTITY_IS_DELETED",
            "INVALID_CROSS_REFERENCE_KEY",
            "MALFORMED_ID",
            "NOT_FOUND",
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
    ),
    Rule(
        Action.FAIL,
        "our query or request is wrong: a bug, not data",
        _SF,
        (),
        ("MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "INVALID_QUERY_FILTER_OPERATOR"),
    ),
    Rule(
        Action.PARK,
        "the write did not take (read back) or cannot be expressed: a person must look",
        codes=("NOT_VERIFIED", "UNSUPPORTED_WRITE"),
    ),
    *_data(
        _HS,
        (
            "correct the property's value, or add it to the property's options in HubSpot "
            "(or map it to one in mappings/fields.yaml)",
            ("VALIDATION_ERROR", "INVALID_OPTION"),
        ),
        statuses=(400,),
    ),
    Rule(Action.PARK, "HubSpot refused the record's values", _HS, (400, 404, 409)),
    Rule(Action.PARK, "Salesforce refused the record", _SF, (400, 404)),
)


def _rule_for(failure: Failure) -> Rule | None:
    """The first rule of _POLICY that matches; None means nothing does (then: fail)."""
    return next((rule for rule in _POLICY if rule.matches(failure)), None)


def refused_values(failure: Failure) -> Rule | None:
    """The rule when the service refused the record's own values (its `why` says what to fix);
    None for every other failure, transient or not."""
    rule = _rule_for(failure)
    return rule if rule is not None and rule.data else None


def action_for(failure: Failure) -> Action:
    rule = _rule_for(failure)
    return rule.action if rule is not None else Action.FAIL


class RemoteError(Exception):
    """A remote call failed; `action` says what the caller should do about it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.action = action_for(failure)


RETRIABLE = frozenset({Action.RETRY, Action.RATE_LIMITED, Action.REFRESH_AUTH})


def retrying(
    *,
    attempts: int = 8,
    base: float = 0.5,
    cap: float = 30.0,
    refresh_auth: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: random.Random | None = None,
) -> tenacity.Retrying:
    """The tenacity policy for one remote call.

    Waits: what the service asked for (Retry-After, rate-limit headers) when
    it said; otherwise exponential back-off with full jitter, so replicas that
    failed together do not retry together. An expired session is refreshed and
    retried at once. Parked and fatal failures are raised on the first try.
    """
    rng = jitter or random.Random()

    def should_retry(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        return isinstance(error, RemoteError) and error.action in RETRIABLE

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RemoteError):
            if error.action is Action.REFRESH_AUTH:
                return 0.0
            if error.failure.retry_after is not None:
                return min(error.failure.retry_after, cap * 4)
        return rng.uniform(0, min(cap, base * 2 ** (state.attempt_number - 1)))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RemoteError) and error.action is Action.REFRESH_AUTH:
            if refresh_auth is None:
                raise error
            refresh_auth()

    return tenacity.Retrying(
        retry=should_retry,
        wait=wait,
        stop=tenacity.stop_after_attempt(attempts),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
