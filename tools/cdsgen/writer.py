"""The one place that writes outputs: all trees or none, or compares them in ``--check`` mode.

Outputs are grouped by *tree* (``generated/openapi``, ``site/spec`` …). A run replaces every
changed tree or none of them, even when killed at any instant:

1. **stage** — each changed tree is written in full to a sibling ``.<name>.cdsgen-new``;
2. **commit** — a journal, ``.cdsgen-swap.json`` in the output root, is written atomically
   (write, then rename); from then on the run counts as done;
3. **swap** — for each tree: the current folder becomes ``.<name>.cdsgen-old``, the staged
   one takes its place;
4. **clean** — the journal is removed, then the old folders.

The next run (and ``--check``) first looks for what an interrupted run left: with a journal
the swap is completed (every step above is repeatable); without one, staged folders are
incomplete and removed, and old folders are finished with. ``--check`` reports any leftover
instead of repairing it. Files the emitters no longer produce disappear with their tree (and
are reported as stale by ``--check``).

For the kill test, ``CDSGEN_WRITE_KILL_AT=N`` makes the process kill itself (SIGKILL) just
before its N-th file-system operation of the write phase.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL = ".cdsgen-swap.json"
STAGED_SUFFIX = ".cdsgen-new"
OLD_SUFFIX = ".cdsgen-old"
#: Names an older writer gave its temporary folders (``.openapi.tmp-1234``); still cleaned.
_LEGACY_PATTERNS = (".{name}.tmp-*", ".{name}.old-*")


@dataclass
class CheckResult:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    #: Folders or journal an interrupted run left behind.
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.leftovers)

    def lines(self) -> list[str]:
        return (
            [f"stale: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"not generated any more: {p}" for p in self.extra]
            + [f"left by an interrupted run: {p}" for p in self.leftovers]
        )


class _KillSwitch:
    """Counts file-system operations and kills the process before the configured one."""

    def __init__(self) -> None:
        text = os.environ.get("CDSGEN_WRITE_KILL_AT", "")
        self.kill_at = int(text) if text.isdigit() else 0
        self.count = 0

    def step(self) -> None:
        self.count += 1
        if self.kill_at and self.count >= self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


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


def _staged(target: Path) -> Path:
    return target.with_name(f".{target.name}{STAGED_SUFFIX}")


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}{OLD_SUFFIX}")


def leftovers(base: Path, trees: list[str]) -> list[Path]:
    """The journal and temporary folders an interrupted run left (none after a clean run)."""
    found = [p for p in (base / JOURNAL, base / (JOURNAL + ".tmp")) if p.exists()]
    for tree in trees:
        target = base / tree
        found += [p for p in (_staged(target), _old(target)) if p.exists()]
        for pattern in _LEGACY_PATTERNS:
            found += sorted(target.parent.glob(pattern.format(name=target.name)))
    return found


def check(base: Path, outputs: dict[str, str], trees: list[str]) -> CheckResult:
    result = CheckResult()
    result.leftovers = [str(p.relative_to(base)) for p in leftovers(base, trees)]
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


def recover(base: Path, trees: list[str], kill: _KillSwitch | None = None) -> None:
    """Finish or undo what an interrupted run left, so every tree is all old or all new."""
    kill = kill or _KillSwitch()
    journal = base / JOURNAL
    if journal.exists():
        try:
            swapping = json.loads(journal.read_text(encoding="utf-8"))["trees"]
        except (OSError, ValueError, KeyError, TypeError):
            swapping = None  # written by rename, so never partial; treat damage as no commit
        if isinstance(swapping, list):
            for tree in swapping:
                _swap(base / str(tree), kill)
        kill.step()
        journal.unlink()
    for path in leftovers(base, trees):  # staged without a journal: incomplete; old: done
        kill.step()
        _remove(path)


def _swap(target: Path, kill: _KillSwitch) -> None:
    """Put the staged tree in place of the target; repeatable after a kill at any step."""
    staged, old = _staged(target), _old(target)
    if not staged.exists():
        return  # already swapped
    if target.exists():
        if old.exists():  # an old copy from an earlier swap that was never cleaned
            kill.step()
            _remove(old)
        kill.step()
        target.rename(old)
    kill.step()
    staged.rename(target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write(base: Path, outputs: dict[str, str], trees: list[str]) -> list[str]:
    """Replace every changed tree, all or none; return the paths whose content changed."""
    kill = _KillSwitch()
    recover(base, trees, kill)
    changed = check(base, outputs, trees)
    touched = changed.changed + changed.missing + changed.extra
    grouped = group_by_tree(outputs, trees)
    swapping = [t for t in trees if any(p.startswith(t + "/") for p in touched)]
    if not swapping:
        return touched
    try:
        for tree in swapping:  # 1. stage
            staged = _staged(base / tree)
            for rel, text in grouped[tree].items():
                path = staged / rel
                kill.step()
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text.encode("utf-8"))
        journal = base / JOURNAL  # 2. commit
        pending = journal.with_name(JOURNAL + ".tmp")
        kill.step()
        pending.write_text(json.dumps({"trees": swapping}), encoding="utf-8")
        kill.step()
        pending.rename(journal)
    except BaseException:
        for tree in swapping:
            _remove(_staged(base / tree))
        (base / (JOURNAL + ".tmp")).unlink(missing_ok=True)
        raise
    recover(base, trees, kill)  # 3. swap and 4. clean, exactly as a later run would
    return touched
