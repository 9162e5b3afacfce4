"""A lead's story (`explain_story.Story`) as text for people or JSON for programs."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from leadbridge.cli.explain_story import Move, Record, Story, Write

_SYSTEMS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


def to_text(story: Story) -> str:
    lines = _header(story)
    lines.append("")
    if not story.moves:
        lines.append("No moves yet: the lead has not changed stage since leadbridge met it.")
    for move in story.moves:
        lines += _move(move)
    if story.notes:
        lines.append("")
        lines += [f"Note: {note}" for note in story.notes]
    return "\n".join(lines) + "\n"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".rstrip()


def _header(story: Story) -> list[str]:
    who = story.name or story.email or f"lead {story.lead_id}"
    if story.name and story.email:
        who += f" <{story.email}>"
    lines = [f"{who}: {story.stage_label} since {_when(story.since)}"]
    owner = f"  Owner: {story.owner or 'no one yet'}"
    lines.append(owner + (f"; the stage is owned by {story.team}" if story.team else ""))
    if story.next_step:
        lines.append(f"  Next: {story.next_step}")
    lines += [f"  {_record(record)}" for record in story.records]
    if not story.records:
        lines.append("  No records linked yet")
    zone = {"--tz": "from --tz", "$TZ": "from $TZ"}.get(story.time_zone_from, "the default")
    lines.append(f"  Times in {story.time_zone} ({zone}); lead id {story.lead_id}")
    return lines


def _record(record: Record) -> str:
    shown = f"{_SYSTEMS[record.system]} {record.object} {record.id}"
    return f"{shown}: {record.url}" if record.url else shown


def _move(move: Move) -> list[str]:
    reason = f", reason {move.reason_label}" if move.handback else ""
    lines = [
        f"{_when(move.at)}  {move.from_label} → {move.to_label}: "
        f"{move.what}{reason}, {move.where} ({move.source})"
    ]
    lines += [f"    wrote {_write(write)}" for write in move.writes]
    if move.written_with_next:
        lines.append("    wrote nothing of its own: the next move, decided with it, wrote for both")
    elif not move.writes:
        lines.append("    wrote nothing for this move")
    for section in move.sections:
        lines.append(f"    {section.title}:")
        lines += [f"      {line}" for line in section.lines]
    return lines


def _write(write: Write) -> str:
    where = f"{_SYSTEMS[write.system]} {write.object}"
    where += f" {write.record}" if write.record else f" (new, by {write.key or 'upsert'})"
    return f"{where}: " + ", ".join(f"{found.field} = {found.value}" for found in write.fields)


def to_json(story: Story) -> str:
    return json.dumps(dataclasses.asdict(story), default=_json_value, indent=2) + "\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
