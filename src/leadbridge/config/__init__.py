"""The mappings RevOps edits (stages, fields, handoff rules), loaded and checked.

`load_funnel(directory)` returns a `Funnel` or raises `ConfigError` whose
`problems` name file, line, column and field for everything wrong at once.
"""

from leadbridge.config.funnel import FieldMap, Funnel, Rule, Step
from leadbridge.config.load import funnel_from_texts, load_funnel
from leadbridge.config.problems import ConfigError, Problem

__all__ = [
    "ConfigError",
    "FieldMap",
    "Funnel",
    "Problem",
    "Rule",
    "Step",
    "funnel_from_texts",
    "load_funnel",
]
