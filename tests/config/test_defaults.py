"""The default connectors/ and mappings/ ship: read from the checkout in an editable install,
copied into the wheel, and found by `shipped` however the wheel is imported."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import leadbridge
from leadbridge.config.defaults import shipped

REPO = Path(__file__).resolve().parents[2]
NAMES = ("connectors", "mappings")
EXPECTED = {
    "connectors": {"hubspot.yaml", "salesforce.yaml"},
    "mappings": {"stages.yaml", "fields.yaml", "handoff.yaml"},
}
# Print what `shipped` finds, from an interpreter that sees the wheel first: -S keeps this
# checkout's editable install (a .pth hook in site-packages) out of the way, and
# site-packages comes after the wheel on the path only for what leadbridge imports
# (pydantic and friends), with no .pth processed.
PROBE = """
import hashlib, json
from leadbridge.config.defaults import shipped
print(json.dumps({
    name: {
        "path": str(shipped(name)),
        "files": {p.relative_to(shipped(name)).as_posix():
                      hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in shipped(name).rglob("*") if p.is_file()},
    }
    for name in ("connectors", "mappings")
}))
"""


def repo_files(name: str) -> dict[str, bytes]:
    """The YAML files and, under schemas/, the JSON Schemas their first lines name."""
    directory = REPO / name
    found = [*directory.glob("*.yaml"), *directory.glob("schemas/*.schema.json")]
    return {path.relative_to(directory).as_posix(): path.read_bytes() for path in found}


def test_the_repository_holds_the_defaults() -> None:
    for name in NAMES:
        assert EXPECTED[name] <= set(repo_files(name))


def test_an_editable_install_reads_the_checkouts_own_directories() -> None:
    assert Path(leadbridge.__file__).is_relative_to(REPO / "src"), "not an editable install"
    for name in NAMES:
        assert shipped(name).samefile(REPO / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built the way pip builds one, from a copy of the sources (no build/ here)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("src", *NAMES):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, source],
        check=True,
        timeout=120,
    )
    (built,) = out.glob("leadbridge-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_copies_of_the_defaults(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in NAMES:
            prefix = f"leadbridge/_defaults/{name}/"
            packaged = {
                entry[len(prefix) :]: archive.read(entry)
                for entry in archive.namelist()
                if entry.startswith(prefix)
            }
            assert packaged == repo_files(name)


@pytest.mark.slow
def test_the_wheel_holds_every_module_of_the_source_tree(wheel: Path) -> None:
    """pyproject.toml lists the packages: one missing from the list would vanish here."""
    package = REPO / "src" / "leadbridge"
    sources = {
        path.relative_to(package.parent).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    with zipfile.ZipFile(wheel) as archive:
        missing = sources - set(archive.namelist())
    assert not missing, (
        "pyproject.toml: add their packages to [tool.setuptools] packages, or their "
        f"patterns to [tool.setuptools.package-data]: {sorted(missing)}"
    )


def probe(python_path: Path) -> dict[str, dict[str, object]]:
    found = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        env={"PYTHONPATH": os.pathsep.join((str(python_path), sysconfig.get_paths()["purelib"]))},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    result: dict[str, dict[str, object]] = json.loads(found)
    return result


def digests(name: str) -> dict[str, str]:
    return {file: hashlib.sha256(data).hexdigest() for file, data in repo_files(name).items()}


@pytest.mark.slow
def test_shipped_finds_them_in_an_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    found = probe(tmp_path)
    for name in NAMES:
        assert found[name]["path"] == str(tmp_path / "leadbridge" / "_defaults" / name)
        assert found[name]["files"] == digests(name)


@pytest.mark.slow
def test_shipped_extracts_them_from_a_zipped_wheel(wheel: Path) -> None:
    found = probe(wheel)  # a wheel is a zip that zipimport can import from
    for name in NAMES:
        path = Path(str(found[name]["path"]))
        assert not path.is_relative_to(wheel)
        assert found[name]["files"] == digests(name)
        assert not path.exists(), "the extracted copy outlived the process"
