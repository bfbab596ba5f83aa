"""``cdsgen lint`` on a corpus of broken sources: each message and its exact position.

Every file in ``lint_cases/`` is added to a small valid spec (``fixtures/minispec``); its
``# expect:`` lines are the complete list of errors lint must report for it, as
``line:col: message`` (the path is the case file's).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CASES = sorted((HERE / "lint_cases").glob("*.yaml"))


def _expected(case: Path) -> list[str]:
    return [
        line.split("expect:", 1)[1].strip()
        for line in case.read_text().splitlines()
        if line.startswith("# expect:")
    ]


def _run_lint(tmp_path: Path, case: Path | None) -> subprocess.CompletedProcess:
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "spec")
    if case is not None:
        shutil.copy(case, tmp_path / "spec/cds-test-01/zz-case.yaml")
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", "lint"], cwd=tmp_path, capture_output=True, text=True
    )


def test_fixture_itself_is_clean(tmp_path):
    proc = _run_lint(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_corpus_covers_at_least_fifteen_kinds_of_mistake():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_lint_reports_each_problem_once_with_its_position(case, tmp_path):
    proc = _run_lint(tmp_path, case)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    prefix = "spec/cds-test-01/zz-case.yaml:"
    got = [line[len(prefix) :] for line in proc.stderr.splitlines() if line.startswith(prefix)]
    others = [
        line
        for line in proc.stderr.splitlines()
        if not line.startswith(prefix) and not re.match(r"\d+ error\(s\), \d+ warning", line)
    ]
    assert got == _expected(case)
    assert others == [], "problems reported in other files: " + "\n".join(others)


# -- rule ids, their documented list, output formats -----------------------------------------

TOOLS = HERE.parent / "tools/cdsgen"
#: Modules (and the source/ package) whose every diagnostic names its rule; elsewhere one without
#: is reported under the catch-all rule ``source`` until it gets its own.
STRICT_MODULES = {"loader.py", "lint.py", "yamlpos.py", "sourcefiles.py", "source"}


def test_rule_list_in_the_format_guide_matches_the_code():
    from cdsgen.diagnostics import RULES

    guide = (HERE.parent / "spec/README.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (.+?) \|$", guide, re.MULTILINE))
    assert documented == RULES


def _diagnostic_calls(path: Path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("error", "warning")
            and ast.unparse(node.func.value) in ("diags", "self.d")
        ):
            yield node


def test_every_diagnostic_names_a_listed_rule_and_every_rule_is_used():
    import ast

    from cdsgen.diagnostics import RULES

    used: set[str] = set()
    for path in sorted([*TOOLS.glob("*.py"), *TOOLS.glob("source/*.py")]):
        if path.name == "diagnostics.py":
            continue
        strict = path.name in STRICT_MODULES or path.parent.name in STRICT_MODULES
        for call in _diagnostic_calls(path):
            rule = next((k.value for k in call.keywords if k.arg == "rule"), None)
            if strict:
                assert rule is not None, f"{path.name}:{call.lineno}: diagnostic without a rule"
            if isinstance(rule, ast.Constant):
                assert rule.value in RULES, f"{path.name}:{call.lineno}: '{rule.value}'"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in RULES:
                used.add(node.value)
    assert set(RULES) - used - {"source"} == set(), "rules listed but never reported"


def _run(tmp_path: Path, case_text: str, *args: str) -> subprocess.CompletedProcess:
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "spec")
    (tmp_path / "spec/cds-test-01/zz-case.yaml").write_text(case_text)
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", "lint", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


def _many_unknown_types(count: int) -> str:
    fields = "".join(
        f"      f{i}: {{type: Nope{i}, required: true, summary: Field {i}.}}\n"
        for i in range(count)
    )
    return (
        "objects:\n  Gadget:\n    anchor: things\n    title: Gadget\n    summary: A gadget.\n"
        "    fields:\n" + fields
    )


def test_output_is_capped_with_a_count_of_the_rest(tmp_path):
    proc = _run(tmp_path, _many_unknown_types(250))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    shown = [line for line in lines if ": unknown-type: " in line]
    assert len(shown) == 200
    assert "… and 50 more (use --max-diagnostics 0 to list all)" in lines
    assert lines[-1].startswith("250 error(s)")


def test_max_diagnostics_zero_lists_all(tmp_path):
    proc = _run(tmp_path, _many_unknown_types(250), "--max-diagnostics", "0")
    assert len([line for line in proc.stderr.splitlines() if ": unknown-type: " in line]) == 250


def test_json_format(tmp_path):
    import json

    proc = _run(tmp_path, _many_unknown_types(2), "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["omitted"] == 0
    first = report["diagnostics"][0]
    assert first == {
        "path": "spec/cds-test-01/zz-case.yaml",
        "line": 7,
        "column": 7,
        "rule": "unknown-type",
        "severity": "error",
        "message": "unknown type 'Nope0' in field 'f0' of Gadget",
        "follows_from": None,
    }


def test_github_format(tmp_path):
    proc = _run(tmp_path, _many_unknown_types(1), "--format", "github")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        "::error file=spec/cds-test-01/zz-case.yaml,line=7,col=7,title=unknown-type::"
        "unknown type 'Nope0' in field 'f0' of Gadget"
    )


def test_messages_escape_control_characters_of_the_source(tmp_path):
    proc = _run(tmp_path, 'objects:\n  "Gad\\e[31mget": {}\n')
    assert "\x1b" not in proc.stderr
    assert "'Gad\\x1b[31mget' is not a valid name in objects" in proc.stderr
