"""Issue 13 point 3: a known failure is one plain message with its fix and exit 2, never a
traceback (that is for --debug); `explain ... | head` ends quietly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from leadbridge.cli import main
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import sandbox_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    world = Sandbox(seed=3, limits=False, tls_dir=tmp_path / "tls")
    info = world.start()
    for name, value in sandbox_env(info).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_bundle"])
    try:
        yield world
    finally:
        world.stop()


def leadbridge(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def sync(tmp_path: Path) -> list[str]:
    files = ["--connectors", str(ROOT / "connectors"), "--mappings", str(ROOT / "mappings")]
    return ["sync", "--once", *files, "--database", f"sqlite:///{tmp_path / 'state.db'}"]


def plain(err: str) -> str:
    assert "Traceback" not in err
    assert err.startswith("leadbridge: "), err
    return err


def test_a_wrong_hubspot_token_names_the_variable_to_fix(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-not-the-token")
    code, _, err = leadbridge(*sync(tmp_path))
    assert code == 2
    # The doctor's checks run first: nothing is decided or written past a refused login.
    assert "✗ HubSpot token: refused: 401" in plain(err)
    assert "into HUBSPOT_TOKEN" in err


def test_a_wrong_salesforce_secret_names_the_variables_to_fix(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "not-the-secret")
    code, _, err = leadbridge(*sync(tmp_path))
    assert code == 2
    assert "✗ Salesforce login: refused: 400 invalid_client" in plain(err)
    assert "SALESFORCE_CLIENT_SECRET" in err


def test_a_broken_connection_file_lists_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HUBSPOT_TOKEN", "SALESFORCE_URL", "SALESFORCE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = leadbridge(*sync(tmp_path))
    assert code == 2
    assert "problem" in plain(err) and "HUBSPOT_TOKEN" in err


def test_a_database_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    code, _, err = leadbridge("parked", "--database", url)
    assert code == 2
    assert "the state database is not reachable" in plain(err)


def test_read_only_commands_create_no_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    for command in (["parked"], ["explain", "kim@orbit.io"]):
        code, _, err = leadbridge(*command, "--database", url)
        assert code == 2
        assert "no state database" in plain(err) and "leadbridge db upgrade" in err
    assert not (tmp_path / "missing.db").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from leadbridge.store.engine import MissingDatabase

    with pytest.raises(MissingDatabase):
        leadbridge("--debug", "parked", "--database", f"sqlite:///{tmp_path / 'missing.db'}")


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_reader_that_stops_reading_ends_it_quietly(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'state.db'}"
    assert leadbridge("db", "upgrade", "--url", database)[0] == 0
    err = io.StringIO()
    with redirect_stdout(_ClosedPipe()), redirect_stderr(err):
        code = main(["explain", "kim@orbit.io", "--database", database])
    assert code == 0
    assert err.getvalue() == ""
