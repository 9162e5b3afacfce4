"""Checks shared by both systems: a written field's type, the values written into a picklist."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from leadbridge.preflight.checks import Check, failed, passed
from leadbridge.preflight.needs import STAGE, Need


def value_checks(
    group: str,
    label: str,
    need: Need,
    options: Sequence[str],
    restricted: bool,
    fix: Callable[[str], str],
) -> list[Check]:
    """Stage values one check each; a field's mapped values one check for the field. A value
    missing from an unrestricted picklist is accepted by the service: noted, not a ✗."""
    wanted = tuple(dict.fromkeys((*need.values, *need.counted)))
    if not wanted:
        return []
    have = set(options)
    if need.kind == STAGE:
        return [_one(group, label, value, value in have, need, fix) for value in wanted]
    missing = [value for value in wanted if value not in have]
    name = f"{label} values"
    if not missing:
        return [
            passed(
                group,
                name,
                f"has every value leadbridge writes or reads as a stage: {', '.join(wanted)}",
            )
        ]
    shown = ", ".join(missing)
    if not restricted:
        return [
            passed(
                group,
                name,
                f"not among its values: {shown}; accepted, since its values are not restricted",
            )
        ]
    return [
        failed(
            group,
            name,
            f"missing values leadbridge writes or reads as a stage: {shown}",
            fix(shown),
        )
    ]


def _one(
    group: str, label: str, value: str, found: bool, need: Need, fix: Callable[[str], str]
) -> Check:
    how = "written" if value in need.values else "read as a stage"
    name = f"{label} value {value}"
    if found:
        return passed(group, name, f"exists ({how})")
    return failed(group, name, f"missing ({how})", fix(value))


def fits(kind: str, remote_type: str, table: dict[str, frozenset[str]]) -> bool:
    allowed = table.get(kind)
    return allowed is None or remote_type.lower() in allowed
