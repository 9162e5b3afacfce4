"""YAML documents that remember where every value came from.

A document is composed once into PyYAML's node tree (which carries line and
column marks) and constructed into plain Python data from the same nodes, so
any later complaint about a value, from pydantic or from a cross-file check,
can be pointed back at `file:line:column` by walking the tree along its path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from leadbridge.config.problems import Problem
from leadbridge.config.yaml_errors import decode_problem, yaml_problem

_Loc = Sequence[str | int]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans.

    YAML 1.1 reads yes/no/on/off as booleans, which silently turns a picklist
    value such as `No` into False; RevOps writes picklist values, so only
    true/false are booleans here.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Document:
    path: str  # as the user named it, so messages match what they typed
    node: yaml.Node | None
    data: Any

    def locate(self, loc: _Loc) -> tuple[int, int, str]:
        """Line, column (1-based) and a readable field path for a pydantic-style loc.

        Parts that name no key or index in the tree (pydantic's union tags)
        are skipped; a final unmatched part is a key that is missing, so it is
        named but the mark stays on its parent. A rule or stage is named by its
        name (`rule "score_and_fit" when.gte`), not by a position counted from zero.
        """
        node = self.node
        mark = node.start_mark if node is not None else None
        head = ""  # `rule "x"` once the loc has entered a named item
        shown: list[str] = []
        for position, part in enumerate(loc):
            child, key_node = _child(node, part)
            if child is None:
                if position == len(loc) - 1:
                    shown.append(f"[{part}]" if isinstance(part, int) else f".{part}")
                continue
            if position == 1 and isinstance(part, int) and loc[0] in _NAMED_ITEMS:
                head, shown = _item_name(str(loc[0]), part, child), []
            else:
                shown.append(f"[{part}]" if isinstance(part, int) else f".{part}")
            node = child
            mark = (key_node or child).start_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        path = "".join(shown).lstrip(".")
        return line, column, " ".join(filter(None, (head, path))) or "(document)"

    def problem(self, loc: _Loc, message: str) -> Problem:
        line, column, field = self.locate(loc)
        return Problem(self.path, line, column, field, message)


# Top-level lists whose items carry a `name`: shown by it, as RevOps calls them.
_NAMED_ITEMS = {"rules": "rule", "stages": "stage"}


def _item_name(key: str, index: int, item: yaml.Node) -> str:
    """`rule "score_and_fit"`; `rule #23` (counted from one) when it has no usable name."""
    kind = _NAMED_ITEMS[key]
    name, _ = _child(item, "name")
    if isinstance(name, yaml.ScalarNode) and name.value.strip():
        return f'{kind} "{name.value}"'
    return f"{kind} #{index + 1}"


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value, key
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part], None
    return None, None


def load_document(path: Path) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML file; a file that cannot be read or parsed yields only problems."""
    shown = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(shown, 1, 1, "(file)", "file not found, expected it to exist")]
    except OSError as exc:
        return None, [Problem(shown, 1, 1, "(file)", f"cannot be read ({exc.strerror or exc})")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [decode_problem(shown, data, exc)]
    return parse_document(text.removeprefix("\ufeff"), shown)


def parse_document(text: str, shown: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text; `shown` is the name problems will carry."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        return None, [yaml_problem(shown, exc)]
    except yaml.YAMLError as exc:
        return None, [Problem(shown, 1, 1, "(yaml)", f"{exc}, expected valid YAML")]
    finally:
        loader.dispose()
    document = Document(shown, node, data)
    return document, _duplicate_keys(document)


def _duplicate_keys(document: Document) -> list[Problem]:
    # PyYAML keeps the last of two equal keys without a word; a RevOps edit
    # that repeats a key would silently drop the first, so it is an error.
    problems: list[Problem] = []
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = (
        [(document.node, ())] if document.node is not None else []
    )
    while pending:
        node, where = pending.pop()
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if name in first_line:
                    problems.append(
                        Problem(
                            document.path,
                            key.start_mark.line + 1,
                            key.start_mark.column + 1,
                            document.locate((*where, name))[2],
                            f"duplicate key {name!r} (first at line {first_line[name]}), "
                            "expected each key once",
                        )
                    )
                first_line.setdefault(name, key.start_mark.line + 1)
                pending.append((value, (*where, name)))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*where, index)) for index, item in enumerate(node.value))
    return sorted(problems)
