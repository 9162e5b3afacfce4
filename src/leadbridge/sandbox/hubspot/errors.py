"""HubSpot's error bodies, and the exception the routes raise to answer with one."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import orjson

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class Correlator:
    """Seeded correlation ids, so a failing run prints the same ids when it repeats."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"correlation-{seed}")
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class ApiError(ValueError):
    """Raised anywhere below a route; the route guard turns it into HubSpot's JSON answer.
    A ValueError, so the Python API's callers see a refused write as one."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        sub_category: str | None = None,
        empty_body: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context
        self.sub_category = sub_category
        self.empty_body = empty_body

    def body(self, correlation_id: str) -> dict[str, Any]:
        return error_body(
            self.category,
            self.message,
            correlation_id,
            context=self.context,
            sub_category=self.sub_category,
        )


def error_body(
    category: str,
    message: str,
    correlation_id: str,
    *,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        "category": category,
    }
    if sub_category:
        body["subCategory"] = sub_category
    if context:
        body["context"] = context
    return body


def validation_failure(errors: list[dict[str, Any]]) -> ApiError:
    """HubSpot's property validation answer: the per-property details travel JSON-encoded
    inside `message`, which is what clients in the wild end up parsing."""
    detail = orjson.dumps(errors).decode()
    return ApiError(400, "VALIDATION_ERROR", f"Property values were not valid: {detail}")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message)


def not_found(message: str = "resource not found") -> ApiError:
    return ApiError(404, "OBJECT_NOT_FOUND", message)


def conflict(existing_id: int) -> ApiError:
    return ApiError(409, "CONFLICT", f"Contact already exists. Existing ID: {existing_id}")


RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


def rate_limit_body(policy: str, correlation_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": RATE_LIMIT_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": policy,
    }


SERVER_ERROR_MESSAGES = {
    500: "internal error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def server_error_body(status: int, correlation_id: str) -> dict[str, Any]:
    message = SERVER_ERROR_MESSAGES.get(status, "internal error")
    return error_body("INTERNAL_ERROR", message, correlation_id)
