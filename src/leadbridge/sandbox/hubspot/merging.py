"""What a merged contact's properties become (HubSpot's rules, with their documented exceptions)."""

from __future__ import annotations

from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.records import ALWAYS, Contact

# Computed afresh for the merged record rather than carried over.
_RECOMPUTED = frozenset({*ALWAYS, "hs_merged_object_ids", "hs_additional_emails"})


def merged_values(
    primary: Contact, secondary: Contact, catalog: Catalog
) -> tuple[dict[str, str], int]:
    """The merged record's values and how many came from the secondary.

    The primary's values win; the secondary fills the gaps. Exceptions HubSpot
    documents: the lifecycle stage furthest down the funnel is kept, and the
    secondary's email becomes an additional email.
    """
    values = {k: v for k, v in secondary.props.items() if v and k not in _RECOMPUTED}
    moved = len(values)
    for name, value in primary.props.items():
        if value and name not in _RECOMPUTED:
            if name in values:
                moved -= 1
            values[name] = value
    stages = [c.props.get("lifecyclestage") for c in (primary, secondary)]
    present = [stage for stage in stages if stage]
    if present:
        values["lifecyclestage"] = max(present, key=catalog.stage_rank)
    extra = [
        e
        for c in (primary, secondary)
        for e in c.props.get("hs_additional_emails", "").split(";")
        if e
    ]
    secondary_email = secondary.props.get("email")
    if secondary_email and secondary_email != values.get("email"):
        extra.append(secondary_email)
    if extra:
        values["hs_additional_emails"] = ";".join(dict.fromkeys(extra))
    return values, moved
