"""`leadbridge schema`: the JSON Schema of each YAML file, for editors that validate and
complete YAML while it is typed (the YAML language server: VS Code's YAML extension,
Neovim, JetBrains).

The shipped files name theirs on their first line, relative to themselves:

    # yaml-language-server: $schema=schemas/stages.schema.json

and the schemas sit in a `schemas/` directory beside them (mappings/schemas/,
connectors/schemas/), so they travel wherever the directory is copied: the wheel, the
container's /app, a RevOps repository. tests/config/test_jsonschema.py fails when a
committed schema differs from what this command prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Literal, TextIO

from leadbridge.cli.connection_schemas import HUBSPOT, SALESFORCE, SLACK
from leadbridge.cli.options import Commands
from leadbridge.config.jsonschema import FileSchema, generate
from leadbridge.config.mapping_schemas import FIELDS, HANDOFF, SCORING, STAGES

_OK, _USAGE = 0, 2

SCHEMA_DIR = "schemas"  # beside the YAML files, as their modelines say
Directory = Literal["mappings", "connectors"]
FILES: dict[str, tuple[Directory, FileSchema]] = {
    "stages": ("mappings", STAGES),
    "fields": ("mappings", FIELDS),
    "handoff": ("mappings", HANDOFF),
    "scoring": ("mappings", SCORING),
    "hubspot": ("connectors", HUBSPOT),
    "salesforce": ("connectors", SALESFORCE),
    "slack": ("connectors", SLACK),
}
# A directory's name stands for its files: `leadbridge schema mappings --out mappings/schemas`.
GROUPS: dict[str, tuple[str, ...]] = {
    directory: tuple(name for name, (found, _) in FILES.items() if found == directory)
    for directory in ("mappings", "connectors")
}


def schema_file(name: str) -> str:
    """The schema's file name, as the YAML file's modeline names it under schemas/."""
    return f"{name}.schema.json"


def modeline(name: str) -> str:
    """The first line of `name`.yaml: where the YAML language server finds its schema."""
    return f"# yaml-language-server: $schema={SCHEMA_DIR}/{schema_file(name)}"


def render(name: str) -> str:
    """The schema as the committed file holds it: stable key order, two-space indent."""
    return json.dumps(generate(FILES[name][1]), indent=2, ensure_ascii=False) + "\n"


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of a YAML file (for editors), or write them all (--out)",
    )
    schema.add_argument(
        "names",
        nargs="*",
        metavar="FILE",
        help=f"one of {', '.join(FILES)}; with --out also several, or mappings or connectors "
        "for that directory's files (default: all)",
    )
    schema.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write each as DIR/NAME.schema.json instead of printing it",
    )
    schema.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_schema(args.names, args.out, sys.stdout, sys.stderr)


def run_schema(names: list[str], out_dir: Path | None, out: TextIO, err: TextIO) -> int:
    unknown = [name for name in names if name not in FILES and name not in GROUPS]
    if unknown:
        err.write(
            f"leadbridge schema: no file named {', '.join(unknown)}; expected one of "
            f"{', '.join(FILES)} (or mappings, connectors)\n"
        )
        return _USAGE
    chosen = list(dict.fromkeys(n for name in names for n in GROUPS.get(name, (name,))))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in chosen or FILES:
            target = out_dir / schema_file(name)
            target.write_text(render(name), encoding="utf-8")
            out.write(f"{target}\n")
        return _OK
    if not names:
        out.write(_index())
        return _OK
    if len(chosen) > 1:
        err.write("leadbridge schema: name one file to print, or write several with --out DIR\n")
        return _USAGE
    out.write(render(chosen[0]))
    return _OK


def _index() -> str:
    width = max(len(name) for name in FILES)
    lines = [
        "The JSON Schema of each YAML file, for editors with the YAML language server:",
        "",
    ]
    for name, (directory, spec) in FILES.items():
        where = f"{directory}/{spec.title}"
        lines.append(
            f"  {name:<{width}}  {where:<26}  {directory}/{SCHEMA_DIR}/{schema_file(name)}"
        )
    lines += [
        "",
        "`leadbridge schema FILE` prints one; `leadbridge schema --out DIR` writes them all.",
        "A YAML file names its schema on its first line, relative to itself:",
        f"  {modeline('stages')}",
    ]
    return "\n".join(lines) + "\n"
