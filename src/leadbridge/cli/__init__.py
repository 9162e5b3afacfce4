"""The `leadbridge` command: one module per subcommand, each with `add_parser` and `run`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from leadbridge.cli import (
    check,
    db,
    demo,
    doctor,
    explain,
    parked,
    pause,
    plan,
    report,
    run,
    sandbox,
    schema,
    score,
    setup,
    status,
    sync,
)

__all__ = ["main"]

# In the order `--help` lists them: try it, check the config, then run it, then look.
_COMMANDS = (
    sandbox,
    check,
    schema,
    doctor,
    setup,
    db,
    sync,
    plan,
    run,
    status,
    pause,
    explain,
    score,
    parked,
    demo,
    report,
)


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], datetime] | None = None) -> int:
    """`clock` lets an in-process caller (tests, the demo) run the sync on simulated time."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.clock = clock
    _plain_logs()
    try:
        result: int = args.run(args)
    except BrokenPipeError:
        # `leadbridge explain ... | head`: the reader has what it wanted; end quietly.
        _quiet_stdout()
        return 0
    except Exception as exc:
        from leadbridge.cli.failures import known

        found = None if args.debug else known(exc)
        if found is None:
            raise
        print(f"leadbridge: {found}", file=sys.stderr)
        return 2
    return result


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's buffer): nothing will flush into a closed pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)


def _plain_logs() -> None:
    """One-shot commands print their results on stdout; their logs (warnings and worse)
    go to stderr, never between the lines a person or a script reads. `run` as a daemon
    reconfigures for JSON lines (telemetry.logs.configure)."""
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadbridge",
        description="Keeps a B2B lead's funnel stage true in HubSpot and Salesforce.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a failure (for a bug report)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(commands)
    return parser
