"""${NAME} in a connection file reads NAME, else the file NAME_FILE names (mounted secrets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leadbridge.config.problems import ConfigError
from leadbridge.connectors.hubspot.settings import load_hubspot_settings
from leadbridge.connectors.salesforce.settings import load_salesforce_settings

SALESFORCE = """\
login_url: ${SALESFORCE_URL}
auth:
  grant: client_credentials
  client_id: ${SALESFORCE_CLIENT_ID}
  client_secret: ${SALESFORCE_CLIENT_SECRET}
objects:
  Lead:
    fields: [Email, Status]
"""
ENV = {
    "SALESFORCE_URL": "https://login.salesforce.com",
    "SALESFORCE_CLIENT_ID": "3MVG9abc",
}
SECRET = "s3cr3t-from-a-file"


def _file(tmp_path: Path, text: str, name: str = "client-secret") -> Path:
    path = tmp_path / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _connection(tmp_path: Path) -> Path:
    path = tmp_path / "salesforce.yaml"
    path.write_text(SALESFORCE, encoding="utf-8")
    return path


def _problems(tmp_path: Path, env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_salesforce_settings(_connection(tmp_path), env)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("text", [SECRET, SECRET + "\n", SECRET + "\r\n", SECRET + "\n\n"])
def test_the_value_is_the_files_text_without_trailing_newlines(tmp_path: Path, text: str) -> None:
    env = {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(_file(tmp_path, text))}
    settings = load_salesforce_settings(_connection(tmp_path), env)
    assert settings.auth.client_secret.get_secret_value() == SECRET


def test_the_variable_itself_still_works_and_an_empty_one_counts_as_unset(tmp_path: Path) -> None:
    env = {**ENV, "SALESFORCE_CLIENT_SECRET": "from-env"}
    settings = load_salesforce_settings(_connection(tmp_path), env)
    assert settings.auth.client_secret.get_secret_value() == "from-env"
    # An empty NAME (compose's `NAME=` or `-e NAME` of an unset one) yields to NAME_FILE.
    env = {
        **ENV,
        "SALESFORCE_CLIENT_SECRET": "",
        "SALESFORCE_CLIENT_SECRET_FILE": str(_file(tmp_path, SECRET)),
    }
    settings = load_salesforce_settings(_connection(tmp_path), env)
    assert settings.auth.client_secret.get_secret_value() == SECRET


def test_both_set_is_an_error_naming_both_and_quoting_neither(tmp_path: Path) -> None:
    env = {
        **ENV,
        "SALESFORCE_CLIENT_SECRET": "from-env-value",
        "SALESFORCE_CLIENT_SECRET_FILE": str(_file(tmp_path, SECRET)),
    }
    problems = _problems(tmp_path, env)
    assert problems == [
        f"{tmp_path / 'salesforce.yaml'}:5:3: auth.client_secret: both SALESFORCE_CLIENT_SECRET "
        "and SALESFORCE_CLIENT_SECRET_FILE are set, expected only one: the value in "
        "SALESFORCE_CLIENT_SECRET, or the path of a file holding it in "
        "SALESFORCE_CLIENT_SECRET_FILE"
    ]
    assert "from-env-value" not in problems[0] and SECRET not in problems[0]


def test_a_missing_file_is_an_error_naming_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "secrets" / "nowhere"
    problems = _problems(tmp_path, {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(missing)})
    assert problems == [
        f"{tmp_path / 'salesforce.yaml'}:5:3: auth.client_secret: SALESFORCE_CLIENT_SECRET_FILE "
        f"names {missing}, which cannot be read (No such file or directory), expected a "
        "readable file holding the value"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_an_error_naming_its_path_not_its_content(tmp_path: Path) -> None:
    path = _file(tmp_path, SECRET)
    path.chmod(0)
    try:
        problems = _problems(tmp_path, {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(path)})
    finally:
        path.chmod(0o600)
    assert len(problems) == 1
    assert f"names {path}, which cannot be read (Permission denied)" in problems[0]
    assert SECRET not in problems[0]


def test_a_directory_is_an_error_naming_its_path(tmp_path: Path) -> None:
    # A Secret mounted whole where one key was meant: a directory, not a file.
    directory = tmp_path / "secrets"
    directory.mkdir()
    problems = _problems(tmp_path, {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(directory)})
    assert len(problems) == 1
    assert f"SALESFORCE_CLIENT_SECRET_FILE names {directory}, which cannot be read (" in problems[0]


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    path = _file(tmp_path, "\n")
    problems = _problems(tmp_path, {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(path)})
    assert problems == [
        f"{tmp_path / 'salesforce.yaml'}:5:3: auth.client_secret: SALESFORCE_CLIENT_SECRET_FILE "
        f"names {path}, which is empty, expected it to hold the value"
    ]


def test_a_binary_file_is_an_error_without_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "key.der"
    path.write_bytes(b"\xff\xfe\x00QX7Zk")
    problems = _problems(tmp_path, {**ENV, "SALESFORCE_CLIENT_SECRET_FILE": str(path)})
    assert len(problems) == 1
    assert f"names {path}, which is not UTF-8 text" in problems[0]
    assert "QX7Zk" not in problems[0]


def test_neither_set_is_still_the_missing_variable_message(tmp_path: Path) -> None:
    problems = _problems(tmp_path, dict(ENV))
    assert problems == [
        f"{tmp_path / 'salesforce.yaml'}:5:3: auth.client_secret: environment variable "
        "SALESFORCE_CLIENT_SECRET is not set, expected it to hold the value"
    ]


def test_a_default_applies_only_when_neither_is_set(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "connectors" / "hubspot.yaml"
    base = {"HUBSPOT_TOKEN_FILE": str(_file(tmp_path, "pat-na1-from-file\n", "token"))}
    settings = load_hubspot_settings(shipped, base)
    assert settings.token.get_secret_value() == "pat-na1-from-file"
    assert str(settings.base_url).startswith("https://api.hubapi.com")  # ${HUBSPOT_URL:-...}
    url_file = _file(tmp_path, "https://hubspot.internal.example\n", "url")
    settings = load_hubspot_settings(shipped, {**base, "HUBSPOT_URL_FILE": str(url_file)})
    assert str(settings.base_url).startswith("https://hubspot.internal.example")
