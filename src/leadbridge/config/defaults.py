"""Where the default connection files and mappings are, in a checkout or an installed wheel.

The repository keeps them at its root (connectors/, mappings/): RevOps edits them
there and the container mounts them as volumes. pyproject.toml maps both
directories into the wheel as leadbridge/_defaults/, so an installed leadbridge
has copies; an editable install has none and reads the checkout's own.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

_Shipped = Literal["connectors", "mappings"]

# A file each directory always holds: a stray directory of the same name is not taken for it.
_MARKERS: dict[_Shipped, str] = {"connectors": "hubspot.yaml", "mappings": "stages.yaml"}


@cache
def shipped(name: _Shipped) -> Path:
    """The directory of the default `name` files, as a real path callers may read and copy."""
    packaged = resources.files("leadbridge") / "_defaults" / name
    if packaged.is_dir():
        if isinstance(packaged, Path):
            return packaged
        # An import from a zip has no directory to hand out: extract one, once.
        return _extract(packaged, name)
    # src/leadbridge/config/defaults.py: the checkout's root is two levels above the package.
    checkout = Path(__file__).resolve().parents[3] / name
    if (checkout / _MARKERS[name]).is_file():
        return checkout
    raise FileNotFoundError(
        f"leadbridge's default {name}/ is neither in the package ({packaged}) "
        f"nor in a source checkout ({checkout}); reinstall leadbridge"
    )


def _extract(source: Traversable, name: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix=f"leadbridge-{name}-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    _copy_tree(source, target)
    return target


def _copy_tree(source: Traversable, target: Path) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            (target / entry.name).mkdir()
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
