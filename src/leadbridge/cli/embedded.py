"""The embedded default: an in-process sandbox and a fresh SQLite file, no credentials.

With the sandbox and demo commands, the only part of the product that imports the
sandbox (the import-linter contracts in pyproject.toml say so).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from leadbridge.cli.options import EMBEDDED_DATABASE, SHIPPED_CONNECTORS
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import Runtime, build, sandbox_env


@contextmanager
def opened(
    args: argparse.Namespace, announce: Callable[[str], None]
) -> Iterator[tuple[Runtime, dict[str, str]]]:
    """The runtime on a new sandbox, and the environment its connection files expand."""
    database = args.database
    if database is None:
        EMBEDDED_DATABASE.unlink(missing_ok=True)
        database = f"sqlite:///{EMBEDDED_DATABASE}"
    with Sandbox(seed=args.seed, limits=False) as sandbox:
        sandbox.populate(args.leads)
        # Reads stop at the last whole second, so the people just made would wait a poll.
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        runtime = build(
            args.mappings, SHIPPED_CONNECTORS, database, env, clock=args.clock or sandbox.clock.now
        )
        announce(f"embedded sandbox with {args.leads} people; state in {database}")
        try:
            yield runtime, env
        finally:
            runtime.close()
