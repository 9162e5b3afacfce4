"""One line of the doctor's checklist, and the fixes the checks share."""

from __future__ import annotations

from dataclasses import dataclass

from leadbridge.connectors.errors import Failure


@dataclass(frozen=True)
class Check:
    """✓ or ✗, what was found, and (for a ✗) exactly what a person does about it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    group: str = ""  # the section it is listed under: "HubSpot", "Salesforce", "Slack"
    # The system did not answer (no answer, 429, 5xx): asking again later may pass.
    transient: bool = False


def passed(group: str, name: str, detail: str) -> Check:
    return Check(name, True, detail, "", group)


def failed(group: str, name: str, detail: str, fix: str, *, transient: bool = False) -> Check:
    return Check(name, False, detail, fix, group, transient)


def failed_on(group: str, name: str, detail: str, fix: str, failure: Failure) -> Check:
    """A ✗ caused by `failure`: transient when the system did not answer or was busy."""
    status = failure.status
    waits = (status is None and "SSL" not in failure.code) or status == 429
    return failed(group, name, detail, fix, transient=waits or (status or 0) >= 500)


def said(failure: Failure) -> str:
    """A failure as one line, without the system's name (the check's group says it)."""
    status = failure.status if failure.status is not None else "no answer"
    message = " ".join(failure.message.split())
    return f"{status} {failure.code}: {message}" if message else f"{status} {failure.code}"


def transport_fix(failure: Failure, url_variable: str, ca_variable: str) -> str | None:
    """The fix for a failure that is about reaching the service, not about what it said."""
    if failure.status is None and failure.code in ("SSLError", "SSLCertVerificationError"):
        return (
            f"the server's certificate was refused: set {ca_variable} to the CA bundle that "
            "signs it, or leave it unset for the public services"
        )
    if failure.status is None:
        return f"check {url_variable} and the network: the service did not answer"
    if failure.status == 429:
        return "the API's rate limit is spent: run leadbridge doctor again in a minute"
    if failure.status >= 500:
        return "the service failed on its side: run leadbridge doctor again later"
    return None
