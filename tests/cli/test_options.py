"""Every command that reads the mappings or the connection files finds them the same way:
the flag, else $LEADBRIDGE_MAPPINGS / $LEADBRIDGE_CONNECTORS, else ./mappings and
./connectors, else the packaged ones. So what `doctor` or `report` reads is what the daemon
runs on (the container sets the variables).

Each command is pointed at a copy of the files with a mistake of its own: the problem it
reports names the copy it read.
"""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from leadbridge.cli import main
from leadbridge.cli.options import ENV_CONNECTORS, ENV_DATABASE, ENV_MAPPINGS, directory
from leadbridge.config.defaults import shipped

# The commands that read the mappings, as a person would start them (small, and quick to fail).
MAPPINGS_READERS = {
    "run": ["run", "--max-cycles", "1", "--leads", "2"],
    "sync": ["sync", "--once", "--leads", "2"],
    "plan": ["plan", "--leads", "2"],
    "report": ["report"],
    "demo": ["demo", "--preload", "1", "--leads", "1", "--days", "1"],
    "doctor": ["doctor"],
    "setup": ["setup"],
}
# The commands that read the connection files (demo runs on the sandbox's own, on purpose).
CONNECTORS_READERS = {
    name: MAPPINGS_READERS[name] for name in ("run", "sync", "plan", "doctor", "setup")
}
# The packaged connection files expand these; unset, no command reaches a network.
_CREDENTIALS = ("HUBSPOT_TOKEN", "HUBSPOT_URL", "SALESFORCE_URL", "SALESFORCE_CLIENT_ID")


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A working directory without ./mappings or ./connectors, and no variables set."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in (ENV_MAPPINGS, ENV_CONNECTORS, ENV_DATABASE, *_CREDENTIALS):
        monkeypatch.delenv(name, raising=False)


def _broken(tmp_path: Path, kind: str, name: str) -> Path:
    """A copy of the packaged `kind` directory whose main file has an unknown key."""
    copy = tmp_path / name
    shutil.copytree(shipped(kind), copy)  # type: ignore[arg-type]
    target = copy / ("stages.yaml" if kind == "mappings" else "hubspot.yaml")
    target.write_text(target.read_text(encoding="utf-8") + f"\n{name}_key: 1\n", "utf-8")
    return copy


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("command", sorted(MAPPINGS_READERS))
def test_the_mappings_variable_is_read_and_the_flag_wins(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = MAPPINGS_READERS[command]
    from_env = _broken(tmp_path, "mappings", "from_env")
    monkeypatch.setenv(ENV_MAPPINGS, str(from_env))
    code, said = _run(argv)
    assert code == 2, said
    assert "from_env_key" in said and str(from_env) in said, said

    from_flag = _broken(tmp_path, "mappings", "from_flag")
    code, said = _run([*argv, "--mappings", str(from_flag)])
    assert code == 2, said
    assert "from_flag_key" in said and "from_env" not in said, said


@pytest.mark.parametrize("command", sorted(CONNECTORS_READERS))
def test_the_connectors_variable_is_read_and_the_flag_wins(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = CONNECTORS_READERS[command]
    from_env = _broken(tmp_path, "connectors", "from_env")
    monkeypatch.setenv(ENV_CONNECTORS, str(from_env))
    code, said = _run(argv)
    assert code == 2, said
    assert "from_env_key" in said and str(from_env) in said, said

    from_flag = _broken(tmp_path, "connectors", "from_flag")
    code, said = _run([*argv, "--connectors", str(from_flag)])
    assert code == 2, said
    assert "from_flag_key" in said and "from_env" not in said, said


def test_the_doctor_checks_the_rules_the_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only read: the mappings the variable names are the ones checked (one rule fewer)."""
    copy = tmp_path / "fewer"
    shutil.copytree(shipped("mappings"), copy)
    handoff = copy / "handoff.yaml"
    text = handoff.read_text(encoding="utf-8")
    rule = (
        "  - name: not_a_buyer\n"
        "    from: [subscriber, lead, mql, disqualified]\n"
        "    when: {in: {title: not_a_buyer}}\n"
        "    then: {move_to: disqualified, reason: no_fit}\n"
    )
    assert rule in text
    handoff.write_text(text.replace(rule, ""), encoding="utf-8")
    _, shipped_said = _run(["doctor", "--verbose"])
    monkeypatch.setenv(ENV_MAPPINGS, str(copy))
    _, said = _run(["doctor", "--verbose"])
    counted = [line for line in said.splitlines() if "is valid:" in line]
    before = [line for line in shipped_said.splitlines() if "is valid:" in line]
    assert len(counted) == 1 and str(copy) in counted[0], said
    assert len(before) == 1 and str(copy) not in before[0]
    rules = int(before[0].split(" fields, ")[1].split(" rules")[0])
    assert counted[0].endswith(f"{rules - 1} rules"), counted


def test_a_directory_is_the_flag_then_the_variable_then_the_local_one_then_the_packaged(
    tmp_path: Path,
) -> None:
    flag, named = tmp_path / "flag", tmp_path / "named"
    env = {ENV_MAPPINGS: str(named), ENV_CONNECTORS: str(named)}
    assert directory(flag, "mappings", env) == flag
    assert directory(None, "mappings", env) == named
    assert directory(None, "connectors", env) == named
    assert directory(None, "mappings", {}) == shipped("mappings")
    Path("mappings").mkdir()
    Path("connectors").mkdir()
    assert directory(None, "mappings", {}) == Path("mappings")
    assert directory(None, "connectors", {ENV_CONNECTORS: ""}) == Path("connectors")


@pytest.mark.parametrize("command", ["run", "sync", "plan", "report", "explain", "parked"])
def test_each_database_option_names_its_variable(command: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"${ENV_DATABASE}" in " ".join(out.getvalue().split())


@pytest.mark.parametrize("command", sorted(MAPPINGS_READERS))
def test_each_help_names_the_variables(command: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(out.getvalue().split())
    assert f"${ENV_MAPPINGS}" in text
    if command in CONNECTORS_READERS:
        assert f"${ENV_CONNECTORS}" in text
