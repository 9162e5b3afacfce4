"""A lead's story as data: who it is, where it stands and what comes next, its records with
links, and one `Move` per journaled transition with what changed and what it wrote.

Pure: the lead, its journal, the funnel (None when the mappings did not load), the links
and the time zone come in; `explain_render` turns the result into text or JSON. A part
(a score breakdown, say) joins a move as a `Section`, so renderers need no new case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from leadbridge.alerts.blocks import Links
from leadbridge.cli import explain_words as words
from leadbridge.config import Funnel
from leadbridge.config.scoring import REASONS
from leadbridge.model import Identity, Lead, System, readable
from leadbridge.store import JournalEntry


@dataclass(frozen=True)
class Record:
    """One of the lead's records, with where it opens (None: the link cannot be made)."""

    system: str
    object: str
    id: str
    url: str | None


@dataclass(frozen=True)
class FieldSet:
    """A field a write set: as people read it, its API name, and the value written."""

    field: str
    api_name: str
    value: str


@dataclass(frozen=True)
class Write:
    """One record a move wrote: new (created by upsert) or updated, and the fields it set."""

    system: str
    object: str
    record: str | None  # None: created, found again by `key`
    key: str | None  # "email = dana@acme.io" for a create
    fields: list[FieldSet]


@dataclass(frozen=True)
class Section:
    """A titled block of lines under a move (for parts added later, such as a score)."""

    title: str
    lines: list[str]


@dataclass(frozen=True)
class Move:
    at: datetime  # in the story's time zone
    from_stage: str
    to_stage: str
    from_label: str
    to_label: str
    what: str  # "Status became Disqualified"
    where: str  # "by sales in Salesforce"
    source: str  # "Salesforce Lead 00Q..."
    changed_at: datetime  # when the source record changed, in the story's time zone
    rule: str  # the rule's id, for whoever needs to find it in handoff.yaml
    reason: str  # code
    reason_label: str
    handback: bool  # a hand-back or disqualification: its reason is the point
    writes: list[Write]
    # True when it wrote nothing because a later move decided with it (the same change,
    # or changes read together) wrote for both: the writes follow the lead's last stage.
    written_with_next: bool = False
    sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True)
class Story:
    lead_id: str
    name: str | None
    email: str | None
    stage: str
    stage_label: str
    since: datetime
    owner: str | None  # the rep, when known
    team: str | None  # marketing or sales: who owns the stage
    next_step: str | None  # "accept or reject in Salesforce within 2 days"
    records: list[Record]
    time_zone: str
    time_zone_from: str  # "--tz", "$TZ" or "default"
    moves: list[Move]
    notes: list[str] = field(default_factory=list)  # what could not be shown, and why


def build(
    lead: Lead,
    entries: Sequence[JournalEntry],
    funnel: Funnel | None,
    links: Links | None,
    zone: tuple[ZoneInfo, str],
    notes: Sequence[str] = (),
) -> Story:
    tz, source = zone
    stage = funnel.stage.get(lead.stage) if funnel is not None else None
    owner = lead.owner or lead.fields.get("owner")
    return Story(
        lead_id=lead.id,
        name=_name(lead),
        email=_text(lead.fields.get("email")),
        stage=lead.stage,
        stage_label=words.stage(funnel, lead.stage),
        since=lead.stage_entered_at.astimezone(tz),
        owner=owner if isinstance(owner, str) and owner else None,
        team=stage.owner.value if stage is not None else None,
        next_step=funnel.next_step(lead.stage) if funnel is not None else None,
        records=records(lead.identity, links),
        time_zone=tz.key,
        time_zone_from=source,
        moves=_moves(entries, funnel, tz),
        notes=[*notes, *_link_notes(lead.identity, links)],
    )


def _name(lead: Lead) -> str | None:
    parts = [_text(lead.fields.get(key)) for key in ("first_name", "last_name")]
    return " ".join(part for part in parts if part) or None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def records(identity: Identity, links: Links | None) -> list[Record]:
    """The lead's records: its HubSpot contact, its Salesforce Lead and (once converted)
    Contact. A converted Lead still opens in Salesforce, as converted."""
    found: list[Record] = []
    if identity.hubspot is not None:
        url = links.hubspot(identity) if links is not None else None
        found.append(Record("hubspot", "contact", identity.hubspot, url))
    for obj, record_id in (
        ("Lead", identity.salesforce_lead),
        ("Contact", identity.salesforce_contact),
    ):
        if record_id is not None:
            url = links.salesforce_record(obj, record_id) if links is not None else None
            found.append(Record("salesforce", obj, record_id, url))
    return found


def _link_notes(identity: Identity, links: Links | None) -> list[str]:
    """Why a record shows without its link: said once, with where to set it."""
    notes = []
    hubspot_unknown = links is None or links.hubspot_portal is None
    if identity.hubspot is not None and hubspot_unknown:
        notes.append(
            "no HubSpot link: the portal id is unknown (set links.hubspot_portal_id in "
            "connectors/slack.yaml, or $HUBSPOT_PORTAL_ID)"
        )
    salesforce_unknown = links is None or links.salesforce_url is None
    if (identity.salesforce_lead or identity.salesforce_contact) and salesforce_unknown:
        notes.append(
            "no Salesforce link: the org's address is unknown (set links.salesforce_url in "
            "connectors/slack.yaml, or $SALESFORCE_INSTANCE_URL)"
        )
    return notes


def _moves(entries: Sequence[JournalEntry], funnel: Funnel | None, tz: ZoneInfo) -> list[Move]:
    moves = [_move(entry, funnel, tz) for entry in entries]
    for i, (entry, after) in enumerate(pairwise(entries)):
        # Moves decided together share their decision's moment (sync/pipeline.py).
        if not entry.writes and after.transition.at == entry.transition.at:
            moves[i] = replace(moves[i], written_with_next=True)
    return moves


def _move(entry: JournalEntry, funnel: Funnel | None, tz: ZoneInfo) -> Move:
    t = entry.transition
    writes = [_write(write, funnel) for write in entry.writes]
    target = funnel.stage.get(t.to_stage) if funnel is not None else None
    return Move(
        at=t.at.astimezone(tz),
        from_stage=t.from_stage,
        to_stage=t.to_stage,
        from_label=words.stage(funnel, t.from_stage),
        to_label=words.stage(funnel, t.to_stage),
        what=words.what_changed(funnel, t.rule, t.reason, t.cause),
        where=words.by_whom(t.cause),
        source=f"{words.record(t.cause.system, t.cause.object)} {t.cause.id}",
        changed_at=t.cause.modified_at.astimezone(tz),
        rule=t.rule,
        reason=t.reason,
        reason_label=words.reason(funnel, t.reason),
        handback=target.handback if target is not None else False,
        writes=writes,
        sections=_score_section(funnel, writes),
    )


def _score_section(funnel: Funnel | None, writes: Sequence[Write]) -> list[Section]:
    """The score breakdown as of this move: the reasons it wrote to HubSpot (scoring.yaml's
    score_reasons property), one criterion a line. `leadbridge score` shows it now."""
    target = funnel.scoring.write.get(REASONS) if funnel and funnel.scoring else None
    if target is None or target.hubspot is None:
        return []
    for write in writes:
        for found in write.fields:
            if write.system == System.HUBSPOT.value and found.api_name == target.hubspot:
                # "title +20 (title: VP Ops); webinar +10 (last_form: webinar) = 30, grade C"
                criteria, _, total = found.value.rpartition(" = ")
                if not criteria:
                    criteria, total = total, ""
                return [Section(f"score {total}".strip(), criteria.split("; "))]
    return []


def _write(write: dict[str, object], funnel: Funnel | None) -> Write:
    """One entry of the journal's writes (store.records._write_json's shape)."""
    system = System(str(write.get("system")))
    obj = str(write.get("object"))
    key = write.get("key")
    shown_key = None
    if isinstance(key, list | tuple) and len(key) == 2:
        shown_key = f"{readable(str(key[0])) if key[0] == 'email' else key[0]} = {key[1]}"
    steps = write.get("steps")
    return Write(
        system=system.value,
        object=obj,
        record=str(write["id"]) if write.get("id") else None,
        key=shown_key,
        fields=[
            FieldSet(*found)
            for found in words.written_fields(
                funnel, system, obj, steps if isinstance(steps, list) else []
            )
        ],
    )
