"""PyYAML's parse errors in the words of someone editing a config file, at the offending spot.

PyYAML names tokens ("<block mapping start>", "found character '\\t' that cannot start
any token"), which tells a RevOps admin nothing about what to type. Each kind of mistake
people make by hand (a tab, a bracket or quote left open, a line indented off its
neighbours, a second colon on a line) is recognised from the parser's problem text and
explained, at the line and column of the offending character (1-based). Anything else
keeps the parser's own words.
"""

from __future__ import annotations

import yaml

from leadbridge.config.problems import Problem

_CLOSERS = {"flow sequence": ("[list]", "]"), "flow mapping": ("{mapping}", "}")}


def yaml_problem(shown: str, exc: yaml.MarkedYAMLError) -> Problem:
    """One problem for a parse error: where to look, what is wrong, what to write."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    opened = exc.context_mark
    at_opening = False
    if "'\\t'" in problem or "\t" in problem:
        message = (
            "a tab character; YAML allows only spaces for indentation and after `key:`, "
            "expected spaces instead of the tab"
        )
    elif (kind := _flow_kind(context)) is not None:
        name, closer = _CLOSERS[kind]
        line = opened.line + 1 if opened else 0
        message = (
            f"the {name} opened at line {line} is not closed, expected ',' between its "
            f"items and '{closer}' at its end (quote an item that contains , [ ] {{ }} or :)"
        )
        at_opening = "<stream end>" in problem
    elif "quoted scalar" in context:
        line = opened.line + 1 if opened else 0
        message = f"the quote opened at line {line} is never closed, expected a closing quote"
        at_opening = True
    elif "expected <block end>" in problem:
        message = (
            "this line is indented differently from the lines before it, expected it "
            "indented exactly like the other keys or list items at its level"
        )
    elif "mapping values are not allowed here" in problem:
        message = (
            "a ':' where a value was expected: two `key:` on one line, or a line indented "
            "under a plain value; expected one `key: value` per line (quote a value that "
            "contains ': ')"
        )
    elif "could not find expected ':'" in problem:
        message = (
            "a line inside a mapping that is not `key: value`, expected a colon after the "
            "key, or the line indented like its neighbours"
        )
    else:
        what = " ".join(part for part in (context, problem) if part)
        message = f"{what}, expected valid YAML"
    if at_opening and opened is not None:
        mark = opened
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(shown, line, column, "(yaml)", message)


def _flow_kind(context: str) -> str | None:
    return next((kind for kind in _CLOSERS if kind in context), None)


def decode_problem(shown: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    """A byte that is not UTF-8, at its own line and column, with what it probably was."""
    start = exc.start
    line = data.count(b"\n", 0, start) + 1
    # Everything before the first bad byte decoded, so the column counts characters.
    before = data[data.rfind(b"\n", 0, start) + 1 : start].decode("utf-8")
    column = len(before) + 1
    byte = data[start : start + 1]
    guess = byte.decode("cp1252", errors="replace")
    meant = (
        f" ({guess!r} in Windows-1252 or Latin-1)"
        if guess.isprintable() and guess != "\ufffd"
        else ""
    )
    return Problem(
        shown,
        line,
        column,
        "(file)",
        f"byte 0x{byte.hex()}{meant} is not UTF-8, expected the file saved as UTF-8 "
        "(most editors offer it under Save As or Encoding)",
    )
