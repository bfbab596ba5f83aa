"""The one place that writes outputs: atomically per tree, or compares in ``--check`` mode.

Outputs are grouped by *tree* (e.g. ``generated/openapi``). A tree is written to a sibling
temporary folder and swapped in with renames, so a reader never sees a half-written tree and
a failure leaves the previous tree in place. Files in a tree that the emitters no longer
produce are removed (and reported as stale by ``--check``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class CheckResult:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"stale: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"not generated any more: {p}" for p in self.extra]
        )


def group_by_tree(outputs: dict[str, str], trees: list[str]) -> dict[str, dict[str, str]]:
    """Split ``{path: text}`` by tree; every path must fall under exactly one tree."""
    grouped: dict[str, dict[str, str]] = {t: {} for t in trees}
    for path, text in outputs.items():
        tree = max((t for t in trees if path.startswith(t + "/")), key=len, default=None)
        if tree is None:
            raise ValueError(f"output {path} is outside the managed trees")
        grouped[tree][path[len(tree) + 1 :]] = text
    return grouped


def _existing(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)).replace(os.sep, "/"): p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def check(base: Path, outputs: dict[str, str], trees: list[str]) -> CheckResult:
    result = CheckResult()
    for tree, files in group_by_tree(outputs, trees).items():
        existing = _existing(base / tree)
        for rel, text in sorted(files.items()):
            path = existing.pop(rel, None)
            if path is None:
                result.missing.append(f"{tree}/{rel}")
            elif path.read_bytes() != text.encode("utf-8"):
                result.changed.append(f"{tree}/{rel}")
        result.extra += sorted(f"{tree}/{rel}" for rel in existing)
    return result


def write(base: Path, outputs: dict[str, str], trees: list[str]) -> list[str]:
    """Write every tree atomically; return the paths whose content changed."""
    changed = check(base, outputs, trees)
    touched = changed.changed + changed.missing + changed.extra
    for tree, files in group_by_tree(outputs, trees).items():
        if not any(p.startswith(tree + "/") for p in touched):
            continue
        target = base / tree
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            for rel, text in files.items():
                p = tmp / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(text.encode("utf-8"))
            if target.exists():
                target.rename(old)
            tmp.rename(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old.exists() and not target.exists():
                old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    return touched
