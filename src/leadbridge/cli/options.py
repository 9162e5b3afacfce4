"""What the commands that touch the CRMs share: their options, the environment they read,
and the runtime they open (real connection files, or the embedded sandbox)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from leadbridge.config.defaults import shipped

if TYPE_CHECKING:
    from leadbridge.alerts.slack import Slack
    from leadbridge.preflight import Check
    from leadbridge.sync.pipeline import Pipeline
    from leadbridge.sync.runtime import Runtime

# The embedded default's state: a fresh file per run, since its sandbox lives only as long.
EMBEDDED_DATABASE = Path("state") / "embedded.db"
# The packaged default connection files: the embedded default points them at the sandbox
# through environment variables.
SHIPPED_CONNECTORS = shipped("connectors")
PRELOADED_AGO = timedelta(minutes=10)
# Configuration by environment (the container sets these); a flag wins over its variable.
ENV_CONNECTORS = "LEADBRIDGE_CONNECTORS"
ENV_MAPPINGS = "LEADBRIDGE_MAPPINGS"
ENV_DATABASE = "LEADBRIDGE_DATABASE_URL"
_ENV_OF = {"mappings": ENV_MAPPINGS, "connectors": ENV_CONNECTORS}
ENV_HOST = "LEADBRIDGE_HTTP_HOST"
ENV_PORT = "LEADBRIDGE_HTTP_PORT"
DEFAULT_PORT = 8080

Commands = argparse._SubParsersAction  # the `add_subparsers()` result each command adds to


@dataclass
class Opened:
    """A runtime and, when slack.yaml sits beside the connection files, its Slack; the
    files and environment it was built from, for the doctor's checks (`diagnose`)."""

    runtime: Runtime
    slack: Slack | None
    mappings: Path
    connectors: Path
    env: Mapping[str, str]

    def diagnose(self) -> list[Check]:
        """The doctor's checks of these files against the live systems (reads only)."""
        from leadbridge.preflight import diagnose

        return diagnose(self.mappings, self.connectors, self.env)

    @property
    def pipeline(self) -> Pipeline:
        return self.runtime.pipeline


def directory(
    given: Path | None,
    name: Literal["connectors", "mappings"],
    env: Mapping[str, str] | None = None,
) -> Path:
    """The directory every command reads, found the same way everywhere: the flag, else
    $LEADBRIDGE_MAPPINGS / $LEADBRIDGE_CONNECTORS, else ./mappings or ./connectors where
    it exists, else the packaged one. So `check` and `doctor` look at the files the
    daemon runs on (the container sets the variables)."""
    if given is not None:
        return given
    from_env = (os.environ if env is None else env).get(_ENV_OF[name])
    if from_env:
        return Path(from_env)
    return Path(name) if Path(name).is_dir() else shipped(name)


def mappings_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--mappings",
        type=Path,
        metavar="DIR",
        help=f"the mappings directory (default ${ENV_MAPPINGS}, else ./mappings if it "
        "exists, else the packaged ones)",
    )


def connectors_option(command: argparse.ArgumentParser) -> None:
    """For the commands that check the connection files (doctor, setup): the same search as
    `directory`; the packaged files read their ${VARS} from the environment."""
    command.add_argument(
        "--connectors",
        type=Path,
        metavar="DIR",
        help=f"directory of hubspot.yaml, salesforce.yaml and slack.yaml (default "
        f"${ENV_CONNECTORS}, else ./connectors if it exists, else the packaged ones, which "
        "read the environment)",
    )


def database_option(
    command: argparse.ArgumentParser, *, embedded: bool = False, **extra: Any
) -> None:
    """`--database`; `extra` goes to argparse (a subcommand's `default=SUPPRESS` keeps the
    value given before the subcommand's name)."""
    default = "sqlite:///state/leadbridge.db"
    if embedded:
        default = "with --connectors; on the embedded sandbox a fresh state/embedded.db"
    command.add_argument(
        "--database",
        metavar="URL",
        help=f"SQLAlchemy URL of the state database (default ${ENV_DATABASE}, else {default})",
        **extra,
    )


def add_runtime_options(command: argparse.ArgumentParser) -> None:
    mappings_option(command)
    command.add_argument(
        "--connectors",
        type=Path,
        metavar="DIR",
        help=f"directory of hubspot.yaml, salesforce.yaml and slack.yaml (default "
        f"${ENV_CONNECTORS}); without either, an in-process sandbox (no credentials needed) "
        "with a fresh state file. ./connectors is never taken without being named: running "
        "against real systems is asked for",
    )
    database_option(command, embedded=True)
    command.add_argument(
        "--leads", type=count, default=50, help="people the embedded sandbox starts with"
    )
    command.add_argument("--seed", type=int, default=0, help="the embedded sandbox's seed")


def configured(args: argparse.Namespace) -> None:
    """Fill what the flags left out from the environment, then from the defaults (for the
    commands that run the sync: without connection files, the embedded sandbox)."""
    env = os.environ
    if args.connectors is None and env.get(ENV_CONNECTORS):
        args.connectors = Path(env[ENV_CONNECTORS])
    # The embedded default keeps its fresh file: its sandbox is new each run, and state
    # left from another world would be wrong there.
    if args.database is None and env.get(ENV_DATABASE) and args.connectors is not None:
        args.database = env[ENV_DATABASE]
    args.mappings = directory(args.mappings, "mappings", env)


@contextmanager
def opened(
    args: argparse.Namespace,
    announce: Callable[[str], None] = print,
    *,
    starting: Callable[[Callable[[], Runtime]], Runtime] | None = None,
    read_only: bool = False,
) -> Iterator[Opened]:
    """The runtime the options name; without connection files, the embedded sandbox's.
    `starting` wraps the build (the daemon's start-up waits out transient failures)."""
    from leadbridge.sync.runtime import build, utc_now

    configured(args)
    clock = args.clock or utc_now
    if args.connectors is not None:

        def make() -> Runtime:
            return build(
                args.mappings,
                args.connectors,
                args.database,
                os.environ,
                clock=clock,
                read_only=read_only,
            )

        runtime = starting(make) if starting is not None else make()
        try:
            yield Opened(
                runtime,
                slack_for(args.connectors, os.environ),
                args.mappings,
                args.connectors,
                os.environ,
            )
        finally:
            runtime.close()
        return
    from leadbridge.cli import embedded

    with embedded.opened(args, announce) as (runtime, env):
        yield Opened(
            runtime, slack_for(SHIPPED_CONNECTORS, env), args.mappings, SHIPPED_CONNECTORS, env
        )


def slack_for(connectors: Path, env: Mapping[str, str]) -> Slack | None:
    """Alerts are optional: no slack.yaml, or no SLACK_WEBHOOK_URL, and none are sent."""
    from leadbridge.alerts.slack import load_slack

    slack_file = connectors / "slack.yaml"
    return load_slack(slack_file, env) if slack_file.is_file() else None


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above zero")
    return value


def count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value
