"""The simulated org's state as a Python API: records, the org's users and setup, conversion.

`OrgState` is what `SalesforceSim.state` exposes. It is thread-safe: the REST
app, the sales-rep persona and a test may all write at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.conversion import Converted, convert_lead
from leadbridge.sandbox.salesforce.schema import (
    CONVERTED_STATUSES,
    DEFAULT_LEAD_STATUS,
    LEAD_STATUS,
    LEAD_STATUSES,
)
from leadbridge.sandbox.salesforce.store import RecordStore


class OrgState(RecordStore):
    """Records of every sObject; writes through `create`/`update`/`delete`/`upsert` are checked
    as the REST API checks them (and raise `SfError`), and are ordinary changes: stamps move
    and Outbound Messages fire."""

    def __init__(
        self,
        clock: SimClock,
        id_factory: ids.IdFactory,
        *,
        users: Mapping[str, str],
        integration_user: str,
        actor: str,
    ) -> None:
        super().__init__(clock, id_factory, users=users, actor=actor)
        self.integration_user = integration_user  # the user every API session runs as
        with self.atomic():
            for order, status in enumerate(LEAD_STATUSES, start=1):
                self.insert(
                    LEAD_STATUS,
                    {
                        "MasterLabel": status,
                        "ApiName": status,
                        "SortOrder": order,
                        "IsDefault": status == DEFAULT_LEAD_STATUS,
                        "IsConverted": status in CONVERTED_STATUSES,
                    },
                    actor=integration_user,
                )

    def convert_lead(
        self,
        lead_id: str,
        *,
        converted_status: str | None = None,
        create_opportunity: bool = True,
        opportunity_name: str | None = None,
        account_id: str | None = None,
        amount: float | None = None,
        actor: str | None = None,
    ) -> Converted:
        """Converts a lead as a rep would; answers the ids of what it became."""
        return convert_lead(
            self,
            lead_id,
            converted_status=converted_status,
            create_opportunity=create_opportunity,
            opportunity_name=opportunity_name,
            account_id=account_id,
            amount=amount,
            actor=actor,
        )
