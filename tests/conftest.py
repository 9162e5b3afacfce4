"""Fixtures every test may use: the shipped funnel, the sandbox's CA, the two databases."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from leadbridge.config import Funnel, load_funnel
from leadbridge.sandbox.tls import TLSFiles, make_test_ca

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def funnel() -> Funnel:
    """The shipped funnel (mappings/), loaded once."""
    return load_funnel(MAPPINGS)


def shipped(name: str) -> str:
    return (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8")


Edit = Callable[..., Path]


@pytest.fixture
def edited(tmp_path: Path) -> Edit:
    """A copy of the shipped mappings with each (file, old, new) replacement applied."""

    def edit(*changes: tuple[str, str, str]) -> Path:
        texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
        for file, old, new in changes:
            assert texts[file].count(old) == 1, f"{old!r} must occur once in {file}.yaml"
            texts[file] = texts[file].replace(old, new)
        for name, text in texts.items():
            (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
        return tmp_path

    return edit


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """One test CA for the session; its server certificate covers 127.0.0.1."""
    return make_test_ca(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(autouse=True)
def _trust_sandbox_ca(tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own
    # `verify` (psf/requests#3829), and this machine sets both; clients built on
    # requests (simple-salesforce) would then reject the sandbox's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca_bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tls_files.ca_bundle))


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    # leadbridge.cli.main points structlog at the sys.stderr of the moment: under capsys a
    # stream closed once that test ends, which any later test that logs would write to.
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL, or a skip; under CI (LEADBRIDGE_REQUIRE_POSTGRES=1) a failure."""
    url = os.environ.get("LEADBRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    required = os.environ.get("LEADBRIDGE_REQUIRE_POSTGRES") == "1"
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL is required here but {url} is unreachable: {exc}")
        pytest.skip(f"no PostgreSQL at {url}; set LEADBRIDGE_TEST_POSTGRES_URL")
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs twice: on the embedded SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
