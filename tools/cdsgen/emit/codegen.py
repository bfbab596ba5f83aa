"""The datamodel-code-generator child process of ``cdsgen generate``, and its cache.

Kept apart from :mod:`cdsgen.emit.models` (which pins the options and finishes the models)
and free of anything but the standard library, so the command can start the process before
it imports the rest of cdsgen: the generator's own imports, half of its run, then overlap
cdsgen's imports and the loading of the source.

The generator is given the OpenAPI with every description replaced by a marker
(:func:`cdsgen.emit.pysource.protect_descriptions`), so its output is a function of the
*shape* of the schemas alone. That output is kept in the user cache (:mod:`cdsgen.cachedir`),
found by the SHA-256 of its input, options and the versions of everything that made it: a
change of wording, the most common edit of the source, never runs the generator again. The
cache also remembers, per project, which entry its last run used; when that entry exists the
process is not started ahead (it would most likely be thrown away), only when its input turns
out to be new.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cdsgen.cachedir import cache_dir, installed_version, store_bytes

#: The child process: import datamodel-code-generator's parser (half of its run) at once,
#: then run its command line (``python -m datamodel_code_generator``) on the arguments it
#: reads from stdin; nothing read (stdin closed): exit.
_CODEGEN_RUNNER = """
import json, runpy, sys
import datamodel_code_generator.parser.openapi, datamodel_code_generator.model.pydantic_v2
line = sys.stdin.readline()
if line:
    sys.argv = ["datamodel-codegen", *json.loads(line)]
    runpy.run_module("datamodel_code_generator", run_name="__main__", alter_sys=True)
"""

#: Entries kept in the cache of generator outputs; beyond this the least recently used go.
CACHED_OUTPUTS = 20


class PendingCodegen:
    """One datamodel-code-generator run, in a child process in its own temporary folder (so
    no configuration lying around changes its output), or its earlier output from the cache.

    ``project`` (the source folder) lets the run be started ahead, before its input exists,
    unless the project's last input is still cached: the generator then imports while the
    source loads, and :meth:`feed` gives it the OpenAPI once the model is built."""

    def __init__(self, project: Path | None = None) -> None:
        self._project = project
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._output: str | None = None
        self._from_cache = False
        self._entry: Path | None = None
        if project is None or not _last_run_cached(project):
            self._start()

    def _start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="cdsgen-codegen-")
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        self._proc = subprocess.Popen(
            [sys.executable, "-W", "error::UserWarning", "-c", _CODEGEN_RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self._tmp.name,
        )

    def feed(self, openapi: dict[str, Any], options: list[str]) -> None:
        """Give the generator its input and ``options`` (or take its cached output)."""
        text = json.dumps(openapi, indent=1)
        self._entry = _entry_path(text, options)
        if self._entry is not None:
            if self._project is not None:
                _remember_last_run(self._project, self._entry)
            try:
                self._output = self._entry.read_text(encoding="utf-8")
                self._from_cache = True
                os.utime(self._entry)  # recently used: kept longest
                self.cancel()
                return
            except (OSError, UnicodeDecodeError):
                pass
        if self._proc is None:
            self._start()
        assert self._proc is not None and self._tmp is not None and self._proc.stdin is not None
        src = Path(self._tmp.name, "openapi.json")
        src.write_text(text, encoding="utf-8")
        argv = ["--input", str(src), "--output", str(self._dst), *options]
        try:
            self._proc.stdin.write(json.dumps(argv) + "\n")
            self._proc.stdin.close()
        except BrokenPipeError:  # it failed to start; result() reports its output
            pass
        self._proc.stdin = None  # fed: communicate() has nothing more to send

    @property
    def started(self) -> bool:
        """Whether a generator process was started (and not yet ended)."""
        return self._proc is not None

    @property
    def from_cache(self) -> bool:
        """Whether the output came from the cache (known once :meth:`feed` ran)."""
        return self._from_cache

    @property
    def _dst(self) -> Path:
        assert self._tmp is not None
        return Path(self._tmp.name, "models.py")

    def cancel(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.communicate()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def result(self) -> str:
        if self._output is not None:
            return self._output
        assert self._proc is not None
        try:
            out, err = self._proc.communicate()
            if self._proc.returncode != 0 or not self._dst.exists():
                raise RuntimeError(f"datamodel-code-generator failed:\n{err or out}")
            self._output = self._dst.read_text(encoding="utf-8")
        finally:
            self.cancel()
        if self._entry is not None:
            store_bytes(self._entry, self._output.encode("utf-8"))
            _forget_least_used(self._entry.parent)
        return self._output


def _versions() -> str:
    """Everything besides its input that the generator's output depends on."""
    tools = ("datamodel-code-generator", "ruff", "pydantic")
    found = [f"{tool} {installed_version(tool)}" for tool in tools]
    return "\n".join([sys.version, _CODEGEN_RUNNER, *found])


def _entry_path(text: str, options: list[str]) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    digest = hashlib.sha256("\0".join([_versions(), *options, text]).encode("utf-8"))
    return root / "codegen" / f"{digest.hexdigest()}.py"


def _last_run_file(project: Path) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    where = hashlib.sha256(str(project.resolve()).encode("utf-8")).hexdigest()[:32]
    return root / "codegen" / "last-run" / where


def _last_run_cached(project: Path) -> bool:
    """Whether the entry the project's last run used is still in the cache."""
    hint = _last_run_file(project)
    try:
        return hint is not None and Path(hint.read_text(encoding="utf-8").strip()).is_file()
    except (OSError, UnicodeDecodeError):
        return False


def _remember_last_run(project: Path, entry: Path) -> None:
    hint = _last_run_file(project)
    if hint is not None:
        store_bytes(hint, str(entry).encode("utf-8"))


def _forget_least_used(folder: Path) -> None:
    try:
        entries = sorted(folder.glob("*.py"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-CACHED_OUTPUTS]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
