"""Load the three mapping files into one Funnel, or fail with every problem found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel

from leadbridge.config import dead_rules, flapping, schema
from leadbridge.config.build import build
from leadbridge.config.funnel import Funnel
from leadbridge.config.problems import ConfigError, Problem
from leadbridge.config.scoring_schema import ScoringFile
from leadbridge.config.source import Document, load_document, parse_document
from leadbridge.config.validation import validate

FILES: dict[str, type[BaseModel]] = {
    "stages": schema.StagesFile,
    "fields": schema.FieldsFile,
    "handoff": schema.HandoffFile,
}
# Optional: without it leadbridge computes no score, and rules test only mapped fields.
OPTIONAL: dict[str, type[BaseModel]] = {"scoring": ScoringFile}

# What each file must at least hold, for the message about an empty one.
_CONTENTS = {
    "stages": "stages: the funnel's stages in order, each with a name and an owner",
    "fields": "picklists: (the values each system accepts) and fields: (each canonical field "
    "with its HubSpot property and Salesforce field)",
    "handoff": "rules: the handoff rules, each with a name, when (a condition) and then "
    "(move_to a stage)",
    "scoring": "grades: (the least fit points per grade), fit: and engagement: criteria",
}


def load_funnel(directory: Path | str) -> Funnel:
    """Read stages.yaml, fields.yaml and handoff.yaml (and scoring.yaml, if there) from
    `directory`.

    Raises ConfigError listing every problem: all files are parsed and
    validated before any is given up on, and the checks across files and
    the flapping analysis run as far as what is valid allows. What is worth
    saying but harmless (a rule that can never fire) is in `Funnel.warnings`.
    """
    directory = Path(directory)
    names = [*FILES, *(n for n in OPTIONAL if (directory / f"{n}.yaml").exists())]
    return _funnel({name: load_document(directory / f"{name}.yaml") for name in names})


def funnel_from_texts(texts: Mapping[str, str], directory: str = "<memory>") -> Funnel:
    """The same from YAML text keyed "stages", "fields", "handoff", "scoring" (optional)."""
    names = [*FILES, *(name for name in OPTIONAL if name in texts)]
    return _funnel(
        {name: parse_document(texts[name], f"{directory}/{name}.yaml") for name in names}
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
        if document.data is None:
            # An empty file (or only comments) is one problem, not a type error about None.
            problems.append(
                Problem(
                    document.path,
                    1,
                    1,
                    "(file)",
                    f"the file is empty (or holds only comments), expected {_CONTENTS[name]}; "
                    "the shipped mappings show each",
                )
            )
            continue
        validated, found = validate(document, FILES.get(name) or OPTIONAL[name])
        problems += found
        if validated is not None:
            models[name] = validated
    if len(models) < len(parsed):
        raise ConfigError(problems)
    stages, fields, handoff = models["stages"], models["fields"], models["handoff"]
    assert isinstance(stages, schema.StagesFile)
    assert isinstance(fields, schema.FieldsFile)
    assert isinstance(handoff, schema.HandoffFile)
    scoring = models.get("scoring")
    assert scoring is None or isinstance(scoring, ScoringFile)
    funnel, found = build(documents, stages, fields, handoff, scoring)
    problems += found
    if not found:
        handoff_file = documents["handoff"]
        problems += [handoff_file.problem(rule.loc, why) for rule, why in flapping.check(funnel)]
    if problems:
        raise ConfigError(problems)
    return replace(
        funnel, warnings=tuple(sorted(dead_rules.warnings(funnel, documents["handoff"])))
    )
