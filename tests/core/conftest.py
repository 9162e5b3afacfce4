"""Fixtures for the pure core: the shipped funnel, loaded once, and a way to break it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadbridge.config import Funnel, load_funnel

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def funnel() -> Funnel:
    return load_funnel(MAPPINGS)


def shipped(name: str) -> str:
    return (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8")


Edit = Callable[..., Path]


@pytest.fixture
def edited(tmp_path: Path) -> Edit:
    """A copy of the shipped mappings with each (file, old, new) replacement applied."""

    def edit(*changes: tuple[str, str, str]) -> Path:
        texts = {name: shipped(name) for name in ("stages", "fields", "handoff")}
        for file, old, new in changes:
            assert texts[file].count(old) == 1, f"{old!r} must occur once in {file}.yaml"
            texts[file] = texts[file].replace(old, new)
        for name, text in texts.items():
            (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
        return tmp_path

    return edit
