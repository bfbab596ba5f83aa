"""Where the per-user cache lives, and how an entry is written (see :mod:`cdsgen.cache`).

Standard library only: ``cdsgen generate`` asks it whether datamodel-code-generator will be
needed (:mod:`cdsgen.emit.codegen`) before it imports the rest of cdsgen.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    """The cache folder (``$CDSGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/cdsgen``, else
    ``~/.cache/cdsgen``), or ``None`` when caching is turned off (``CDSGEN_CACHE_DIR=off``)."""
    configured = os.environ.get("CDSGEN_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (KeyError, RuntimeError):  # no home folder: no cache
            return None
    return Path(base, "cdsgen")


def store_bytes(path: Path, data: bytes) -> None:
    """Write one entry whole or not at all (a temporary file renamed into place); a folder
    that cannot be written costs the entry, nothing else."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".tmp", delete=False) as f:
            f.write(data)
        os.replace(f.name, path)
    except OSError:
        pass


def installed_version(distribution: str) -> str:
    """The version of an installed distribution, for keys of cache entries.

    Read from the name of its ``*.dist-info`` folder beside ``sys.path``'s packages (a few
    directory lookups); ``importlib.metadata``, which costs a fiftieth of a second to import,
    only when that folder is not found. ``"?"`` when it is not installed."""
    import sys

    stem = distribution.replace("-", "_").lower()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.lower().startswith(stem + "-") and name.endswith(".dist-info"):
                return name[len(stem) + 1 : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"
