"""Salesforce's error shapes: the REST error array and the per-record SaveResult error."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from leadbridge.sandbox.http import JSON


class SfError(Exception):
    """One Salesforce error. `fields` is None where the real API leaves the key out
    (request-level errors such as NOT_FOUND or MALFORMED_QUERY)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields

    def rest_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return item

    def save_error(self) -> dict[str, Any]:
        """The error as sObject Collections report it: `statusCode`, never `errorCode`."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return JSON([self.rest_item()], status_code=self.status, headers=headers)


def not_found() -> SfError:
    return SfError("NOT_FOUND", "The requested resource does not exist", status=404)


def entity_deleted() -> SfError:
    return SfError("ENTITY_IS_DELETED", "entity is deleted", status=404, fields=[])


def converted_lead() -> SfError:
    return SfError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", fields=[])


def json_parser_error(detail: str) -> SfError:
    return SfError("JSON_PARSER_ERROR", detail)


class MoreThanOneRecord(SfError):
    """An external id that is not unique matched several records. REST answers 300 with the
    records' URLs (simple-salesforce's SalesforceMoreThanOneRecord); a collection reports
    DUPLICATE_EXTERNAL_ID for that record."""

    def __init__(self, sobject: str, field: str, ids: list[str]) -> None:
        super().__init__(
            "DUPLICATE_EXTERNAL_ID",
            f"{sobject}: more than one record found for external id field: {ids}",
            status=300,
            fields=[],
        )
        self.sobject = sobject
        self.field = field
        self.ids = ids
