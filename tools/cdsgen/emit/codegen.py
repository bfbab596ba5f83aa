"""The datamodel-code-generator child process of ``cdsgen generate``.

Kept apart from :mod:`cdsgen.emit.models` (which pins the options and finishes the models)
and free of anything but the standard library, so the command can start the process before
it imports the rest of cdsgen: the generator's own imports, half of its run, then overlap
cdsgen's imports and the loading of the source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


class PendingCodegen:
    """One datamodel-code-generator run in a child process, in its own temporary folder
    (so no configuration lying around changes its output).

    The process starts before its input exists and imports the generator meanwhile, so
    ``cdsgen generate`` starts it first thing (before importing the rest of cdsgen) and
    :meth:`feed` s it the OpenAPI once the source is loaded; the import then overlaps the
    loading instead of following it."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="cdsgen-codegen-")
        self._dst = Path(self._tmp.name, "models.py")
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
        """Give the waiting process its input and the generator's ``options``."""
        src = Path(self._tmp.name, "openapi.json")
        src.write_text(json.dumps(openapi, indent=1), encoding="utf-8")
        argv = ["--input", str(src), "--output", str(self._dst), *options]
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(argv) + "\n")
            self._proc.stdin.close()
        except BrokenPipeError:  # it failed to start; result() reports its output
            pass
        self._proc.stdin = None  # fed: communicate() has nothing more to send

    def cancel(self) -> None:
        self._proc.kill()
        self._proc.communicate()
        self._tmp.cleanup()

    def result(self) -> str:
        try:
            out, err = self._proc.communicate()
            if self._proc.returncode != 0 or not self._dst.exists():
                raise RuntimeError(f"datamodel-code-generator failed:\n{err or out}")
            return self._dst.read_text(encoding="utf-8")
        finally:
            self._tmp.cleanup()
