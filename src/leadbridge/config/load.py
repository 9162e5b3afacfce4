"""Load the three mapping files into one Funnel, or fail with every problem found."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from leadbridge.config import flapping, schema
from leadbridge.config.build import build
from leadbridge.config.funnel import Funnel
from leadbridge.config.problems import ConfigError, Problem
from leadbridge.config.source import Document, load_document, parse_document
from leadbridge.config.validation import validate

FILES: dict[str, type[BaseModel]] = {
    "stages": schema.StagesFile,
    "fields": schema.FieldsFile,
    "handoff": schema.HandoffFile,
}


def load_funnel(directory: Path | str) -> Funnel:
    """Read stages.yaml, fields.yaml and handoff.yaml from `directory`.

    Raises ConfigError listing every problem: all files are parsed and
    validated before any is given up on, and the checks across files and
    the flapping analysis run as far as what is valid allows.
    """
    directory = Path(directory)
    return _funnel({name: load_document(directory / f"{name}.yaml") for name in FILES})


def funnel_from_texts(texts: Mapping[str, str], directory: str = "<memory>") -> Funnel:
    """The same from YAML text keyed "stages", "fields", "handoff" (tests, tools)."""
    return _funnel(
        {name: parse_document(texts[name], f"{directory}/{name}.yaml") for name in FILES}
    )


def _funnel(parsed: Mapping[str, tuple[Document | None, list[Problem]]]) -> Funnel:
    problems: list[Problem] = []
    documents: dict[str, Document] = {}
    models: dict[str, BaseModel] = {}
    for name, (document, found) in parsed.items():
        problems += found
        if document is None:
            continue
        documents[name] = document
        validated, found = validate(document, FILES[name])
        problems += found
        if validated is not None:
            models[name] = validated
    if len(models) < len(FILES):
        raise ConfigError(problems)
    stages, fields, handoff = models["stages"], models["fields"], models["handoff"]
    assert isinstance(stages, schema.StagesFile)
    assert isinstance(fields, schema.FieldsFile)
    assert isinstance(handoff, schema.HandoffFile)
    funnel, found = build(documents, stages, fields, handoff)
    problems += found
    if not found:
        handoff_file = documents["handoff"]
        problems += [handoff_file.problem(rule.loc, why) for rule, why in flapping.check(funnel)]
    if problems:
        raise ConfigError(problems)
    return funnel
