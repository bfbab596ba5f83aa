"""What a fresh venv holds beyond what the named distributions need (used by the scripts that
tests/test_dist.py runs inside such venvs)."""

from __future__ import annotations

import re
from importlib import metadata


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_besides(roots: list[str]) -> set[str]:
    """Installed distributions that none of ``roots`` needs, directly or indirectly (pip and
    setuptools aside)."""
    installed = {_normal(d.metadata["Name"]) for d in metadata.distributions()}
    needed: set[str] = set()
    todo = [_normal(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for requirement in metadata.requires(name) or []:
            dependency = _normal(re.split(r"[\s;<>=!~\[(]", requirement.strip(), maxsplit=1)[0])
            # a requirement with a marker (extras, older Pythons) counts only when pip
            # installed it; without a marker it must be there
            if ";" in requirement and dependency not in installed:
                continue
            todo.append(dependency)
    return installed - needed - {"pip", "setuptools"}
