"""The four distributions: each generated package installs on its own, and the cdsgen wheel
works without the repository (``make dist``).

The wheels are built once per run (as ``make dist`` builds them) and installed
into fresh virtual environments with nothing else in them; dependencies such as pydantic come
from the package index (or pip's cache). All tests share one xdist group, so one worker builds
the wheels once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cdsgen.emit.packaging import DISTRIBUTIONS, package_version, pep440
from cdsgen.types import Named

pytestmark = pytest.mark.xdist_group("dist")

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).with_name("dist")


def _run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` without this environment's PYTHONPATH, so nothing of the repository leaks
    into a fresh venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _fresh_venv(path: Path) -> Path:
    """A venv without even pip in it (pip installs into it from outside); its python."""
    proc = _run(sys.executable, "-m", "venv", "--without-pip", path)
    assert proc.returncode == 0, proc.stderr
    return path / "bin" / "python"


def _pip_install(python: Path, *args: str | Path) -> None:
    proc = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile", *args
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- what the project files declare (fast) -----------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("1.0.0", "1.0.0"),
        ("1.0.0-draft", "1.0.0.dev0"),
        ("1.1.0-dev", "1.1.0.dev0"),
        ("1.1.0-draft.3", "1.1.0.dev3"),
        ("2.0.0-rc.2", "2.0.0rc2"),
        ("2.0.0-beta", "2.0.0b0"),
    ],
)
def test_document_versions_map_to_pep440(document, expected):
    assert pep440(document) == expected


def test_a_version_without_pep440_form_is_refused():
    with pytest.raises(ValueError, match="'1.0-draft' is not MAJOR.MINOR.PATCH"):
        pep440("1.0-draft")


def test_source_format_allows_exactly_the_versions_with_a_pep440_form():
    from cdsgen.emit.packaging import SEMVER
    from cdsgen.loader import meta_schema

    allowed = re.compile(meta_schema()["$defs"]["document"]["properties"]["version"]["pattern"])
    samples = ["1.0.0", "1.0.0-draft", "1.1.0-dev.2", "2.0.0-rc1", "1.0", "1.0.0-preview"]
    samples += ["1.0.0-draft.x", "v1.0.0", "1.0.0+build", "01.2.3-beta-4"]
    assert [bool(allowed.match(v)) for v in samples] == [bool(SEMVER.match(v)) for v in samples]
    assert [bool(SEMVER.match(v)) for v in samples].count(True) == 5


def test_lint_names_a_document_version_without_pep440_form(tmp_path):
    shutil.copytree(ROOT / "tests/fixtures/minispec", tmp_path / "spec")
    document = tmp_path / "spec/cds-test-01/document.yaml"
    text = document.read_text()
    document.write_text(text.replace("version: 0.0.1", "version: 0.1-preview", 1))
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "version: 0.0.1" in ln)
    proc = _run(sys.executable, "-m", "cdsgen", "lint", cwd=tmp_path)
    assert proc.returncode == 1
    where = f"spec/cds-test-01/document.yaml:{line}:12: "
    message = "'0.1-preview' is not a valid version"
    assert any(where in ln and message in ln for ln in proc.stderr.splitlines()), proc.stderr


def test_project_files_survive_any_document_title(tmp_path):
    from cdsgen.emit.packaging import emit_packaging
    from cdsgen.lint import lint

    shutil.copytree(ROOT / "tests/fixtures/minispec", tmp_path / "spec")
    document = tmp_path / "spec/cds-test-01/document.yaml"
    title = 'Say "hi" | <b>x</b> \\ `code` [link](y) *em* {{ x }}'
    text = document.read_text()
    old_title = next(ln for ln in text.splitlines() if ln.strip().startswith("title:"))
    document.write_text(text.replace(old_title, "  title: " + json.dumps(title), 1))
    result = lint(tmp_path / "spec")
    assert result.ok, [str(d) for d in result.diagnostics.errors]
    outputs = emit_packaging(result.spec)
    for dist in DISTRIBUTIONS:
        project = tomllib.loads(outputs[f"{dist.folder}/pyproject.toml"])["project"]
        assert project["version"] == "0.0.1"
        row = next(ln for ln in outputs[f"{dist.folder}/README.md"].splitlines() if "0.0.1" in ln)
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert cells[1] == r'Say "hi" \| \<b\>x\</b\> \\ \`code\` \[link\](y) \*em\* {{ x }}'


def test_generated_projects_declare_their_dependencies(spec):
    version = package_version(spec)
    assert version == pep440(next(iter(spec.documents.values())).version)
    declared = {}
    for dist in DISTRIBUTIONS:
        project = tomllib.loads((ROOT / dist.folder / "pyproject.toml").read_text())["project"]
        assert project["name"] == dist.name
        assert project["version"] == version
        declared[dist.name] = [r.split(">")[0].split("=")[0] for r in project["dependencies"]]
        assert (ROOT / dist.folder / "py.typed").is_file()
        readme = (ROOT / dist.folder / "README.md").read_text()
        for doc in spec.documents.values():
            assert f"| {doc.title} | {doc.version} |" in readme
    assert declared == {
        "cds-models": ["pydantic"],
        "cds-client": ["httpx", "cds-models"],
        "cds-server": ["fastapi", "cds-models"],
    }


def test_cdsgen_requires_exactly_the_generated_version(spec):
    """The root pyproject.toml pins the generated packages; when a document's version
    changes, `cdsgen generate` changes theirs and this pin must follow."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = package_version(spec)
    for dist in DISTRIBUTIONS:
        assert f"{dist.name}=={version}" in project["dependencies"], dist.name


# -- the wheels in fresh venvs -----------------------------------------------------------------


#: What a checkout holds besides its sources: environments, caches, build output.
_NOT_SOURCE = (".git", ".venv", "node_modules", "site_build", "dist", "build", "*.egg-info")
_NOT_SOURCE += ("__pycache__", ".pytest_cache", ".ruff_cache", "cds-reference.sqlite3*")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """The four wheels, built with the backends the dev environment pins (hatchling,
    setuptools) instead of an isolated build env each, which `make dist` uses. cdsgen's is
    built from its sdist, as `make dist` does, so the wheel holds only what the sdist holds
    (not what an earlier in-tree build left in build/); hatchling builds outside the tree."""
    out = tmp_path_factory.mktemp("dist")
    projects = [ROOT / d.folder for d in DISTRIBUTIONS]
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    proc = _run(*pip_wheel, "--wheel-dir", out, *projects)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # cdsgen from a copy of the checkout: the sdist's build tree and egg-info then never meet
    # the other tests working in the checkout at the same time
    copy = tmp_path_factory.mktemp("cdsgen-src") / "cdsgen"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    proc = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = {p.name.split("-")[0].replace("_", "-"): p for p in out.glob("*.whl")}
    assert sorted(built) == ["cds-client", "cds-models", "cds-server", "cdsgen"]
    return built


def _example_bodies(spec, verdicts) -> list[tuple[str, str, object]]:
    """``(example id, model name, body)`` of every JSON body of the published examples that
    the source marks valid (lint found no problem), with the model that describes it."""
    cases: list[tuple[str, str, object]] = []
    for ex in spec.examples.values():
        if verdicts[ex.id]:
            continue
        if ex.json_body is not None:
            if isinstance(ex.object_type, Named) and ex.json_body.body_is_json:
                cases.append((ex.id, ex.object_type.name, ex.json_body.body))
            continue
        ep = spec.endpoints.get(ex.operation or "")
        if ep is None:
            continue
        if ex.request and ex.request.body_is_json and isinstance(ep.request_type, Named):
            cases.append((f"{ex.id} (request)", ep.request_type.name, ex.request.body))
        resp = next((r for r in ep.responses if r.status == ex.status), None)
        if ex.response and ex.response.body_is_json and resp and isinstance(resp.type, Named):
            cases.append((f"{ex.id} (response)", resp.type.name, ex.response.body))
    return cases


def test_cds_models_alone_validates_the_published_examples(wheels, spec, lint_result, tmp_path):
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, wheels["cds-models"])
    cases = _example_bodies(spec, lint_result.example_problems)
    assert len(cases) >= 20
    (tmp_path / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    proc = _run(python, SCRIPTS / "check_models.py", tmp_path / "cases.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok cds-models {package_version(spec)} requires ['pydantic']" in proc.stdout
    assert proc.stdout.count("\nok ") == len(cases) + 1
    assert "ok unknown field and unknown capability kept" in proc.stdout


def test_client_and_server_install_without_the_toolkit(wheels, tmp_path):
    python = _fresh_venv(tmp_path / "venv")
    found = wheels["cds-models"].parent
    _pip_install(python, "--find-links", found, wheels["cds-client"], wheels["cds-server"])
    proc = _run(python, SCRIPTS / "check_stubs.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok cds_client.CdsClient" in proc.stdout and "ok cds_server.create_app" in proc.stdout


def test_cdsgen_wheel_lints_and_checks_a_copy_of_the_project(wheels, tmp_path):
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, *wheels.values())
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    for tree in ("spec", "generated", "site/spec"):
        shutil.copytree(ROOT / tree, project / tree, ignore=ignore)
    where = _run(
        python,
        "-c",
        "import cdsgen, cds_models, cds_client, cds_server\n"
        "for m in (cdsgen, cds_models, cds_client, cds_server): print(m.__file__)",
        cwd=project,
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).is_relative_to(tmp_path / "venv"), path
    cdsgen = tmp_path / "venv/bin/cdsgen"
    lint = _run(cdsgen, "lint", cwd=project)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "0 error(s)" in lint.stdout + lint.stderr
    check = _run(cdsgen, "generate", "--check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
