"""The journal and the leads as they stood at a moment (`report --as-of`). Pure.

Moves after the moment are dropped, and a lead that moved since is put back
where it was: in the stage its first later move left, entered at its last
move before the moment. What the journal cannot give back is said here:

- A lead whose first journaled move came after the moment was in that move's
  starting stage, since a time the journal does not hold: it counts there
  "now", with no time in stage, so it is never called stuck.
- A lead that never moved and entered its stage after the moment did not
  exist yet: it is left out.
- Fields (source, owner, score) are today's values: the store keeps no
  history of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from leadbridge.model import Lead, Transition


class _Entry(Protocol):
    @property
    def lead_id(self) -> str: ...

    @property
    def transition(self) -> Transition: ...


E = TypeVar("E", bound=_Entry)


def at_moment(
    entries: Iterable[E], leads: Sequence[Lead], now: datetime
) -> tuple[list[E], list[Lead]]:
    """The entries at or before `now` (order kept), and each lead as it stood at `now`."""
    kept: list[E] = []
    last_before: dict[str, datetime] = {}
    first_after: dict[str, Transition] = {}
    for entry in entries:
        step = entry.transition
        if step.at <= now:
            kept.append(entry)
            seen = last_before.get(entry.lead_id)
            last_before[entry.lead_id] = step.at if seen is None else max(seen, step.at)
        elif entry.lead_id not in first_after or step.at < first_after[entry.lead_id].at:
            first_after[entry.lead_id] = step
    found = []
    for lead in leads:
        later = first_after.get(lead.id)
        if later is None:
            if lead.id in last_before or lead.stage_entered_at <= now:
                found.append(lead)
            continue
        entered = last_before.get(lead.id, now)
        found.append(dataclasses.replace(lead, stage=later.from_stage, stage_entered_at=entered))
    return kept, found
