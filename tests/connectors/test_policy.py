"""The failure policy table and the tenacity policy that acts on it."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from leadbridge.connectors.errors import Action, Failure, RemoteError, action_for, retrying
from leadbridge.model import System

HS, SF = System.HUBSPOT, System.SALESFORCE


@pytest.mark.parametrize(
    ("failure", "action"),
    [
        (Failure(HS, None, "ConnectionResetError", "reset"), Action.RETRY),
        (Failure(SF, None, "ReadTimeout", "timed out"), Action.RETRY),
        (Failure(HS, 502, "", "bad gateway"), Action.RETRY),
        (Failure(SF, 503, "SERVER_UNAVAILABLE", "down"), Action.RETRY),
        (Failure(HS, 429, "RATE_LIMIT", "ten_secondly_rolling"), Action.RATE_LIMITED),
        (Failure(SF, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests"), Action.RATE_LIMITED),
        (Failure(SF, 401, "INVALID_SESSION_ID", "expired"), Action.REFRESH_AUTH),
        (Failure(HS, 401, "INVALID_AUTHENTICATION", "bad token"), Action.FAIL),
        (Failure(HS, 403, "MISSING_SCOPES", "scope"), Action.FAIL),
        (Failure(HS, 400, "VALIDATION_ERROR", "bad option"), Action.PARK),
        (Failure(HS, 409, "CONFLICT", "exists"), Action.PARK),
        (
            Failure(SF, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value"),
            Action.PARK,
        ),
        (Failure(SF, 400, "CANNOT_UPDATE_CONVERTED_LEAD", "converted"), Action.PARK),
        (Failure(SF, 200, "DUPLICATE_VALUE", "per-record, inside a 200"), Action.PARK),
        (Failure(SF, 400, "MALFORMED_QUERY", "our bug"), Action.FAIL),
        (Failure(SF, 400, "UNABLE_TO_LOCK_ROW", "locked"), Action.RETRY),
        (Failure(HS, 418, "TEAPOT", "unknown"), Action.FAIL),
        (Failure(SF, None, "SSLError", "certificate verify failed"), Action.FAIL),
        (Failure(HS, 200, "NOT_VERIFIED", "lifecyclestage still customer"), Action.PARK),
    ],
)
def test_the_table_decides(failure: Failure, action: Action) -> None:
    assert action_for(failure) is action


def _flaky(failures: list[Failure]) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise RemoteError(failures[len(calls) - 1])
        return "done"

    return calls, call


def test_retries_wait_with_growing_jittered_back_off() -> None:
    slept: list[float] = []
    calls, call = _flaky([Failure(HS, 500, "", "x")] * 4)
    policy = retrying(base=1.0, cap=30, sleep=slept.append, jitter=random.Random(1))
    assert policy(call) == "done"
    assert len(calls) == 5
    assert len(slept) == 4
    assert all(0 <= wait <= 2**n for n, wait in enumerate(slept))
    assert sum(slept) > 0


def test_a_rate_limit_waits_as_long_as_the_service_asked() -> None:
    slept: list[float] = []
    _, call = _flaky([Failure(HS, 429, "RATE_LIMIT", "x", retry_after=7.5)])
    assert retrying(sleep=slept.append)(call) == "done"
    assert slept == [7.5]


def test_an_expired_session_is_refreshed_then_retried_at_once() -> None:
    slept: list[float] = []
    refreshed: list[int] = []
    _, call = _flaky([Failure(SF, 401, "INVALID_SESSION_ID", "expired")])
    policy = retrying(sleep=slept.append, refresh_auth=lambda: refreshed.append(1))
    assert policy(call) == "done"
    assert (refreshed, slept) == ([1], [0.0])


@pytest.mark.parametrize(
    "failure",
    [Failure(HS, 400, "VALIDATION_ERROR", "bad"), Failure(HS, 401, "x", "bad token")],
)
def test_parked_and_fatal_failures_are_not_retried(failure: Failure) -> None:
    calls, call = _flaky([failure])
    with pytest.raises(RemoteError) as raised:
        retrying(sleep=lambda _: None)(call)
    assert raised.value.failure is failure
    assert len(calls) == 1


def test_gives_up_after_the_last_attempt_with_the_last_failure() -> None:
    calls, call = _flaky([Failure(SF, 503, "SERVER_UNAVAILABLE", f"try {n}") for n in range(9)])
    with pytest.raises(RemoteError, match="try 2"):
        retrying(attempts=3, sleep=lambda _: None)(call)
    assert len(calls) == 3
