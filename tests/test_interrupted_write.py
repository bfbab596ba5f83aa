"""``cdsgen generate`` killed (SIGKILL) at every step of its write phase.

The write phase counts its file-system operations; ``CDSGEN_WRITE_KILL_AT=N`` kills the
process just before the N-th. For every N until a run completes, the test starts from the
same old outputs, kills the writer at N, and shows:

* while anything of the interrupted run is left, ``--check`` fails and names it;
* with nothing left, the trees are all old or all new (never a mix);
* the next run's recovery leaves every tree all old or all new and no leftover, and the run
  after it writes everything new.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cdsgen import writer
from cdsgen.generate import TREES, generate

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def new_outputs() -> dict[str, str]:
    diags, outputs = generate(HERE / "fixtures/minispec")
    assert outputs is not None, [str(d) for d in diags.errors]
    return outputs


def _old_outputs(new: dict[str, str]) -> dict[str, str]:
    """Every tree but one differs: a changed file, a file the new run adds, one it removes."""
    old = dict(new)
    for tree in TREES:
        if tree == "generated/jsonschema":
            continue  # one tree stays as it is: the run must not touch it
        paths = sorted(p for p in new if p.startswith(tree + "/"))
        old[paths[0]] = new[paths[0]] + "\n# old\n"
        if len(paths) > 1:
            del old[paths[-1]]
        old[f"{tree}/stale-{len(paths)}.txt"] = "gone in the new run\n"
    return old


def _tree_files(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in root.rglob("*")
        if p.is_file()
    }


def _states(base: Path, old: dict, new: dict) -> dict[str, str]:
    """Per tree: "old", "new" or "mixed"."""
    grouped_old = writer.group_by_tree(old, TREES)
    grouped_new = writer.group_by_tree(new, TREES)
    out = {}
    for tree in TREES:
        files = _tree_files(base / tree)
        out[tree] = (
            "new"
            if files == grouped_new[tree]
            else "old"
            if files == grouped_old[tree]
            else "mixed"
        )
    return out


def _consistent(states: dict[str, str]) -> bool:
    """All trees old, or all new (the unchanged tree is both)."""
    values = {s for t, s in states.items() if t != "generated/jsonschema"}
    return values in ({"old"}, {"new"}) and states["generated/jsonschema"] in ("old", "new")


def _write_killed_at(base: Path, outputs: dict[str, str], step: int) -> bool:
    """Run the write phase in a child killed before operation ``step``; True if killed."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.environ["CDSGEN_WRITE_KILL_AT"] = str(step)
            writer.write(base, outputs, TREES)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.waitstatus_to_exitcode(status) == 0
    return False


def test_killed_at_every_step_leaves_all_old_or_all_new(new_outputs, tmp_path):
    old_outputs = _old_outputs(new_outputs)
    template = tmp_path / "template"
    writer.write(template, old_outputs, TREES)
    assert _states(template, old_outputs, new_outputs)["generated/openapi"] == "old"

    seen_states: set[tuple[str, ...]] = set()
    step = 0
    while True:
        step += 1
        assert step < 1000, "the write phase never completed"
        base = tmp_path / f"run-{step}"
        shutil.copytree(template, base, symlinks=True)
        killed = _write_killed_at(base, new_outputs, step)
        states = _states(base, old_outputs, new_outputs)
        left = writer.leftovers(base, TREES)
        if left:
            result = writer.check(base, new_outputs, TREES)
            assert not result.ok and result.leftovers, f"step {step}: --check passes"
            assert any("left by an interrupted run" in line for line in result.lines())
        else:
            assert _consistent(states), f"step {step}: trees out of step: {states}"
        # the next run's recovery: all old or all new, nothing left
        writer.recover(base, TREES)
        after = _states(base, old_outputs, new_outputs)
        assert _consistent(after), f"step {step}: after recovery: {after}"
        assert writer.leftovers(base, TREES) == []
        seen_states.add(tuple(sorted(set(after.values()))))
        # and the run after writes everything
        writer.write(base, new_outputs, TREES)
        assert writer.check(base, new_outputs, TREES).ok
        shutil.rmtree(base)
        if not killed:
            break
    assert step > 20, f"only {step} steps: the kill switch does not count the write phase"
    # some kills were rolled back, some completed
    assert ("old",) in seen_states or ("new", "old") in seen_states
    assert ("new",) in seen_states


def test_generate_cli_killed_then_check_fails_then_next_run_repairs(new_outputs, tmp_path):
    """The real command: killed after its commit (mid-swap), so ``--check`` must fail and the
    next ``cdsgen generate`` must complete the swap."""
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "spec")
    old_outputs = _old_outputs(new_outputs)
    writer.write(tmp_path, old_outputs, TREES)
    staged = sum(1 for p in new_outputs if not p.startswith("generated/jsonschema/"))
    kill_at = staged + 2 + 3  # every staged file, the journal's two steps, into the swap

    def cdsgen(*args: str, kill_at: int | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "CDSGEN_WRITE_KILL_AT"}
        if kill_at is not None:
            env["CDSGEN_WRITE_KILL_AT"] = str(kill_at)
        return subprocess.run(
            [sys.executable, "-m", "cdsgen", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
        )

    killed = cdsgen("generate", kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_path / writer.JOURNAL).exists(), "not killed after the commit"
    assert "mixed" not in _states(tmp_path, old_outputs, new_outputs).values()
    check = cdsgen("generate", "--check")
    assert check.returncode == 1
    assert "left by an interrupted run: .cdsgen-swap.json" in check.stderr, check.stderr
    repaired = cdsgen("generate")
    assert repaired.returncode == 0, repaired.stderr
    assert writer.check(tmp_path, new_outputs, TREES).ok
    assert writer.leftovers(tmp_path, TREES) == []


def test_temporary_folders_of_an_older_writer_are_reported_then_removed(new_outputs, tmp_path):
    writer.write(tmp_path, new_outputs, TREES)
    stale = tmp_path / "generated/.openapi.tmp-4242"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub/cds.openapi.json").write_text("{}")
    result = writer.check(tmp_path, new_outputs, TREES)
    assert not result.ok
    assert "left by an interrupted run: generated/.openapi.tmp-4242" in result.lines()
    writer.write(tmp_path, new_outputs, TREES)
    assert not stale.exists()
    assert writer.check(tmp_path, new_outputs, TREES).ok
