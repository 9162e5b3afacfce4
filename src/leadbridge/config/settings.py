"""Connection files (connectors/*.yaml): secrets only as ${ENV_VAR}, every error at file:line.

A connection file is data an operator edits and commits, so a secret must
never be written into it: string values may name environment variables as
`${NAME}` (or `${NAME:-default}` for non-secrets such as a URL), expanded at
load time. When NAME is unset, `NAME_FILE` may name a file holding the value
instead (how Docker and Kubernetes mount secrets): its text, trailing newlines
stripped. A missing variable is reported where it is referenced, with the
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
        try:
            found = _variable(name, env)
        except _Unusable as exc:
            problems.append(document.problem(loc, str(exc)))
            return ""
        if found:
            return found
        if default is not None:
            return default
        problems.append(
            document.problem(
                loc, f"environment variable {name} is not set, expected it to hold the value"
            )
        )
        return ""

    return _REFERENCE.sub(substitute, value)


class _Unusable(Exception):
    """A variable set in a way that cannot be used; the message never quotes a value."""


def _variable(name: str, env: Mapping[str, str]) -> str:
    """NAME's value, else the text of the file NAME_FILE names; "" when neither is set.

    Secrets mounted as files (Docker's and Kubernetes' way) stay out of the process
    environment, where anything that dumps it would show them. A file's trailing
    newlines are dropped: `echo token > file` and editors add one, no secret ends in one.
    """
    direct, path = env.get(name, ""), env.get(f"{name}_FILE", "")
    if direct and path:
        raise _Unusable(
            f"both {name} and {name}_FILE are set, expected only one: "
            f"the value in {name}, or the path of a file holding it in {name}_FILE"
        )
    if direct or not path:
        return direct
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _Unusable(
            f"{name}_FILE names {path}, which cannot be read ({exc.strerror or exc}), "
            "expected a readable file holding the value"
        ) from None
    except UnicodeDecodeError:
        raise _Unusable(
            f"{name}_FILE names {path}, which is not UTF-8 text, "
            "expected a text file holding the value"
        ) from None
    value = text.rstrip("\r\n")
    if not value:
        raise _Unusable(f"{name}_FILE names {path}, which is empty, expected it to hold the value")
    return value
