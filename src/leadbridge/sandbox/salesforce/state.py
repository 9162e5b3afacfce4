"""The simulated org's state as a Python API: records, the org's users and setup, conversion.

`OrgState` is what `SalesforceSim.state` exposes. It is thread-safe: the REST
app, the sales-rep persona and a test may all write at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.conversion import Converted, convert_lead
from leadbridge.sandbox.salesforce.orgschema import OrgSchema, Unprepared, resolve, statuses
from leadbridge.sandbox.salesforce.schema import (
    CONVERTED_STATUSES,
    DEFAULT_LEAD_STATUS,
    LEAD_STATUS,
    LEAD_STATUSES,
    SOBJECTS,
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
        unprepared: Unprepared | None = None,
    ) -> None:
        schema = OrgSchema(unprepared or Unprepared(), integration_user)
        super().__init__(clock, id_factory, users=users, actor=actor, schema=schema)
        self.integration_user = integration_user  # the user every API session runs as
        self._add_lead_statuses([s for s in LEAD_STATUSES if s not in schema.missing_statuses])

    def _add_lead_statuses(self, values: list[str]) -> None:
        with self.atomic():
            for status in values:
                self.insert(
                    LEAD_STATUS,
                    {
                        "MasterLabel": status,
                        "ApiName": status,
                        "SortOrder": LEAD_STATUSES.index(status) + 1,
                        "IsDefault": status == DEFAULT_LEAD_STATUS,
                        "IsConverted": status in CONVERTED_STATUSES,
                    },
                    actor=self.integration_user,
                )

    def deploy(
        self,
        *,
        fields: Iterable[str] = (),
        lead_statuses: Iterable[str] = (),
        permission_set: Iterable[str] = (),
    ) -> dict[str, object]:
        """What a Metadata API deploy does: custom fields (added, or redefined as the prepared
        org has them: a unique External ID), Lead Status values, then a permission set
        granting the run-as user edit access to `permission_set` fields. All or nothing:
        ValueError (nothing changed) for an unknown name or duplicates a unique field refuses.
        Answers what the org still lacks."""
        field_keys = resolve(fields, custom_only=True)
        new_statuses = statuses(lead_statuses)
        grants = resolve(permission_set)
        with self.lock:
            schema = self.schema
            after = set(field_keys)
            absent = [
                f"{o}.{n}" for o, n in grants if schema.is_missing((o, n)) and (o, n) not in after
            ]
            if absent:
                raise ValueError(f"the permission set names fields the org lacks: {absent}")
            uniques = [key for key in field_keys if schema.is_plain(key) or schema.is_missing(key)]
            indexes = [
                (key, self.unique_index(*key))
                for key in uniques
                if getattr(SOBJECTS[key[0]].field(key[1]), "unique", False)
            ]
            for key, index in indexes:
                self.keep_unique(*key, index)
            schema.add_fields(field_keys)
            added = [s for s in new_statuses if s in schema.missing_statuses]
            schema.add_statuses(added)
            self._add_lead_statuses(added)
            schema.grant(grants)
        return schema.status()

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
