"""Other people's tools take our OpenAPI and generated code as they are.

Each tool is installed by the project's own files — Spectral, Redocly CLI and
openapi-typescript as npm devDependencies (``make assets``), openapi-python-client and
datamodel-code-generator from pyproject.toml — and run here as a subprocess on
``generated/openapi/cds.openapi.json``, the way an implementer would run it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "generated/openapi/cds.openapi.json"
OPENAPI_FILES = sorted((ROOT / "generated/openapi").glob("*.openapi.json"))
NODE_BIN = ROOT / "node_modules/.bin"
VENV_BIN = Path(sys.executable).parent
GENERATED_PACKAGES = ["cds_models", "cds_server", "cds_client"]

pytestmark = pytest.mark.xdist_group("peer-tools")


def _node_tool(name: str) -> Path:
    tool = NODE_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make assets` (npm devDependencies)")
    return tool


def _run(cmd: list, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def _operations(api: dict):
    for path, item in api["paths"].items():
        for method, op in item.items():
            yield path, method, op


# -- Spectral --------------------------------------------------------------------------------
def test_spectral_config_is_the_oas_ruleset():
    config = (ROOT / ".spectral.yaml").read_text()
    assert re.search(r"^extends: \[\"spectral:oas\"\]$", config, re.MULTILINE)


@pytest.mark.parametrize("path", OPENAPI_FILES, ids=lambda p: p.name)
def test_spectral_oas_finds_no_errors(path):
    proc = _run([_node_tool("spectral"), "lint", "--format", "json", "--quiet", path])
    assert proc.stdout.lstrip().startswith("["), proc.stdout + proc.stderr
    results = json.loads(proc.stdout)
    errors = [
        f"{r['code']} {'.'.join(map(str, r['path']))}: {r['message']}"
        for r in results
        if r["severity"] == 0
    ]
    assert not errors, "\n".join(errors[:20])


def test_spectral_run_is_live_it_catches_a_broken_example(tmp_path):
    """The same run on a copy with one example emptied must fail: the ruleset is applied."""
    api = json.loads(OPENAPI.read_text())
    media = api["paths"]["/cds-coverage.json"]["get"]["responses"]["200"]["content"]
    next(iter(media["application/json"]["examples"].values()))["value"] = {"next": 3}
    broken = tmp_path / "broken.openapi.json"
    broken.write_text(json.dumps(api))
    proc = _run([_node_tool("spectral"), "lint", "--format", "json", "--quiet", broken])
    codes = {r["code"] for r in json.loads(proc.stdout) if r["severity"] == 0}
    assert "oas3-valid-media-example" in codes, proc.stdout[:2000]


# -- Redocly -----------------------------------------------------------------------------------
def test_redocly_recommended_errors_none_and_explains_its_few_warnings():
    proc = _run(
        [_node_tool("redocly"), "lint", "--format", "json", "--extends", "recommended", OPENAPI]
    )
    report = json.loads(proc.stdout)
    problems = report["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    warnings = [p for p in problems if p["severity"] == "warn"]
    assert not errors, json.dumps(errors[:5], indent=1)
    assert len(warnings) <= 10, [w["ruleId"] for w in warnings]
    note = (ROOT / "redocly.yaml").read_text()
    for w in warnings:
        pointer = w["location"][0]["pointer"]
        assert f"{w['ruleId']}  {pointer}" in note, f"unexplained warning: {w['ruleId']} {pointer}"


# -- openapi-python-client ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def python_client(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("opc")
    proc = _run(
        [VENV_BIN / "openapi-python-client", "generate", "--path", OPENAPI, "--meta", "none"],
        cwd=out,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    assert "Warning" not in text and "skip" not in text.lower(), text
    (package,) = [p for p in out.iterdir() if p.is_dir()]
    return package


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_python_client_has_every_operation_and_schema(python_client):
    api = json.loads(OPENAPI.read_text())
    modules = {p.stem for p in (python_client / "api").rglob("*.py")}
    missing = [
        op["operationId"]
        for _, _, op in _operations(api)
        if _snake(op["operationId"]) not in modules
    ]
    assert not missing, missing
    # one model module per object and enumeration, named after its title as the tool does
    model_modules = {p.stem for p in (python_client / "models").glob("*.py")}
    skipped = [
        name
        for name, schema in api["components"]["schemas"].items()
        if ("properties" in schema or "enum" in schema)
        and _module_name(schema["title"]) not in model_modules
    ]
    assert not skipped, skipped


def _module_name(title: str) -> str:
    """openapi-python-client's module name for a schema title ("OAuth Error" → o_auth_error)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", title)
    return "_".join(re.findall(r"[a-z0-9]+", words.lower()))


def test_python_client_models_parse_the_published_examples(python_client):
    """Every example response body, through the generated operation's own parser."""
    script = textwrap.dedent(
        """
        import importlib, json, re, sys
        import httpx
        api = json.load(open(sys.argv[1]))
        package = sys.argv[2]
        client = importlib.import_module(package).Client(base_url="https://example.com")
        snake = lambda n: re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower()
        modules = {}
        for mod in __import__("pkgutil").walk_packages(
            importlib.import_module(package + ".api").__path__, package + ".api."
        ):
            modules[mod.name.rsplit(".", 1)[-1]] = mod.name
        parsed = 0
        for item in api["paths"].values():
            for op in item.values():
                module = importlib.import_module(modules[snake(op["operationId"])])
                for status, resp in op["responses"].items():
                    for media in resp.get("content", {}).values():
                        for name, ex in media.get("examples", {}).items():
                            response = httpx.Response(int(status), json=ex["value"])
                            result = module._parse_response(client=client, response=response)
                            assert result is not None, name
                            assert hasattr(result, "to_dict"), (name, type(result))
                            parsed += 1
        print(parsed)
        """
    )
    proc = _run(
        [sys.executable, "-c", script, OPENAPI, python_client.name], cwd=python_client.parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(proc.stdout.split()[-1]) >= 30


# -- datamodel-code-generator, default options ---------------------------------------------------
def test_datamodel_codegen_defaults_keep_unknown_value_formats(tmp_path):
    proc = _run(
        [VENV_BIN / "datamodel-codegen", "--input", OPENAPI, "--output", "models.py"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    script = textwrap.dedent(
        """
        import models
        fmt = models.ValueFormat.model_validate(
            {"id": "h1", "type": "acme_district_heat", "units": "GJ", "meter": {"n": 1}}
        )
        assert type(fmt.root).__name__ == "UnknownValueFormat", type(fmt.root)
        dumped = fmt.model_dump()
        assert dumped["units"] == "GJ" and dumped["meter"] == {"n": 1}, dumped
        known = models.ValueFormat.model_validate(
            {"id": "e1", "type": "electric_usage", "units": "kWh"}
        )
        assert type(known.root).__name__ == "ElectricUsageValueFormat", type(known.root)
        print("ok")
        """
    )
    run = _run([sys.executable, "-c", script], cwd=tmp_path)
    assert run.stdout.strip() == "ok", run.stdout + run.stderr


# -- openapi-typescript ----------------------------------------------------------------------------
#: The two root aliases openapi-typescript always writes for sections a description does not
#: have (no webhooks, no root ``$defs``): not types of any schema or body.
_ABSENT_ROOT_SECTIONS = {
    "export type webhooks = Record<string, never>;",
    "export type $defs = Record<string, never>;",
}


def test_openapi_typescript_has_no_object_that_holds_nothing(tmp_path):
    out = tmp_path / "cds.d.ts"
    proc = _run([_node_tool("openapi-typescript"), OPENAPI, "-o", out])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = out.read_text().splitlines()
    empty = [
        line
        for line in lines
        if "Record<string, never>" in line and line.strip() not in _ABSENT_ROOT_SECTIONS
    ]
    assert not empty, empty[:10]
    # the free-form objects the issue named: `jwks` (three schemas) holds any member
    jwks = re.findall(r"jwks\?: \{\s*\[key: string\]: unknown;\s*\};", out.read_text())
    assert len(jwks) == 3


# -- examples -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", OPENAPI_FILES, ids=lambda p: p.name)
def test_every_example_validates_against_its_schema(path):
    api = json.loads(path.read_text())
    checked, problems = 0, []
    for route, method, op in _operations(api):
        media_types = [
            *(op.get("requestBody", {}).get("content", {}).items()),
            *(m for r in op["responses"].values() for m in r.get("content", {}).items()),
        ]
        for _, media in media_types:
            schema = {**media["schema"], "components": api["components"]}
            validator = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            for name, example in media.get("examples", {}).items():
                checked += 1
                for err in validator.iter_errors(example["value"]):
                    problems.append(f"{method.upper()} {route} {name}: {err.message[:160]}")
    assert not problems, "\n".join(problems)
    assert checked > 0


def test_corrected_examples_keep_the_published_body_and_their_errata(openapi, spec):
    corrected = {}
    for _, _, op in _operations(openapi):
        for r in [op.get("requestBody", {}), *op["responses"].values()]:
            for media in r.get("content", {}).values():
                for name, ex in media.get("examples", {}).items():
                    if "x-cds-published-example" in ex:
                        corrected[name] = ex
    assert len(corrected) >= 15
    usage = corrected["wg3-01-usage-segment-list"]
    published = usage["x-cds-published-example"]
    assert "related_billsections" not in published["value"]["usage_segments"][0]
    assert usage["value"]["usage_segments"][0]["related_billsections"] == []
    for name, ex in corrected.items():
        assert ex["x-cds-published-example"]["value"] != ex["value"], name
        for erratum in ex["x-cds-published-example"]["errata"]:
            assert any(e.id == erratum and e.correction for e in spec.errata), erratum


# -- ruff on the generated packages -------------------------------------------------------------
@pytest.mark.parametrize("package", GENERATED_PACKAGES)
def test_generated_package_is_ruff_clean(package):
    target = ROOT / "generated/python" / package
    check = _run([VENV_BIN / "ruff", "check", target])
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = _run([VENV_BIN / "ruff", "format", "--check", target])
    assert fmt.returncode == 0, fmt.stdout[-3000:]
    config = (ROOT / "pyproject.toml").read_text()
    assert "per-file-ignores" not in config and "exclude" not in config.split("[tool.ruff")[1]
    for source in target.rglob("*.py"):
        assert "noqa" not in source.read_text(), source


# -- cds_models reads like the client and the server --------------------------------------------
def test_model_variants_derive_from_their_base_objects():
    import cds_models

    assert issubclass(
        cds_models.ClientAuthorizationServerMetadata, cds_models.AuthorizationServerMetadata
    )
    assert issubclass(cds_models.ClientRegistrationResponse, cds_models.Client)
    # the variant leaves out what its base requires, and only that
    base = cds_models.AuthorizationServerMetadata.model_fields["registration_endpoint"]
    variant = cds_models.ClientAuthorizationServerMetadata.model_fields["registration_endpoint"]
    assert base.is_required() and not variant.is_required()
    assert cds_models.ClientAuthorizationServerMetadata.model_fields["issuer"].is_required()


def test_each_enum_member_is_documented_with_its_value_summary(openapi):
    import ast

    tree = ast.parse((ROOT / "generated/python/cds_models/__init__.py").read_text())
    documented: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id in ("StrEnum", "Enum") for b in node.bases
        ):
            docs = documented.setdefault(node.name, {})
            for stmt, after in zip(node.body, node.body[1:], strict=False):
                if isinstance(stmt, ast.Assign) and isinstance(after, ast.Expr):
                    docs[stmt.value.value] = " ".join(after.value.value.split())
    enums = {n: s for n, s in openapi["components"]["schemas"].items() if "x-cds-values" in s}
    assert len(enums) > 20
    for name, schema in enums.items():
        for value, summary in schema["x-cds-values"].items():
            assert documented[name].get(value) == " ".join(summary.split()), (name, value)
