"""A stage's former names (`was:`), checked: each names one stage that no longer exists.

Renaming `sql` to `sales_accepted` with `was: [sql]` tells leadbridge where leads
still recorded in `sql` belong. That only works if `sql` is no stage's current name
(else a lead there is in both) and is claimed by one stage only (else it has two
places to go).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from leadbridge.config.conditions import Loc
from leadbridge.model import Stage

Report = Callable[[Loc, str], None]


def renamed(stages: Sequence[Stage]) -> dict[str, str]:
    """Each former name -> the stage that has it now (the first claim, if claimed twice)."""
    found: dict[str, str] = {}
    for stage in stages:
        for old in stage.was:
            found.setdefault(old, stage.name)
    return found


def check_was(stages: Sequence[Stage], report: Report) -> None:
    """Report former names that are current names, or that two stages claim."""
    current = {stage.name for stage in stages}
    claimed: dict[str, str] = {}
    for stage in stages:
        for j, old in enumerate(stage.was):
            where: Loc = ("stages", stage.index, "was", j)
            if old in current:
                report(
                    where,
                    f"{old!r} is a current stage's name; `was` lists only names no stage has "
                    "any more (the names this stage had before a rename)",
                )
            elif old in claimed:
                report(
                    where,
                    f"{old!r} is already the former name of stage {claimed[old]!r}, expected "
                    "each former name under one stage, so its leads have one place to go",
                )
            claimed.setdefault(old, stage.name)
