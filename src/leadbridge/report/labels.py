"""Readable words for the codes the report counts: stages, sources, hand-back reasons.

A configured label wins (a stage's `label` in stages.yaml, a value's label in
fields.yaml); without one, the code is spelled out: `direct_traffic` ->
"Direct traffic", `mql` -> "MQL". Labels are looked up with `getattr`, so the
report reads the same mappings whether or not they carry labels yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leadbridge.config import Funnel
from leadbridge.model import readable


def humanize(code: str) -> str:
    """`direct_traffic` -> "Direct traffic", `mql` -> "MQL" (model.readable)."""
    return readable(code)


def stage_labels(funnel: Funnel) -> dict[str, str]:
    """Every stage's name -> its label (stages.yaml `label`, else the name spelled out)."""
    return {
        stage.name: str(getattr(stage, "label", None) or "") or humanize(stage.name)
        for stage in funnel.stages
    }


def value_labels(
    funnel: Funnel, codes: Iterable[str], prefer: Iterable[str] = ()
) -> dict[str, str]:
    """Each code -> its label: configured on a field's `values:` (the fields in `prefer`
    first, so `source` decides for sources), else the code spelled out."""
    preferred = [name for name in prefer if name in funnel.fields]
    order = [*preferred, *(name for name in funnel.fields if name not in preferred)]
    found: dict[str, str] = {}
    for code in codes:
        found[code] = next(
            (label for name in order if (label := _configured(funnel, name, code))),
            humanize(code),
        )
    return found


def _configured(funnel: Funnel, field_name: str, code: str) -> str | None:
    labels = getattr(funnel.fields[field_name], "labels", None)
    if not isinstance(labels, Mapping):
        return None
    label = labels.get(code)
    return str(label) if label else None
