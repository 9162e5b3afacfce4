"""Connection files (connectors/*.yaml): secrets only as ${ENV_VAR}, every error at file:line.

A connection file is data an operator edits and commits, so a secret must
never be written into it: string values may name environment variables as
`${NAME}` (or `${NAME:-default}` for non-secrets such as a URL), expanded at
load time. A missing variable is reported where it is referenced, with the
same file:line:column form as the mappings, and all problems are reported
at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from leadbridge.config.problems import ConfigError, Problem
from leadbridge.config.source import Document, load_document
from leadbridge.config.validation import validate

_M = TypeVar("_M", bound=BaseModel)

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


_SECRET_KEYS = frozenset({"token", "app_secret", "client_secret", "password", "security_token"})


def load_settings(path: Path, model: type[_M], env: Mapping[str, str]) -> _M:
    """The file validated as `model`, variables expanded from `env`; or ConfigError.

    A key named like a secret (_SECRET_KEYS) must hold a ${VAR} reference and
    nothing else: a pasted token in a committed file is refused.
    """
    document, problems = load_document(path)
    if document is None:
        raise ConfigError(problems)
    data = _expand(document, document.data, (), env, problems)
    expanded = Document(document.path, document.node, data)
    settings, invalid = validate(expanded, model)
    problems.extend(invalid)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def _expand(
    document: Document,
    value: Any,
    loc: tuple[str | int, ...],
    env: Mapping[str, str],
    problems: list[Problem],
) -> Any:
    if isinstance(value, dict):
        return {
            key: _expand(document, item, (*loc, key), env, problems) for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _expand(document, item, (*loc, index), env, problems)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    if loc and loc[-1] in _SECRET_KEYS and _REFERENCE.fullmatch(value.strip()) is None:
        problems.append(
            document.problem(loc, "a secret written into the file, expected ${ENV_VAR}")
        )
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        problems.append(
            document.problem(
                loc, f"environment variable {name} is not set, expected it to hold the value"
            )
        )
        return ""

    return _REFERENCE.sub(substitute, value)
