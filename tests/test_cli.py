"""The command line in the manner of ruff and buf: ``--version``, global options before or
after the subcommand, outputs where documented, and one-line errors (exit 2) for arguments
that cannot work — before any banner, never a traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cds_harness import free_port

HERE = Path(__file__).parent


def _cdsgen(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version(tmp_path):
    proc = _cdsgen("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("cdsgen ")
    assert proc.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize(
    "args",
    [
        ["--spec", "src", "lint"],
        ["lint", "--spec", "src"],
        ["--max-diagnostics", "5", "lint", "--spec", "src"],
        ["lint", "--spec", "src", "--max-diagnostics", "5"],
    ],
)
def test_global_options_before_or_after_the_subcommand(tmp_path, args):
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "src")
    proc = _cdsgen(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "0 error(s)" in proc.stderr


def test_spec_elsewhere_needs_out_and_never_writes_to_a_guessed_parent(tmp_path):
    source = tmp_path / "srv/cds/spec"
    shutil.copytree(HERE / "fixtures/minispec", source)
    work = tmp_path / "work"
    work.mkdir()
    proc = _cdsgen("generate", "--spec", str(source), cwd=work)
    assert proc.returncode == 2
    assert "give --out DIR" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "srv/cds/generated").exists()
    assert not (tmp_path / "srv/generated").exists()

    out = tmp_path / "out"
    proc = _cdsgen("--out", str(out), "generate", "--spec", str(source), cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (out / "generated/openapi/cds.openapi.json").is_file()
    assert (out / "site/spec/index.md").is_file()
    assert f"under {out}" in proc.stderr
    assert not (tmp_path / "srv/cds/generated").exists()

    proc = _cdsgen("generate", "--check", "--spec", str(source), "--out", str(out), cwd=work)
    assert proc.returncode == 0, proc.stderr

    # a folder that already holds generated/ is a project: its spec/ writes there, and says so
    (tmp_path / "srv/cds/generated").mkdir()
    proc = _cdsgen("generate", "--spec", str(source), cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert f"under {tmp_path / 'srv/cds'}" in proc.stderr
    assert (tmp_path / "srv/cds/generated/openapi/cds.openapi.json").is_file()


def test_diagnostics_of_generate_and_lint_go_to_stderr(tmp_path):
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "spec")
    (tmp_path / "spec/cds-test-01/zz.yaml").write_text("objects: [\n")
    for command in ("lint", "generate"):
        proc = _cdsgen(command, cwd=tmp_path)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert "spec/cds-test-01/zz.yaml:2:1: yaml-syntax: " in proc.stderr


def test_serve_refuses_a_database_in_a_missing_folder(tmp_path):
    proc = _cdsgen(
        "serve", "--port", str(free_port()), "--db", str(tmp_path / "nope/x.sqlite3"), cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "reference Server on" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_refuses_a_port_out_of_range(tmp_path):
    proc = _cdsgen("serve", "--port", "99999", cwd=tmp_path)
    assert proc.returncode == 2
    assert "99999 is not a port (0-65535)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_refuses_a_port_in_use_before_its_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _cdsgen("serve", "--port", str(port), "--db", str(tmp_path / "db"), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: already in use" in proc.stderr
    assert "reference Server on" not in proc.stderr
    assert not (tmp_path / "db").exists()


def test_outline_of_a_missing_or_binary_file(tmp_path):
    proc = _cdsgen("outline", "/nope.md", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "cdsgen outline: error: /nope.md: no such file"
    binary = tmp_path / "x.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    proc = _cdsgen("outline", str(binary), cwd=tmp_path)
    assert proc.returncode == 2
    assert "not a UTF-8 text file" in proc.stderr
    assert "Traceback" not in proc.stderr
